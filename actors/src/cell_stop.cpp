// Part of troupe. See LICENSE at the repository root.
//
// Adoption, ordered stop, restarts in place (single and group), kill and
// termination.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::detail {

using internal::call_at;
using internal::shutdown_timeout_of;

// ---- adoption -------------------------------------------------------------------------

bool cell::adopt(cell* child) noexcept {
    error refusal;
    {
        std::lock_guard lock(sys_.tree_lock(this));
        if (!takes_children_) {
            refusal = error{errc::receiver_down, "the parent " + path() + " takes no children now"};
        } else if (child->options_ && !child->options_->name.empty()) {
            child->options_->registered_path = child->path();
            if (auto ok = sys_.register_path(child, child->options_->registered_path); !ok) {
                child->options_->registered_path.clear();
                refusal = ok.error();
            }
        }
        if (!refusal) {
            if (parent_ != nullptr) { // children of the root are guardians: not counted
                sys_.actor_started();
            }
            child->add_ref(); // the children list's reference
            children_.add_newest(*child);
            sys_.register_id(child);
        }
    }
    if (refusal) {
        child->refuse(std::move(refusal));
        return false;
    }
    if (child->mailbox_.try_unblock()) { // schedules its first turn
        sys_.exec().schedule(child);
    }
    return true;
}

void cell::refuse(error cause) noexcept {
    shared().exit_cause = std::make_unique<const error>(std::move(cause));
    state_ = state::terminated;
    terminated_.store(true, std::memory_order_release); // pairs with is_terminated()
    (void)mailbox_.close();                             // never ran: nothing was queued
    release(); // the alive reference; the spawner still holds one
}

// ---- stop -------------------------------------------------------------------------

void cell::begin_stop(error cause, stop_origin origin) {
    if (state_ == state::stopping || state_ == state::terminated) {
        return;
    }
    const bool parent_decides = origin != stop_origin::parent && parent_ != nullptr &&
                                parent_->decides_child_exits_.load(std::memory_order_relaxed);
    if (parent_decides) {
        // A supervised child's own exit: the parent rules on it (restart in
        // place, stop, ...). Already failed: that decision is pending.
        if (state_ == state::running || state_ == state::fresh) {
            cancel_awaiter(cause);
            if (cause) {
                sys_.report_failure(actor_addr(cell_ptr(this)), cause);
            }
            report_exit_to_parent(std::move(cause));
        }
        return;
    }
    if (state_ == state::failed && extras_ && extras_->failure) {
        cause = *extras_->failure; // a failed actor ends with its failure (as in OTP)
    }
    state_ = state::stopping;
    drop_group_restarts();
    {
        std::lock_guard lock(sys_.tree_lock(this));
        takes_children_ = false;
    }
    cancel(cause); // signals the token and tells the children at once
    start_child_stops(std::move(cause));
}

void cell::begin_teardown(error cause, teardown_end end) {
    state_ = state::restarting;
    set(flag::halt_after_teardown, end == teardown_end::halt);
    set(flag::start_after_teardown, false);
    drop_group_restarts();
    cancel_awaiter(cause);
    {
        std::lock_guard lock(sys_.tree_lock(this));
        takes_children_ = false; // until rebuilt
        children_.for_each([&](cell& c) {
            c.signal_stop(cause);
            c.post(sys_kind::cancel, cause);
        });
    }
    start_child_stops(std::move(cause));
}

void cell::cancel(const error& cause) {
    cancel_awaiter(cause);
    if (cancelled_) {
        // Passed on already: doing it again at every level of a stop would
        // cost O(depth) per level, O(n^2) for a chain of n actors.
        return;
    }
    cancelled_ = true;
    signal_stop(cause);
    std::lock_guard lock(sys_.tree_lock(this));
    children_.for_each([&](cell& c) {
        c.signal_stop(cause); // a child stuck in a handler sees its token now
        c.post(sys_kind::cancel, cause);
    });
}

void cell::start_child_stops(error cause) {
    bool any = false;
    {
        std::lock_guard lock(sys_.tree_lock(this));
        any = !children_.empty();
    }
    if (!any) { // the common case: no bookkeeping needed
        after_children_stopped(std::move(cause));
        return;
    }
    if (extras().stopping && extras_->stopping->overrun_timer != 0) {
        // A sequence in progress (an escalation's, or a restart's that became
        // a stop) is taken over: its timer must not kill the next one early.
        sys_.clk().cancel(extras_->stopping->overrun_timer);
    }
    extras_->stopping.emplace(child_stop_sequence{nullptr, 0, std::move(cause)});
    stop_next_child();
}

void cell::stop_next_child() {
    cell* next = nullptr;
    {
        std::lock_guard lock(sys_.tree_lock(this));
        next = children_.newest();
    }
    child_stop_sequence& seq = *extras_->stopping;
    if (next == nullptr) {
        error cause = std::move(seq.cause);
        extras_->stopping.reset();
        after_children_stopped(std::move(cause));
        return;
    }
    seq.awaited = next;
    const duration limit = shutdown_timeout_of(next->options_.get());
    if (limit <= duration::zero()) { // brutal kill: its exit moves us on
        next->request_kill(seq.cause, stop_origin::parent);
        return;
    }
    next->request_stop(seq.cause, stop_origin::parent);
    // On overrun the child is killed and this cell moves on at once (a child
    // stuck in a handler would otherwise hold the stop).
    seq.overrun_timer = call_at(
        sys_.clk(), saturating_add(sys_.clk().now(), limit), cell_ptr(this),
        [self = cell_ptr(this), c = cell_ptr(next)] { self->on_child_shutdown_overrun(c); });
}

void cell::on_child_shutdown_overrun(const cell_ptr& child) {
    if (!extras_ || !extras_->stopping || extras_->stopping->awaited != child.get()) {
        return; // it stopped in time
    }
    extras_->stopping->overrun_timer = 0;
    child->request_kill(error{errc::timeout, "shutdown timeout overrun", extras_->stopping->cause},
                        stop_origin::parent);
    if (behaviour_ != nullptr) {
        try {
            behaviour_->on_child_shutdown_timeout(actor_addr(child));
        } catch (...) {
            // a recording hook cannot change the outcome
        }
    }
    unlist_child(child.get());
}

void cell::unlist_child(cell* child) {
    {
        std::lock_guard lock(sys_.tree_lock(this));
        if (!children_.remove(*child)) {
            return; // never adopted, or unlisted before (an overrun)
        }
    }
    const cell_ptr keep(child); // past the list's reference, for the checks below
    child->release();           // the children list's reference
    if (!extras_) {
        return;
    }
    on_group_member_done(child); // a group member that exited instead of halting
    if (extras_ && extras_->stopping && extras_->stopping->awaited == child) {
        if (extras_->stopping->overrun_timer != 0) {
            sys_.clk().cancel(std::exchange(extras_->stopping->overrun_timer, 0));
        }
        extras_->stopping->awaited = nullptr;
        stop_next_child();
    }
}

void cell::after_children_stopped(error cause) {
    if (state_ == state::failed && has(flag::escalating)) {
        // An escalation's children are gone: now the parent rules on it
        // (with the latest failure: a kill meanwhile replaced it).
        report_exit_to_parent(extras_ && extras_->failure ? *extras_->failure : std::move(cause));
        return;
    }
    if (state_ == state::stopping) {
        terminate(std::move(cause), run_on_stop::yes);
        return;
    }
    if (state_ != state::restarting) {
        return;
    }
    tear_down_behaviour(cause, run_on_stop::yes);
    if (has(flag::halt_after_teardown) && !has(flag::start_after_teardown)) {
        enter_halted();
        return;
    }
    const bool tell_started = has(flag::start_after_teardown);
    rebuild();
    if (tell_started && parent_) {
        parent_->post(sys_kind::child_started, {}, cell_ptr(this));
    }
}

// ---- restarts in place -------------------------------------------------------------------

void cell::tear_down_behaviour(const error& cause, run_on_stop on_stop) {
    drop_task(cause);
    if (behaviour_ != nullptr && on_stop == run_on_stop::yes) {
        try {
            behaviour_->on_stop(cause);
        } catch (...) {
            // on_stop failing cannot change the outcome; the teardown goes on.
        }
    }
    if (extras_) {
        extras_->timers.cancel_all();
        extras_->timers.cancel_idle(sys_.clk());
        extras_->continuations.clear(); // note 7: replies never reach a later incarnation
    }
    set(flag::stamps_activity, false);
    reset_behaviors(); // become's stack goes; the stash is replayed first
    if (behaviour_ != nullptr) {
        destroy_behaviour();
        behaviour_ = nullptr;
    }
}

void cell::rebuild() {
    if (extras_) { // a new incarnation: the old one's links are broken, both ways
        for (auto& peer : extras_->observers.take_links()) {
            peer->post(sys_kind::unlink, {}, cell_ptr(this));
        }
    }
    cancelled_ = false;
    if (extras_) {
        extras_->failure.reset();
    }
    set(flag::halt_after_teardown, false);
    set(flag::start_after_teardown, false);
    set(flag::escalating, false);
    // A new incarnation: a new stop token, no stop requested yet.
    stop_requested_.store(false, std::memory_order_seq_cst);
    if (cell_shared* s = shared_if_any()) {
        std::lock_guard lock(s->mutex);
        s->stop_source.reset();
        s->stop_cause = {};
        s->stop_signalled = false;
    }
    {
        std::lock_guard lock(sys_.tree_lock(this));
        takes_children_ = true;
    }
    auto& restarts = shared().restarts; // single writer: this actor
    restarts.store(restarts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    run_start();
}

void cell::enter_halted() {
    state_ = state::halted;
    if (parent_) {
        parent_->post(sys_kind::child_halted, {}, cell_ptr(this));
    }
}

void cell::halt_brutally(const error& cause) {
    state_ = state::restarting;
    drop_group_restarts();
    {
        std::lock_guard lock(sys_.tree_lock(this));
        children_.for_each([&](cell& c) { c.request_kill(cause, stop_origin::parent); });
    }
    tear_down_behaviour(cause, run_on_stop::no);
    set(flag::halt_after_teardown, true);
    set(flag::start_after_teardown, false);
    enter_halted(); // killed children are unlisted as their exits arrive
}

// ---- kill and termination ---------------------------------------------------------------

void cell::kill(const error& cause, stop_origin origin) {
    if (state_ == state::terminated) {
        return;
    }
    const bool settled = state_ != state::stopping && state_ != state::restarting;
    if (origin != stop_origin::parent && settled && parent_ != nullptr &&
        parent_->decides_child_exits_.load(std::memory_order_relaxed)) {
        // A supervised child killed by someone else: gone at once, but its
        // parent decides what follows (a restart builds it anew in place).
        drop_group_restarts();
        {
            std::lock_guard lock(sys_.tree_lock(this));
            children_.for_each([&](cell& c) { c.request_kill(cause, stop_origin::parent); });
        }
        tear_down_behaviour(cause, run_on_stop::no);
        error why{errc::killed, "killed while supervised; the parent decides", cause};
        sys_.report_failure(actor_addr(cell_ptr(this)), why);
        if (state_ != state::failed) {
            report_exit_to_parent(std::move(why));
        } else {
            extras().failure = std::move(why);
        }
        return;
    }
    {
        std::lock_guard lock(sys_.tree_lock(this));
        takes_children_ = false;
        children_.for_each([&](cell& c) { c.request_kill(cause, stop_origin::parent); });
    }
    terminate(error{errc::killed, "terminated at once, without on_stop", cause}, run_on_stop::no);
}

void cell::terminate(error cause, run_on_stop on_stop) {
    if (state_ == state::terminated) {
        return;
    }
    if (on_stop == run_on_stop::yes && extras_ && extras_->failure) {
        cause = *extras_->failure; // it failed before or while stopping: that is why it ended
    }
    drop_group_restarts();
    if (extras_ && extras_->stopping && extras_->stopping->overrun_timer != 0) {
        sys_.clk().cancel(extras_->stopping->overrun_timer); // killed while stopping
    }
    tear_down_behaviour(cause, on_stop);
    if (options_ && options_->interceptor) {
        try {
            options_->interceptor->on_terminate();
        } catch (...) {
            // an interceptor cannot change the outcome
        }
    }
    // Children left behind (kill does not wait for them) are released. Once
    // takes_children_ is false only this turn changes the list.
    std::vector<cell*> left;
    {
        std::lock_guard lock(sys_.tree_lock(this));
        takes_children_ = false;
        children_.clear([&](cell& c) { left.push_back(&c); });
    }
    for (cell* c : left) {
        c->release();
    }
    state_ = state::terminated;
    if (cause) { // a normal exit is recorded as no cause
        shared().exit_cause = std::make_unique<const error>(cause);
    }
    if (options_ && !options_->registered_path.empty()) {
        sys_.unregister_path(options_->registered_path);
    }
    sys_.unregister_id(this);
    close_and_account();
    notify_exit(cause);
}

void cell::close_and_account() {
    // User messages first: an exit observer (e.g. wait_for_exit) must see the
    // final counters, so every leftover user message is dead-lettered before
    // anyone learns of the exit. System requests that race with the death
    // queue up meanwhile (close_user_lane) and are answered as a dead actor
    // would, after the exit cause is published.
    std::vector<system_envelope*> requests;
    mailbox_node* queued = mailbox_.close_user_lane();
    drop_parked(); // the stash and unstashed messages came before the queue
    for (mailbox_node* n = queued; n != nullptr;) {
        mailbox_node* next = n->next;
        if (n->lane_kind == lane::system) {
            requests.push_back(static_cast<system_envelope*>(n));
        } else {
            dead_letter(static_cast<envelope*>(n), dead_letter_reason::receiver_down);
        }
        n = next;
    }
    const bool counted = parent_ && parent_->parent_ != nullptr; // guardians are not
    if (counted) {
        // After the accounting (a waiter of await_all_actors_done reads final
        // counters), before anyone can see it terminated (live_actors() agrees
        // with is_terminated() and every exit observer).
        sys_.actor_exited();
    }
    terminated_.store(true, std::memory_order_release); // pairs with is_terminated()
    if (counted) {
        sys_.actor_exit_published(); // now await_all_actors_done may return
    }
    for (mailbox_node* n = mailbox_.close(); n != nullptr;) {
        mailbox_node* next = n->next;
        requests.push_back(static_cast<system_envelope*>(n));
        n = next;
    }
    for (system_envelope* e : requests) {
        answer_as_dead(e);
    }
    if (options_) {
        wake_all_waiting_senders(); // their retries find the mailbox closed
    }
}

void cell::notify_exit(const error& cause) {
    const cell_ptr self(this);
    if (extras_) {
        extras_->observers.notify(self, cause);
        extras_.reset();
    }
    if (parent_) {
        parent_->post(sys_kind::child_exited, cause, self);
    }
}

} // namespace troupe::detail
