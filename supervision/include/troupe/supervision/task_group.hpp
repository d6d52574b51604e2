// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/awaitable.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stop_token>
#include <string_view>

namespace troupe {

/// What a task group does when a member fails.
enum class group_mode : std::uint8_t {
    cancel_on_first_error, ///< stop the running members, drop the queued ones
    collect_all,           ///< keep going; report every failure at `join`
};

/// The enumerator's name (`"collect_all"`).
[[nodiscard]] constexpr std::string_view to_string(group_mode m) noexcept {
    switch (m) { // no default: -Wswitch flags a new enumerator
    case group_mode::cancel_on_first_error: return "cancel_on_first_error";
    case group_mode::collect_all: return "collect_all";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, group_mode m);

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
/// **Threading:** `spawn`/`cancel` from any thread. `join` blocks the calling
/// thread; on a scheduler worker it does not wait but fails fast (see `join`).
/// Inside an actor, `co_await group.join_async()` in a `troupe::task<>`
/// handler waits without blocking a worker. The destructor cancels and joins
/// (so destroy a group with live members off the scheduler's workers).
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
    void cancel(const error& cause = error{errc::cancelled, "task_group cancelled"});
    /// Waits for every member (queued ones included) and returns all failures.
    /// On a scheduler worker (inside a handler) it would deadlock the pool, so
    /// it returns at once an aggregate holding one `errc::would_block` entry
    /// (path "<join>") and does not wait; use `join_async()` there.
    aggregate_error join();

    // NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
    class join_awaiter;
    /// `co_await group.join_async()` inside an actor's task handler: suspends
    /// the task (not the worker) until every member is done, then yields the
    /// same aggregate as `join`. If the awaiting actor is cancelled (stopped,
    /// restarted, or cancelled by its parent) first, the await completes at
    /// once with the failures so far plus one entry (path "<join>") whose
    /// cause is `errc::cancelled` (the actor's stop cause chained); the
    /// members keep running. The group must outlive the await.
    [[nodiscard]] join_awaiter join_async();

    [[nodiscard]] std::size_t cancelled() const;
    /// Most members that ran at the same time (for checking `limit`).
    [[nodiscard]] std::size_t peak_running() const;

private:
    friend class join_awaiter;
    void add(std::function<actor_addr()> starter);
    troupe::system& sys_;
    std::shared_ptr<detail::task_group_state> st_;
};

/// The awaitable of `task_group::join_async()`. Awaited on the actor's own
/// turn only; completes on it too (woken through the actor's system lane by
/// the thread that finishes the last member).
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
class task_group::join_awaiter final : public awaitable {
public:
    explicit join_awaiter(std::shared_ptr<detail::task_group_state> st) noexcept
        : st_(std::move(st)) {}
    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h);
    aggregate_error await_resume() noexcept { return std::move(result_); }
    void on_wake() override;
    void on_cancel(const error& cause) override;

private:
    void complete_cancelled(const error& cause);
    std::shared_ptr<detail::task_group_state> st_;
    aggregate_error result_;
    std::coroutine_handle<> continuation_;
};

} // namespace troupe
