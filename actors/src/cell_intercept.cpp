// Part of troupe. See LICENSE at the repository root.
//
// The one place where an interceptor (fault injection, tracing) meets the
// turn: the cell asks it about each user message and carries out its answer.
// What the faults mean lives with the interceptor (supervision's injector).

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/message_interceptor.hpp>
#include <troupe/actors/spawn_options.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <memory>
#include <utility>

namespace troupe {

expected<void> validate(const spawn_options& opts) {
    if (opts.capacity == 0 || opts.capacity > mailbox::max_capacity) {
        return fail(errc::invalid_argument, "capacity must be 1 to 2^30");
    }
    if (opts.policy == overflow_policy::redirect && !opts.redirect_to) {
        return fail(errc::invalid_argument, "policy redirect needs redirect_to");
    }
    if (opts.stash_capacity > mailbox::max_capacity) {
        return fail(errc::invalid_argument, "stash_capacity must be 0 to 2^30");
    }
    if (opts.block_timeout < duration::zero()) {
        return fail(errc::invalid_argument, "block_timeout must not be negative");
    }
    if (opts.interceptor) {
        return opts.interceptor->check();
    }
    return {};
}

held_message::held_message(held_message&& o) noexcept
    : cell_(std::move(o.cell_)), e_(std::exchange(o.e_, nullptr)) {}

held_message& held_message::operator=(held_message&& o) noexcept {
    if (this != &o) {
        dead_letter();
        cell_ = std::move(o.cell_);
        e_ = std::exchange(o.e_, nullptr);
    }
    return *this;
}

held_message::~held_message() { dead_letter(); }

void held_message::dead_letter() noexcept {
    if (e_ != nullptr) {
        cell_->dead_letter_message(std::exchange(e_, nullptr), dead_letter_reason::receiver_down);
    }
}

send_result held_message::redeliver() noexcept {
    if (e_ == nullptr) {
        return fail(errc::invalid_argument, "no message held");
    }
    detail::envelope* e = std::exchange(e_, nullptr);
    e->owner_flags = internal::redelivered_flag;
    return cell_->requeue_user(e);
}

void held_message::redeliver_after(duration delay) {
    if (e_ == nullptr) {
        return;
    }
    clock& clk = cell_->sys().clk();
    // The clock's callback must be copyable: share the message. If the clock
    // drops the callback unrun (shutdown), the last copy dead-letters it.
    auto shared = std::make_shared<held_message>(std::move(*this));
    (void)clk.schedule_at(saturating_add(clk.now(), delay),
                          [shared] { (void)shared->redeliver(); });
}

held_message intercepted_message::hold() noexcept {
    what_ = fate::held;
    return held_message(detail::cell_ptr(cell_), e_);
}

namespace detail {

void cell::intercept_user(envelope* e) {
    intercepted_message m(this, e);
    try {
        options_->interceptor->on_user_message(m);
    } catch (...) {
        const bool held = m.what_ == intercepted_message::fate::held;
        if (held) {
            leave_in_flight(); // the interceptor has it: counted as queued
        }
        handle_failure(internal::error_from_current_exception(), held ? nullptr : e);
        return;
    }
    switch (m.what_) {
    case intercepted_message::fate::deliver: deliver_user(e, 1); break;
    case intercepted_message::fate::twice: deliver_user(e, 2); break;
    case intercepted_message::fate::drop:
        dead_letter_taken(e, dead_letter_reason::injected_drop);
        break;
    case intercepted_message::fate::crash:
        handle_failure(error{errc::exception, std::move(m.why_)}, e);
        break;
    case intercepted_message::fate::held: // the interceptor owns it now: counted as queued
        leave_in_flight();
        break;
    }
    if (m.then_) {
        envelope* earlier = std::exchange(m.then_.e_, nullptr);
        if (user_paused()) { // failed, stopping or in a task: back to the queue
            earlier->owner_flags = internal::redelivered_flag;
            (void)requeue_user(earlier);
        } else {
            begin_handling();
            deliver_user(earlier, 1);
        }
    }
}

void cell::dead_letter_message(envelope* e, dead_letter_reason reason) noexcept {
    dead_letter(e, reason);
}

} // namespace detail
} // namespace troupe
