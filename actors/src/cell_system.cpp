// Part of troupe. See LICENSE at the repository root.
//
// The system lane: one function per row of the lifecycle table in cell.hpp.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <string>
#include <utility>

namespace troupe::detail {

void cell::apply_requested_kill() {
    cell_shared* s = shared_if_any();
    if (s == nullptr) {
        return;
    }
    // acquire: pairs with the release store in request_kill*(), after the cause.
    const auto mode = s->kill.exchange(cell_shared::kill_mode::none, std::memory_order_acquire);
    if (mode == cell_shared::kill_mode::none) {
        return;
    }
    error cause;
    stop_origin origin = stop_origin::other;
    {
        std::lock_guard lock(s->mutex);
        cause = s->kill_cause;
        origin = s->kill_origin;
    }
    if (mode == cell_shared::kill_mode::terminate) {
        kill(cause, origin);
    } else if (state_ != state::halted && state_ != state::stopping) {
        halt_brutally(cause);
    }
}

void cell::handle_system(system_envelope& e) {
    switch (e.kind) {
    case sys_kind::stop: begin_stop(std::move(e.cause), e.origin); break;
    case sys_kind::kill: break; // applied already: apply_requested_kill() runs first
    case sys_kind::cancel:
        if (state_ != state::halted) {
            cancel(e.cause);
        }
        break;
    case sys_kind::restart:
        if (state_ == state::halted) {
            rebuild();
        } else if (state_ == state::running || state_ == state::failed) {
            begin_teardown(std::move(e.cause), teardown_end::rebuild);
        }
        break;
    case sys_kind::halt: handle_halt(e); break;
    case sys_kind::start:
        if (state_ == state::halted) {
            rebuild();
            if (parent_) {
                parent_->post(sys_kind::child_started, {}, cell_ptr(this));
            }
        } else if (state_ == state::restarting && has(flag::halt_after_teardown)) {
            set(flag::start_after_teardown, true);
        }
        break;
    case sys_kind::resume:
        if (state_ == state::failed) {
            state_ = state::running;
            extras_->failure.reset();
        }
        break;
    case sys_kind::child_failed: decide_about_child(e); break;
    case sys_kind::child_exited: unlist_child(e.other.get()); break;
    case sys_kind::child_halted:
    case sys_kind::child_started: on_group_member_done(e.other.get()); break;
    case sys_kind::monitor:
        if (e.callback) {
            extras().observers.add(
                {internal::exit_observers::kind::callback, {}, std::move(e.callback)});
        } else {
            extras().observers.add(
                {internal::exit_observers::kind::monitor, std::move(e.other), {}});
        }
        break;
    case sys_kind::demonitor:
        if (extras_) {
            extras_->observers.remove_monitor(e.other.get());
        }
        break;
    case sys_kind::down:
        if (observes_exits()) {
            behaviour_->on_down(down_msg{actor_addr(e.other), e.cause});
        }
        break;
    case sys_kind::link:
        if (e.other && !extras().observers.has_link(e.other.get())) {
            extras_->observers.add({internal::exit_observers::kind::link, std::move(e.other), {}});
        }
        break;
    case sys_kind::unlink:
        if (extras_) {
            extras_->observers.remove_link(e.other.get());
        }
        break;
    case sys_kind::exit_signal: handle_exit_signal(e); break;
    case sys_kind::wake: handle_wake(e.generation); break;
    case sys_kind::idle_timeout: handle_idle_timeout(e.generation); break;
    case sys_kind::call:
        if (e.callback) {
            e.callback(error{});
        }
        break;
    case sys_kind::continuation: run_continuation(continuation_ticket{e.generation, e.slot}); break;
    }
}

void cell::run_continuation(continuation_ticket ticket) {
    if (!observes_exits() || !extras_) {
        return; // torn down: the continuation was dropped with its behaviour
    }
    if (unique_function f = extras_->continuations.take(ticket)) {
        f(); // a throw fails this actor, as from a handler
    }
}

void cell::handle_halt(system_envelope& e) {
    switch (state_) {
    case state::fresh:
    case state::running:
    case state::failed:
        if (e.brutal) {
            halt_brutally(e.cause);
        } else {
            begin_teardown(std::move(e.cause), teardown_end::halt);
        }
        break;
    case state::restarting: set(flag::halt_after_teardown, true); break;
    case state::halted:
        if (parent_) { // already there: say so again (the group job ignores stale answers)
            parent_->post(sys_kind::child_halted, {}, cell_ptr(this));
        }
        break;
    case state::stopping:
    case state::terminated: break;
    }
}

bool cell::observes_exits() const noexcept {
    // The behaviour in place hears of exits, failed or stopping too; one
    // being torn down (restarting) or gone (halted) does not.
    return behaviour_ != nullptr &&
           (state_ == state::running || state_ == state::failed || state_ == state::stopping);
}

void cell::handle_exit_signal(system_envelope& e) {
    // Only a linked peer's exit counts (an empty address: a link to no actor,
    // answered with noproc, or a linked actor with no address here:
    // `actor_addr::signal_exit`); one unlinked meanwhile, or linked to an
    // earlier incarnation, is ignored.
    const bool linked = !e.other || (extras_ && extras_->observers.has_link(e.other.get()));
    if (!linked) {
        return;
    }
    if (extras_) {
        extras_->observers.remove_link(e.other.get());
    }
    if (traps_exits()) {
        if (observes_exits()) {
            behaviour_->on_exit(exit_msg{actor_addr(e.other), e.cause});
        }
        return;
    }
    if (!e.cause || state_ == state::restarting || state_ == state::halted) {
        // A normal exit of a linked peer stops nobody; an incarnation being
        // replaced does not die of its predecessor's links.
        return;
    }
    begin_stop(error{errc::linked_exit,
                     e.other ? "linked actor " + e.other->path() + " exited"
                             : std::string("a linked actor exited"),
                     e.cause},
               stop_origin::other);
}

void cell::handle_wake(std::uint64_t generation) {
    if (!has(flag::task_running)) {
        return;
    }
    awaiter_base* a = extras_->task.take_awaiter(generation);
    if (a == nullptr) {
        return; // stale: that await was cancelled or completed otherwise
    }
    if (std::uint64_t trace = extras_->task.message_trace(); trace != 0) {
        this_thread_context().trace = trace; // the task goes on under its message's trace
    }
    a->on_wake();
    finish_task_if_done();
}

void cell::handle_idle_timeout(std::uint64_t generation) {
    if (!extras_ || state_ != state::running) {
        return;
    }
    if (extras_->timers.on_idle_timeout(sys_.clk(), cell_ptr(this), generation, sys_.clk().now()) &&
        behaviour_ != nullptr) {
        behaviour_->on_idle();
    }
}

} // namespace troupe::detail
