// Part of troupe. See LICENSE at the repository root.
//
// Failures: an actor that fails (or, supervised, exits on its own) waits in
// `failed` for its parent's decision; the parent side decides and applies it.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <algorithm>
#include <utility>

namespace troupe::detail {

void cell::handle_failure(error cause, envelope* failed_message) {
    if (failed_message != nullptr) {
        dead_letter_taken(failed_message, dead_letter_reason::handler_failed);
    }
    if (state_ == state::terminated) {
        return;
    }
    drop_task(cause);
    sys_.report_failure(actor_addr(cell_ptr(this)), cause);
    if (state_ == state::stopping) {
        // A failure while stopping (a task that throws on its cancellation):
        // the actor is on its way out, but it ends with this failure.
        if (!extras().failure) {
            extras_->failure = std::move(cause);
        }
        return;
    }
    if (state_ != state::running && state_ != state::fresh) {
        // failed: reported already; restarting/halted: being replaced anyway.
        return;
    }
    report_exit_to_parent(std::move(cause));
}

void cell::fail_after_children(error cause) {
    if (state_ != state::running && state_ != state::fresh) {
        handle_failure(std::move(cause), nullptr);
        return;
    }
    // As an OTP supervisor that gives up: its children are terminated
    // (newest first, each per its shutdown policy) before its exit reaches
    // its own supervisor. Failed meanwhile: user messages wait, and a stop
    // or restart from the parent takes the sequence over.
    drop_task(cause);
    drop_group_restarts();
    sys_.report_failure(actor_addr(cell_ptr(this)), cause);
    enter_failed();
    extras().failure = cause;
    set(flag::escalating, true);
    start_child_stops(std::move(cause));
}

void cell::enter_failed() noexcept {
    state_ = state::failed;
    if (cell_shared* s = shared_if_any()) {
        s->deferred.store(false, std::memory_order_relaxed); // a new failure: not deferred yet
    }
}

void cell::report_exit_to_parent(error cause) {
    set(flag::escalating, false);
    enter_failed();
    extras().failure = cause; // a later stop ends it with this cause, not the stop's
    if (parent_) {
        parent_->post(sys_kind::child_failed, std::move(cause), cell_ptr(this));
    } else {
        begin_stop(std::move(cause), stop_origin::parent); // the root: nobody decides
    }
}

bool cell::group_will_halt(const cell* child) const noexcept {
    if (!extras_ || extras_->groups.empty()) {
        return false;
    }
    const group_restart& g = extras_->groups.front();
    if (g.starting) {
        return false;
    }
    if (g.awaited == child) {
        return true;
    }
    const auto first_unhalted = g.members.begin();
    const auto last_unhalted = g.members.begin() + static_cast<std::ptrdiff_t>(g.next);
    return std::any_of(first_unhalted, last_unhalted,
                       [&](const cell_ptr& m) { return m.get() == child; });
}

void cell::decide_about_child(system_envelope& e) {
    if (!e.other) {
        return;
    }
    if (group_will_halt(e.other.get())) {
        return; // the group restart in progress tears it down anyway
    }
    const actor_addr child(e.other);
    child_decision d = child_decision::stop;
    error own_failure;
    if (behaviour_ != nullptr && state_ == state::running) {
        try {
            d = behaviour_->on_child_failed(child, e.cause);
        } catch (...) {
            // An escalation with the thrower's own cause: the child is
            // stopped and this actor fails with what was thrown.
            d = child_decision::escalate;
            own_failure = internal::error_from_current_exception();
        }
    }
    sys_.report_decision(child, e.cause, d);
    if (own_failure) {
        e.other->request_stop(e.cause, stop_origin::parent);
        fail_after_children(std::move(own_failure));
        return;
    }
    apply_decision(d, e.other, e.cause);
}

void cell::apply_decision(child_decision d, const cell_ptr& child, const error& cause) {
    switch (d) {
    case child_decision::stop: child->request_stop(cause, stop_origin::parent); break;
    case child_decision::restart: child->post(sys_kind::restart, cause); break;
    case child_decision::resume: child->post(sys_kind::resume); break;
    case child_decision::defer: child->mark_deferred(); break; // the parent acts later
    case child_decision::escalate:
        child->request_stop(cause, stop_origin::parent);
        fail_after_children(error{errc::escalated, "child " + child->path() + " failed", cause});
        break;
    }
}

} // namespace troupe::detail
