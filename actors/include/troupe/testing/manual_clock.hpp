// Part of troupe. See LICENSE at the repository root.
//
// Part of the `troupe::testing` target (deterministic test kit): exported
// and installed with the package, but deliberately not linked by
// `troupe::troupe`, so production binaries do not carry it. A test links
// it explicitly: `target_link_libraries(my_test PRIVATE troupe::troupe
// troupe::testing)` (or `find_package(troupe COMPONENTS testing)`).

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/timer_queue.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace troupe::testing {

/// A clock that moves only when told: `advance(d)` runs every timer due by
/// the new time, in deadline order, on the calling thread.
///
/// Pass it as `system_config::custom_clock`. Starts at an arbitrary fixed
/// epoch.
/// **Threading:** all members from any thread; callbacks run on the thread
/// calling `advance`, without the clock's lock held.
class manual_clock final : public clock {
public:
    time_point now() const noexcept override;
    timer_id schedule_at(time_point when, std::function<void()> fn) override;
    bool cancel(timer_id id) noexcept override;
    void shutdown() noexcept override;

    /// Moves time forward by `d`, firing due timers (including ones they
    /// schedule, if due). Returns how many fired.
    std::size_t advance(duration d);
    /// Timers not yet fired.
    [[nodiscard]] std::size_t pending() const;
    /// Deadline of the next timer, if any.
    [[nodiscard]] std::optional<time_point> next_deadline() const;

private:
    mutable std::mutex mutex_;
    time_point now_{std::chrono::hours(1)}; // guarded by mutex_
    detail::timer_queue timers_;            // guarded by mutex_
};

} // namespace troupe::testing
