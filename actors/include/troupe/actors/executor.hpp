// Part of troupe. See LICENSE at the repository root.

#pragma once

namespace troupe {

namespace detail {
class cell;
}

/// Runs actors: the system hands it every actor that became runnable.
///
/// The production executor is the work-stealing scheduler
/// (`make_work_stealing_executor`); `testing::manual_executor` runs actors
/// only when a test asks, one message at a time if it likes.
///
/// **Threading:** `schedule` may be called from any thread, including from
/// inside a running actor, and also after `shutdown` (the executor then drops
/// the cell: the system terminates what is left itself). A cell is scheduled
/// at most once until it has been resumed (the mailbox's idle bit guarantees
/// it).
class executor {
public:
    virtual ~executor() = default;
    /// Makes `c` runnable. Must eventually call `c->resume()` unless the
    /// executor was shut down.
    virtual void schedule(detail::cell* c) noexcept = 0;
    /// Stops running actors and joins threads: returns once no turn runs
    /// any more. Called once by the system, never from one of its own
    /// threads: after the actor tree stopped, or (when `system::shutdown`
    /// timed out) from a background thread while stuck handlers finish.
    virtual void shutdown() noexcept = 0;
};

} // namespace troupe
