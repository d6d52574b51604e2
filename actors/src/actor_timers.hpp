// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/timer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace troupe::internal {

/// The timers one actor owns: the delayed and periodic tells it armed
/// (cancelled when it stops or restarts) and its idle timeout.
///
/// **Cost:** `track` is amortized O(1): finished timers are pruned only when
/// the list has doubled since the last prune, so arming N timers costs O(N)
/// here plus the clock's O(log N) each. **Threading:** the actor's own turn.
class actor_timers {
public:
    /// Remembers `t` so that `cancel_all` cancels it.
    void track(std::shared_ptr<detail::timer_control> t);
    /// Cancels every tracked tell (the idle timeout is separate).
    void cancel_all() noexcept;
    [[nodiscard]] std::size_t tracked() const noexcept { return tells_.size(); }

    /// Sets the idle timeout to `d` (zero or less disables it), arming it
    /// from now; `self` is the actor the timeout is posted to.
    void set_idle(clock& clk, const detail::cell_ptr& self, duration d);
    [[nodiscard]] bool has_idle() const noexcept { return idle_ > duration::zero(); }
    /// A user message arrived at `now`: the idle period starts again.
    void stamp_activity(time_point now) noexcept { last_activity_ = now; }
    /// The idle timer of generation `gen` fired at `now`: true if the actor
    /// really was idle for the whole period (it is then re-armed from now);
    /// otherwise re-arms for the rest of the period and returns false.
    bool on_idle_timeout(clock& clk, const detail::cell_ptr& self, std::uint64_t gen,
                         time_point now);
    /// Disarms the idle timeout.
    void cancel_idle(clock& clk) noexcept;

private:
    void arm_idle(clock& clk, const detail::cell_ptr& self, time_point at);

    std::vector<std::shared_ptr<detail::timer_control>> tells_;
    std::size_t pruned_at_ = 0; // size after the last prune
    duration idle_{0};
    time_point last_activity_{};
    std::uint64_t idle_generation_ = 0;
    timer_id idle_timer_ = 0;
};

} // namespace troupe::internal
