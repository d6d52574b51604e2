// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/timer.hpp>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace troupe::detail {

/// Who watches an actor: another actor (gets `down`) or an observer function.
struct watcher {
    cell_ptr actor;
    std::function<void(const error&)> observer;
};

/// Per-actor state that most actors never need; created on first use and
/// touched only on the actor's own turn.
struct cell_extras {
    std::vector<watcher> watchers;
    std::vector<cell_ptr> links;
    std::vector<std::shared_ptr<timer_control>> timers;
    std::optional<std::stop_source> stop_source;
    error stop_cause;

    // The coroutine handler in progress, the message it handles, and what it
    // is suspended on.
    cell::pending_task task;
    envelope* task_envelope = nullptr;
    awaiter_base* awaiter = nullptr;
    std::uint64_t await_generation = 0;

    // Ordered stop: the child currently being stopped.
    cell* stopping_child = nullptr;
    timer_id stopping_child_timer = 0; // kills it on shutdown timeout
    error stopping_cause;

    // Fault injection (`message_interceptor::action::hold`): the message held
    // back until the next user message has been handled. Owned.
    envelope* held = nullptr;

    // Idle timeout.
    duration idle{0};
    time_point last_activity{};
    std::uint64_t idle_generation = 0;
    timer_id idle_timer = 0;
};

/// The name and non-default spawn options of an actor. Immutable after
/// construction except the waiters of the policies `block`/`suspend`.
struct cell_options {
    std::string name; // empty for unnamed actors
    bool trap_exits = false;
    duration shutdown_timeout = duration::max();
    std::shared_ptr<message_interceptor> interceptor;
    // Policies block / suspend / redirect.
    duration block_timeout{};
    cell_ptr redirect;
    std::atomic<std::uint32_t> space_waiters{0}; // registered waiters; see on_space_freed
    std::mutex mutex;
    std::condition_variable space;                             // threads blocked on space
    std::uint32_t blocked_threads = 0;                         // guarded by mutex
    std::vector<std::pair<cell_ptr, std::uint64_t>> suspended; // guarded by mutex
};

/// Counters of outcomes a healthy actor rarely sees, and its exit cause.
/// Installed by the first thread that needs it; statistics are relaxed.
struct cell_stats {
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> redirected{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::unique_ptr<const error> exit_cause; // written before terminated_ (release)
};

} // namespace troupe::detail
