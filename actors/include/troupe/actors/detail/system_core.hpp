// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_info.hpp>
#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/executor.hpp>
#include <troupe/actors/hook_list.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace troupe {
class system;
}

namespace troupe::internal {
class ask_deadlines;
class id_index;
} // namespace troupe::internal

namespace troupe::detail {

/// The system's shared internals, reachable from every cell.
///
/// **Lifetime:** owned by the root guardian's cell and freed with it, that is
/// after the last cell of the system (every cell keeps its parent alive), so
/// a ref that outlives its `troupe::system` still reaches a valid core: its
/// sends find the mailbox closed and become dead letters. The executor and
/// clock it owns (when the system made them) live as long.
/// **Threading:** every member function is thread-safe unless noted.
class system_core {
public:
    system_core(troupe::system& owner, std::unique_ptr<executor> own_exec, executor* exec,
                std::unique_ptr<troupe::clock> own_clock, troupe::clock* clk);
    system_core(const system_core&) = delete;
    system_core& operator=(const system_core&) = delete;
    ~system_core();

    /// The system object; valid until it is destroyed (not after: a handler
    /// still running then must not use it).
    [[nodiscard]] troupe::system& owner() const noexcept { return owner_; }
    [[nodiscard]] executor& exec() const noexcept { return *exec_; }
    [[nodiscard]] troupe::clock& clk() const noexcept { return *clock_; }
    /// The pending asks' deadlines (on `clk()`).
    [[nodiscard]] internal::ask_deadlines& deadlines() const noexcept { return *deadlines_; }
    [[nodiscard]] bool owns_executor() const noexcept { return own_exec_ != nullptr; }
    [[nodiscard]] dead_letter_sink& dead_letters() noexcept { return dead_letters_; }
    [[nodiscard]] std::uint64_t next_id() noexcept {
        return next_id_.fetch_add(1, std::memory_order_relaxed); // unique ids only
    }
    /// Striped lock guarding a cell's children list.
    [[nodiscard]] std::mutex& tree_lock(const cell* c) const noexcept;

    /// Registers `c` under its full path. Fails with `name_taken`.
    expected<void> register_path(cell* c, const std::string& path);
    void unregister_path(const std::string& path) noexcept;
    [[nodiscard]] cell_ptr lookup(std::string_view path) const;
    /// Lists an adopted cell under its id / takes it out at termination.
    void register_id(cell* c);
    void unregister_id(cell* c) noexcept;
    /// The live cell with `id`, or null; O(1) average.
    [[nodiscard]] cell_ptr lookup_id(std::uint64_t id) const;

    void count_late_reply() noexcept { late_replies_.fetch_add(1, std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t late_replies() const noexcept {
        return late_replies_.load(std::memory_order_relaxed); // statistic
    }
    /// Live actors (spawned and not yet terminated), guardians excluded.
    [[nodiscard]] std::int64_t live_actors() const noexcept {
        return live_.load(std::memory_order_acquire); // pairs with actor_exited()
    }
    void actor_started() noexcept { live_.fetch_add(1, std::memory_order_relaxed); }
    /// An actor terminates (its leftover messages already accounted): the
    /// live count drops before anyone can see it terminated...
    void actor_exited() noexcept;
    /// ...and once its termination is visible, the last one wakes
    /// `await_no_live_actors`: O(1) per termination.
    void actor_exit_published() noexcept;
    /// Blocks until no actor lives (guardians excepted) and every exit is
    /// visible, or `deadline`; false on timeout. A condition variable, no
    /// polling.
    [[nodiscard]] bool await_no_live_actors(std::chrono::steady_clock::time_point deadline) const;

    /// Observers of failures and decisions (system::failure_hooks & co).
    hook_list<const actor_addr&, const error&> failures;
    hook_list<const actor_addr&, const error&, child_decision> decisions;
    void report_failure(const actor_addr& who, const error& cause) noexcept {
        failures(who, cause);
    }
    void report_decision(const actor_addr& child, const error& cause, child_decision d) noexcept {
        decisions(child, cause, d);
    }

    /// The extension of type key `key`, or null.
    [[nodiscard]] std::shared_ptr<void> find_extension(std::type_index key) const;
    /// Installs `make()` under `key` unless one is there; returns the one
    /// that is (null once the extensions were cleared at shutdown). `make`
    /// runs under the slots' lock and must not use them.
    template <class Make>
    std::shared_ptr<void> extension(std::type_index key, Make&& make) {
        std::lock_guard lock(extensions_mutex_);
        if (extensions_closed_) {
            return nullptr;
        }
        for (auto& [k, v] : extensions_) {
            if (k == key) {
                return v;
            }
        }
        std::shared_ptr<void> made = make();
        extensions_.emplace_back(key, made);
        return made;
    }
    /// Destroys the extensions, newest first (at shutdown, after the tree).
    void clear_extensions() noexcept;

    /// Visits the tree from the root, parents before children, oldest child
    /// first, by an explicit stack (any depth); see `system::walk`.
    void walk(const std::function<void(const actor_info&)>& visit) const;

    /// Builds the guardians; called once by troupe::system, which keeps them.
    /// The root takes ownership of this core.
    struct guardians {
        cell_ptr root;
        cell_ptr user;
        cell_ptr system;
    };
    guardians create_guardians();
    /// Stops the tree (ordered) and waits up to `timeout` (real time).
    expected<void> stop_tree(duration timeout);
    /// After the executor has stopped: terminates every cell still alive,
    /// children before parents, on the calling thread (no actor runs any
    /// more), so their messages become dead letters and later sends are
    /// refused. Iterative, any depth.
    void terminate_abandoned() noexcept;

private:
    troupe::system& owner_;
    std::unique_ptr<executor> own_exec_;       // when the system made it
    executor* exec_;                           // own_exec_ or the user's (outlives the system)
    std::unique_ptr<troupe::clock> own_clock_; // when the system made it
    troupe::clock* clock_;                     // own_clock_ or the user's
    std::unique_ptr<internal::ask_deadlines> deadlines_; // on clock_; destroyed before it
    dead_letter_sink dead_letters_;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::uint64_t> late_replies_{0}; // statistic
    std::atomic<std::int64_t> live_{0};
    std::atomic<std::int64_t> exiting_{0};    // counted out of live_, not yet published
    mutable std::mutex idle_mutex_;           // pairs the last exit with waiters
    mutable std::condition_variable idle_cv_; // notified when live_ reaches 0
    mutable std::array<std::mutex, 64> tree_locks_;
    mutable std::mutex registry_mutex_;
    std::unordered_map<std::string, cell*> registry_; // guarded by registry_mutex_
    std::unique_ptr<internal::id_index> ids_;         // thread-safe on its own
    mutable std::mutex extensions_mutex_;
    std::vector<std::pair<std::type_index, std::shared_ptr<void>>> extensions_; // guarded
    bool extensions_closed_ = false;                                            // guarded
    cell* root_ = nullptr; // kept alive by troupe::system (and the cells)
};

} // namespace troupe::detail
