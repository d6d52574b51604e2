// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/executor.hpp>
#include <troupe/actors/hook_list.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace troupe {
class system;
}

namespace troupe::detail {

/// Observers that higher layers (supervision, events) add to the core.
struct lifecycle_hooks {
    /// An actor failed (before its parent decides).
    hook_list<const actor_addr&, const error&> failures;
    /// A parent decided about a failed child.
    hook_list<const actor_addr&, const error&, child_decision> decisions;
};

/// The system's shared internals, reachable from every cell.
///
/// **Threading:** every member function is thread-safe unless noted.
class system_core {
public:
    system_core(troupe::system& owner, executor* exec, clock* clk);
    system_core(const system_core&) = delete;
    system_core& operator=(const system_core&) = delete;
    ~system_core();

    [[nodiscard]] troupe::system& owner() const noexcept { return owner_; }
    [[nodiscard]] executor& exec() const noexcept { return *exec_; }
    [[nodiscard]] troupe::clock& clk() const noexcept { return *clock_; }
    [[nodiscard]] dead_letter_sink& dead_letters() noexcept { return dead_letters_; }
    [[nodiscard]] std::uint64_t next_id() noexcept {
        return next_id_.fetch_add(1, std::memory_order_relaxed); // unique ids only
    }
    [[nodiscard]] cell* user_guardian() const noexcept { return user_.get(); }
    [[nodiscard]] cell* system_guardian() const noexcept { return system_.get(); }
    /// Striped lock guarding a cell's children list.
    [[nodiscard]] std::mutex& tree_lock(const cell* c) noexcept;

    /// Registers `c` under its full path. Fails with `name_taken`.
    expected<void> register_path(cell* c, const std::string& path);
    void unregister_path(const std::string& path) noexcept;
    [[nodiscard]] cell_ptr lookup(std::string_view path) const;

    void count_late_reply() noexcept { late_replies_.fetch_add(1, std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t late_replies() const noexcept {
        return late_replies_.load(std::memory_order_relaxed); // statistic
    }
    /// Live actors (spawned and not yet terminated), guardians excluded.
    [[nodiscard]] std::int64_t live_actors() const noexcept {
        return live_.load(std::memory_order_acquire); // pairs with actor_exited()
    }
    void actor_started() noexcept { live_.fetch_add(1, std::memory_order_relaxed); }
    void actor_exited() noexcept {
        // release: pairs with the acquire in live_actors(); an exit's effects
        // are visible to whoever sees the lower count.
        live_.fetch_sub(1, std::memory_order_release);
    }

    /// The live tree as indented text (path, mailbox depth/capacity).
    [[nodiscard]] std::string dump_tree() const;

    lifecycle_hooks hooks; // thread-safe observer lists

    /// Builds the guardians; called once by troupe::system after construction.
    void create_guardians();
    /// Stops the tree (ordered) and waits up to `timeout`.
    expected<void> stop_tree(duration timeout);
    /// Final teardown of guardians after executor shutdown.
    void release_guardians() noexcept;

private:
    troupe::system& owner_;
    executor* exec_;       // owned by troupe::system
    troupe::clock* clock_; // owned by troupe::system or the test
    dead_letter_sink dead_letters_;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::uint64_t> late_replies_{0}; // statistic
    std::atomic<std::int64_t> live_{0};
    std::array<std::mutex, 64> tree_locks_;
    mutable std::mutex registry_mutex_;
    std::unordered_map<std::string, cell*> registry_; // guarded by registry_mutex_
    cell_ptr root_;
    cell_ptr user_;
    cell_ptr system_;
};

} // namespace troupe::detail
