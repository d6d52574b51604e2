// Part of troupe. See LICENSE at the repository root.

#include "actor_timers.hpp"

#include <troupe/actors/detail/cell.hpp>

#include <algorithm>

namespace troupe::internal {

void actor_timers::track(std::shared_ptr<detail::timer_control> t) {
    if (tells_.size() >= 2 * std::max<std::size_t>(pruned_at_, 8)) {
        std::erase_if(tells_, [](const auto& c) { return !c->is_active(); });
        pruned_at_ = tells_.size();
    }
    tells_.push_back(std::move(t));
}

void actor_timers::cancel_all() noexcept {
    for (auto& t : tells_) {
        t->cancel();
    }
    tells_.clear();
    pruned_at_ = 0;
}

void actor_timers::set_idle(clock& clk, const detail::cell_ptr& self, duration d) {
    ++idle_generation_;
    cancel_idle(clk);
    idle_ = d;
    if (d > duration::zero()) {
        last_activity_ = clk.now();
        arm_idle(clk, self, saturating_add(last_activity_, d));
    }
}

bool actor_timers::on_idle_timeout(clock& clk, const detail::cell_ptr& self, std::uint64_t gen,
                                   time_point now) {
    if (gen != idle_generation_ || idle_ <= duration::zero()) {
        return false; // a stale timer of an earlier setting
    }
    idle_timer_ = 0;
    if (now - last_activity_ >= idle_) {
        last_activity_ = now;
        arm_idle(clk, self, saturating_add(now, idle_));
        return true;
    }
    arm_idle(clk, self, saturating_add(last_activity_, idle_));
    return false;
}

void actor_timers::cancel_idle(clock& clk) noexcept {
    if (idle_timer_ != 0) {
        clk.cancel(idle_timer_);
        idle_timer_ = 0;
    }
}

void actor_timers::arm_idle(clock& clk, const detail::cell_ptr& self, time_point at) {
    if (at == time_point::max()) {
        return; // "never"
    }
    idle_timer_ = clk.schedule_at(at, [c = self, gen = idle_generation_] {
        auto* e = new detail::system_envelope(detail::sys_kind::idle_timeout);
        e->generation = gen;
        c->enqueue_system(e);
    });
}

} // namespace troupe::internal
