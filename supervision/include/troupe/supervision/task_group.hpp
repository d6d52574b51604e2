// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>

namespace troupe {

/// What a task group does when a member fails.
enum class group_mode : std::uint8_t {
    cancel_on_first_error, ///< stop the running members, drop the queued ones
    collect_all,           ///< keep going; report every failure at `join`
};

struct task_group_options {
    group_mode mode = group_mode::cancel_on_first_error;
    /// At most this many members run at once (the rest wait, in order); 0: no limit.
    std::size_t limit = 0;
};

namespace detail {
struct task_group_state;
}

/// errgroup for actors: spawn members (actors or plain tasks), then `join`
/// to wait for all of them and get every failure as one `aggregate_error`
/// (empty if all succeeded). Members that ended because the group cancelled
/// them are counted (`cancelled()`), not reported as failures.
///
/// A member actor is done when it terminates; it succeeds if its exit cause
/// is normal. A task member runs `fn(token)` once on a worker; the token is
/// the group's, signalled on cancellation (cooperative).
///
/// **Threading:** `spawn`/`cancel` from any thread; `join` blocks and must
/// not be called on a scheduler worker. The destructor cancels and joins.
/// **Failure:** members' exceptions become their failures, never the caller's.
class task_group {
public:
    explicit task_group(troupe::system& sys, task_group_options options = {});
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group();

    /// Adds an actor member of class `Impl` (top-level, from copies of args).
    template <class Impl, class... Args>
    void spawn(Args... args) {
        add([&sys = sys_, ... captured = std::move(args)]() {
            return sys.spawn<Impl>(captured...).addr();
        });
    }
    /// Adds a task member.
    void spawn_task(std::function<void(std::stop_token)> fn);
    /// Cancels: running members are stopped with `errc::cancelled`, queued
    /// ones never start.
    void cancel(error cause = error{errc::cancelled, "task_group cancelled"});
    /// Waits for every member (queued ones included) and returns all failures.
    aggregate_error join();

    [[nodiscard]] std::size_t cancelled() const;
    /// Most members that ran at the same time (for checking `limit`).
    [[nodiscard]] std::size_t peak_running() const;

private:
    void add(std::function<actor_addr()> starter);
    troupe::system& sys_;
    std::shared_ptr<detail::task_group_state> st_;
};

} // namespace troupe
