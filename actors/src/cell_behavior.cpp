// Part of troupe. See LICENSE at the repository root.
//
// Behaviour switching (become / unbecome) and the stash: the behaviour
// stack and the stashed messages live in the cell's extras, so an actor that
// never uses them pays nothing but a null test per message.

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <memory>
#include <string>
#include <utility>

namespace troupe::detail {

behavior_base* cell::top_behavior() {
    // At the start of a dispatch no handler runs (a coroutine handler pauses
    // the user lane), so behaviours replaced meanwhile can go now.
    extras_->retired.clear();
    return extras_->behaviors.empty() ? nullptr : extras_->behaviors.back().get();
}

expected<void> cell::install_behavior(std::unique_ptr<behavior_base> b, behavior_change how) {
    if (!b) {
        return fail(errc::invalid_argument, "become with an empty (moved-from) behavior");
    }
    auto& stack = extras().behaviors;
    if (how == behavior_change::push) {
        if (stack.size() >= max_behavior_depth) {
            return fail(errc::invalid_argument, "become: the behaviour stack holds at most " +
                                                    std::to_string(max_behavior_depth) +
                                                    " behaviours");
        }
        stack.push_back(std::move(b));
        return {};
    }
    if (stack.empty()) {
        stack.push_back(std::move(b));
        return {};
    }
    // The replaced one may be running (become from its own handler): retired.
    extras_->retired.push_back(std::move(stack.back()));
    stack.back() = std::move(b);
    return {};
}

void cell::restore_behavior() {
    if (!extras_ || extras_->behaviors.empty()) {
        return;
    }
    extras_->retired.push_back(std::move(extras_->behaviors.back()));
    extras_->behaviors.pop_back();
}

std::size_t cell::behavior_depth() const noexcept {
    return extras_ ? extras_->behaviors.size() : 0;
}

expected<void> cell::stash_current() {
    thread_context& ctx = this_thread_context();
    envelope* e = ctx.message;
    if (e == nullptr || ctx.current != this) {
        return fail(errc::invalid_argument,
                    "stash() takes the message being handled, once, in a handler that answers by "
                    "returning (not a coroutine or response_promise handler, not a hook)");
    }
    ctx.message = nullptr;
    const std::uint32_t capacity =
        options_ ? options_->stash_capacity : spawn_options{}.stash_capacity;
    if (!extras().stash.push(e, capacity)) {
        ctx.message_fate = static_cast<std::uint8_t>(message_fate::stash_full);
        return fail(errc::stash_full, "the stash holds " + std::to_string(capacity) +
                                          " messages; this one becomes a dead letter");
    }
    e->owner_flags = internal::redelivered_flag; // an interceptor saw it already
    ctx.message_fate = static_cast<std::uint8_t>(message_fate::stashed);
    return {};
}

void cell::unstash_all() {
    if (!extras_) {
        return;
    }
    extras_->stash.unstash_all();
    set(flag::replaying, extras_->stash.replaying());
}

std::size_t cell::stash_size() const noexcept { return extras_ ? extras_->stash.stashed() : 0; }

envelope* cell::take_replayed() noexcept {
    envelope* e = extras_->stash.take_replayed();
    set(flag::replaying, extras_->stash.replaying());
    return e; // handle_user counts it in flight again
}

void cell::settle_taken_message(envelope* e, std::uint8_t fate) {
    if (fate == static_cast<std::uint8_t>(message_fate::stash_full)) {
        dead_letter_taken(e, dead_letter_reason::stash_full);
    } else {
        leave_in_flight(); // stashed: the stash owns it, and it counts as queued again
    }
}

void cell::reclaim_stashed(envelope* e) noexcept {
    // The handler threw after stash(): the message fails with it instead.
    if (extras_ && extras_->stash.stashed() != 0) {
        (void)extras_->stash.take_newest(); // it is `e`: stash() took it last, in this handler
        e->owner_flags = 0;
    }
}

void cell::reset_behaviors() noexcept {
    if (!extras_) {
        return;
    }
    extras_->behaviors.clear();
    extras_->retired.clear();
    // As Akka's stash on restart: the stashed messages go first to the next
    // incarnation (or, at termination, become dead letters in that order).
    try {
        unstash_all();
    } catch (...) {
        // Out of memory moving them: they stay stashed, still counted, and
        // termination dead-letters them.
    }
}

void cell::drop_parked() noexcept {
    if (!extras_ || extras_->stash.size() == 0) {
        return;
    }
    try {
        for (auto& e : extras_->stash.take_all()) {
            dead_letter(e.release(), dead_letter_reason::receiver_down);
        }
    } catch (...) {
        // Out of memory collecting them: destroyed with the extras, unanswered.
    }
    set(flag::replaying, false);
}

} // namespace troupe::detail
