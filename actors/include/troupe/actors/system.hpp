// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_counters.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/executor.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/spawn_options.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace troupe {

/// How a system is built.
struct system_config {
    /// Scheduler worker threads; 0 means `std::thread::hardware_concurrency()`.
    unsigned workers = 0;
    /// Use this executor instead of the work-stealing scheduler (tests:
    /// `testing::manual_executor`). Not owned; must outlive the system.
    executor* custom_executor = nullptr;
    /// Use this clock instead of the steady clock (tests:
    /// `testing::manual_clock`). Not owned; must outlive the system.
    clock* custom_clock = nullptr;
};

namespace detail {
template <class Impl, class... Args>
auto make_factory(Args&&... args) {
    return [... captured = std::forward<Args>(args)]() -> Impl { return Impl(captured...); };
}

template <class Impl, class Factory>
cell_ptr spawn_cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name,
                    Factory f) {
    auto* c = new cell_impl<Impl, Factory>(sys, parent, opts, std::move(name), std::move(f));
    cell_ptr ref(c); // one more reference for the caller; the first one is the "alive" one
    if (parent->adopt(c)) {
        c->start();
    }
    return ref;
}
} // namespace detail

/// An actor system: the scheduler, the clock, the actor tree under `/user`,
/// the dead-letter sink. Usually one per process.
///
/// **Threading:** every member may be called from any thread, except that
/// the destructor and `shutdown` must not be called from inside an actor.
/// **Shutdown:** `shutdown(timeout)` (also run by the destructor) stops the
/// tree in order — newest top-level actor first, children before parents —
/// then joins the workers.
class system {
public:
    system();
    explicit system(system_config cfg);
    system(const system&) = delete;
    system& operator=(const system&) = delete;
    ~system();

    /// Spawns a top-level actor of class `Impl` (derived from
    /// `actor<Protocol>`), constructed from `args` (copied, so a supervisor
    /// can rebuild it).
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn(Args&&... args) {
        return spawn_with<Impl>(spawn_options{}, std::forward<Args>(args)...);
    }
    /// As `spawn`, with mailbox options.
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn_with(const spawn_options& opts, Args&&... args) {
        return actor_ref<typename Impl::protocol>(
            detail::spawn_cell<Impl>(*core_, core_->user_guardian(), opts, {},
                                     detail::make_factory<Impl>(std::forward<Args>(args)...)));
    }
    /// Spawns a named top-level actor at `/user/<name>`. Fails with
    /// `invalid_argument` (empty, '/', or starts with '$') or `name_taken`.
    template <class Impl, class... Args>
    expected<actor_ref<typename Impl::protocol>>
    spawn_named(std::string name, const spawn_options& opts, Args&&... args) {
        if (auto ok = check_name(name); !ok) {
            return troupe::unexpected(ok.error());
        }
        auto c = detail::spawn_cell<Impl>(*core_, core_->user_guardian(), opts, std::move(name),
                                          detail::make_factory<Impl>(std::forward<Args>(args)...));
        if (c->is_terminated() && c->exit_cause() == errc::name_taken) {
            return troupe::unexpected(c->exit_cause());
        }
        return actor_ref<typename Impl::protocol>(std::move(c));
    }
    /// Spawns a top-level actor whose behaviour is `f(self, msg)` or `f(msg)`.
    template <class Protocol, class F>
    actor_ref<Protocol> spawn_fn(F f, const spawn_options& opts = {}) {
        return spawn_with<detail::function_actor<Protocol, F>>(opts, std::move(f));
    }

    /// Looks up a named actor by full path. Fails with `receiver_down` (no
    /// such live actor) or `type_mismatch` (another protocol).
    template <class Protocol>
    expected<actor_ref<Protocol>> find(std::string_view path) const {
        auto c = core_->lookup(path);
        if (!c) {
            return fail(errc::receiver_down, "no actor at " + std::string(path));
        }
        if (c->protocol() != typeid(Protocol)) {
            return fail(errc::type_mismatch, std::string(path) + " speaks another protocol");
        }
        return actor_ref<Protocol>(std::move(c));
    }

    /// Calls `fn(cause)` once `who` has terminated (at once, on this thread,
    /// if it already has; else on a worker). Must be short.
    void on_exit(const actor_addr& who, std::function<void(const error&)> fn);
    /// Blocks the calling (non-worker) thread until `who` terminated or
    /// `timeout` passed; returns the exit cause or `timeout`.
    expected<error> wait_for_exit(const actor_addr& who, duration timeout);

    /// Counters of one actor (see `actor_counters` for the identity).
    [[nodiscard]] actor_counters counters(const actor_addr& who) const;
    [[nodiscard]] dead_letter_sink& dead_letters() noexcept { return core_->dead_letters(); }
    [[nodiscard]] troupe::clock& clock() noexcept { return core_->clk(); }
    /// Replies that arrived after their ask completed.
    [[nodiscard]] std::uint64_t late_replies() const noexcept { return core_->late_replies(); }
    /// Actors spawned and not yet terminated (guardians excluded).
    [[nodiscard]] std::int64_t live_actors() const noexcept { return core_->live_actors(); }
    /// The live tree as indented text: path, state, mailbox depth/capacity.
    [[nodiscard]] std::string dump_tree() const;

    /// Stops every actor (ordered) and joins the workers. Fails with
    /// `timeout` if actors were still running after `timeout`; those are
    /// abandoned (their handlers finish, their messages become dead letters).
    /// Idempotent.
    expected<void> shutdown(duration timeout = std::chrono::seconds(10));

    /// @private runtime
    [[nodiscard]] detail::system_core& core() noexcept { return *core_; }

private:
    static expected<void> check_name(const std::string& name);

    std::unique_ptr<executor> own_executor_;
    std::unique_ptr<troupe::clock> own_clock_;
    std::unique_ptr<detail::system_core> core_;
    bool shut_down_ = false;
};

template <class Impl, class... Args>
actor_ref<typename Impl::protocol> actor_base::spawn(Args&&... args) {
    return spawn_named<Impl>(std::string{}, spawn_options{}, std::forward<Args>(args)...);
}

template <class Impl, class... Args>
actor_ref<typename Impl::protocol>
actor_base::spawn_named(std::string name, const spawn_options& opts, Args&&... args) {
    return actor_ref<typename Impl::protocol>(
        detail::spawn_cell<Impl>(cell().sys(), &cell(), opts, std::move(name),
                                 detail::make_factory<Impl>(std::forward<Args>(args)...)));
}

} // namespace troupe
