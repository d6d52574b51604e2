// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace troupe {

using duration = std::chrono::steady_clock::duration;
using time_point = std::chrono::steady_clock::time_point;

/// Identifies a scheduled timer; 0 is "no timer".
using timer_id = std::uint64_t;

/// `t + d` without overflow: a sum past the end of time is
/// `time_point::max()`, which every deadline in troupe reads as "never" (so
/// `duration::max()` means "no deadline"); one before the beginning is
/// `time_point::min()`.
[[nodiscard]] constexpr time_point saturating_add(time_point t, duration d) noexcept {
    if (d > duration::zero() && t > time_point::max() - d) {
        return time_point::max();
    }
    if (d < duration::zero() && t < time_point::min() - d) {
        return time_point::min();
    }
    return t + d;
}

/// Time source and timer service of a system.
///
/// The runtime reads time and schedules every actor deadline (ask timeouts,
/// delayed and periodic tells, idle timeouts, shutdown timeouts of children,
/// backoffs) through this interface, so tests can swap in
/// `testing::manual_clock` and advance time by hand. Deadlines of plain
/// threads blocked in the runtime (`block` senders, `ask_handle::wait_for`,
/// `system::shutdown`) are real time: a blocked thread waits on a condition
/// variable, which only the steady clock can time out. A deadline of
/// `time_point::max()` is never scheduled ("no deadline").
///
/// **Threading:** all members may be called from any thread. Callbacks run on
/// the clock's own thread (steady clock) or on the thread that advances a
/// manual clock; they must be short and must not block.
/// **Failure:** a callback that throws terminates (callbacks are runtime code).
class clock {
public:
    virtual ~clock() = default;
    /// The current time.
    [[nodiscard]] virtual time_point now() const noexcept = 0;
    /// Runs `fn` once at or after `when`. Never returns 0.
    [[nodiscard]] virtual timer_id schedule_at(time_point when, std::function<void()> fn) = 0;
    /// Cancels a pending timer. Returns false if it already ran or is running.
    virtual bool cancel(timer_id id) noexcept = 0;
    /// Stops the timer service: pending timers are dropped without running.
    virtual void shutdown() noexcept = 0;
};

/// The production clock: `std::chrono::steady_clock` and one timer thread
/// that sleeps on a condition variable until the next deadline (no polling).
[[nodiscard]] std::unique_ptr<clock> make_steady_clock();

} // namespace troupe
