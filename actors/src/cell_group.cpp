// Part of troupe. See LICENSE at the repository root.
//
// Group restarts (one_for_all / rest_for_one) run by a parent for its
// children: halt newest first, each under its shutdown timeout, then start in
// start order, each after the previous one's on_start.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <utility>
#include <vector>

namespace troupe::detail {

using internal::call_at;
using internal::shutdown_timeout_of;

void cell::restart_children(std::vector<cell_ptr> members, error cause) {
    auto& x = extras();
    const std::size_t n = members.size();
    x.groups.push_back(group_restart{std::move(members), n, false, nullptr, 0, std::move(cause)});
    if (x.groups.size() == 1) {
        group_next();
    }
}

void cell::group_next() {
    while (extras_ && !extras_->groups.empty()) {
        group_restart& g = extras_->groups.front();
        auto listed = [&](const cell_ptr& m) {
            std::lock_guard lock(sys_.tree_lock(this));
            return children_.contains(*m);
        };
        while (!g.starting && g.next > 0) { // halt newest first
            const cell_ptr m = g.members[--g.next];
            if (!listed(m)) {
                continue; // exited meanwhile
            }
            g.awaited = m.get();
            const duration limit = shutdown_timeout_of(m->options_.get());
            auto* e = new system_envelope(sys_kind::halt, g.cause);
            e->brutal = limit <= duration::zero();
            m->enqueue_system(e);
            if (!e->brutal) {
                g.overrun_timer =
                    call_at(sys_.clk(), saturating_add(sys_.clk().now(), limit), cell_ptr(this),
                            [self = cell_ptr(this), m] { self->on_group_member_overrun(m); });
            }
            return;
        }
        g.starting = true;
        while (g.next < g.members.size()) { // then start in start order
            const cell_ptr m = g.members[g.next++];
            if (!listed(m)) {
                continue;
            }
            g.awaited = m.get();
            m->post(sys_kind::start);
            return;
        }
        extras_->groups.pop_front();
    }
}

void cell::on_group_member_overrun(const cell_ptr& member) {
    if (!extras_ || extras_->groups.empty() || extras_->groups.front().awaited != member.get()) {
        return; // it halted in time
    }
    extras_->groups.front().overrun_timer = 0;
    member->request_kill_in_place(
        error{errc::timeout, "shutdown timeout overrun", extras_->groups.front().cause});
    if (behaviour_ != nullptr) {
        try {
            behaviour_->on_child_shutdown_timeout(actor_addr(member));
        } catch (...) {
            // a recording hook cannot change the outcome
        }
    }
    extras_->groups.front().awaited = nullptr;
    group_next();
}

void cell::on_group_member_done(cell* member) {
    if (!extras_ || extras_->groups.empty() || extras_->groups.front().awaited != member) {
        return; // not awaited (an answer after an overrun, or no group)
    }
    group_restart& g = extras_->groups.front();
    if (g.overrun_timer != 0) {
        sys_.clk().cancel(std::exchange(g.overrun_timer, 0));
    }
    g.awaited = nullptr;
    group_next();
}

void cell::drop_group_restarts() noexcept {
    if (!extras_) {
        return;
    }
    for (auto& g : extras_->groups) {
        if (g.overrun_timer != 0) {
            sys_.clk().cancel(g.overrun_timer);
        }
    }
    extras_->groups.clear();
}

} // namespace troupe::detail
