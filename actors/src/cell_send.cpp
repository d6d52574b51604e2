// Part of troupe. See LICENSE at the repository root.
//
// The send side of a cell: pushing user and system messages, the overflow
// policies, waiting senders, dead letters, and answering requests that reach
// an actor after its death.

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace troupe::detail {

using internal::bump;

send_result cell::enqueue_user(envelope* e) noexcept {
    count_send();
    return place(mailbox_.push(e), e);
}

send_result cell::requeue_user(envelope* e) noexcept { return place(mailbox_.push(e), e); }

void cell::count_abandoned_send() noexcept {
    count_send();
    bump(shared().rejected); // release: after the send it balances
}

send_result cell::place(push_result r, envelope* e) noexcept {
    switch (r) {
    case push_result::accepted: return {};
    case push_result::accepted_unblocked: sys_.exec().schedule(this); return {};
    case push_result::closed:
        dead_letter(e, dead_letter_reason::receiver_down);
        return troupe::fail(errc::receiver_down, "the receiver has terminated");
    case push_result::full: return overflow(e);
    }
    return {};
}

send_result cell::overflow(envelope* e) noexcept {
    switch (policy_) {
    case overflow_policy::reject:
        bump(shared().rejected);
        e->fail(error{errc::mailbox_full, "the receiver's mailbox is full"});
        delete e;
        return troupe::fail(errc::mailbox_full, "the receiver's mailbox is full");
    case overflow_policy::drop_newest:
        dead_letter(e, dead_letter_reason::dropped_newest);
        return troupe::fail(errc::dropped, "dropped by the receiver's drop_newest policy");
    case overflow_policy::drop_oldest:
        for (int attempt = 0; attempt < 8; ++attempt) {
            if (mailbox_node* old = mailbox_.evict_oldest()) {
                dead_letter(static_cast<envelope*>(old), dead_letter_reason::dropped_oldest);
            }
            if (push_result r = mailbox_.push(e); r != push_result::full) {
                return place(r, e);
            }
        }
        // Every queued message is still in flight from other producers: the
        // newest gives way.
        dead_letter(e, dead_letter_reason::dropped_newest);
        return troupe::fail(errc::dropped, "dropped: the receiver's queue kept filling");
    case overflow_policy::block:
    case overflow_policy::suspend:
        if (this_thread_context().worker != nullptr) {
            bump(shared().rejected);
            e->fail(error{errc::would_block, "the receiver is full and the sender may not block"});
            delete e;
            return troupe::fail(
                errc::would_block,
                "a scheduler worker may not block; use co_await send(...) in a task");
        }
        return block_until_space(e);
    case overflow_policy::redirect: {
        cell* target = options_->redirect.get();
        if (target == nullptr || target == this || target->protocol() != protocol()) {
            dead_letter(e, dead_letter_reason::redirect_failed);
            return troupe::fail(errc::dropped, "redirect target missing or of another protocol");
        }
        bump(shared().redirected);
        return target->enqueue_user(e);
    }
    }
    return {};
}

send_result cell::block_until_space(envelope* e) noexcept {
    auto& ov = *options_;
    push_result r = push_result::full;
    // While its sender waits, the message is in no bucket: sent again on
    // each try (counters() stays exact meanwhile).
    uncount_send();
    const bool pushed = ov.waiting_senders.block_until(
        [&] {
            count_send();
            r = mailbox_.push(e);
            if (r == push_result::full) {
                uncount_send();
                return false;
            }
            return true;
        },
        saturating_add(std::chrono::steady_clock::now(), ov.block_timeout));
    if (pushed) {
        return place(r, e);
    }
    count_send();
    bump(shared().rejected);
    e->fail(error{errc::timeout, "no room in the mailbox before the block timeout"});
    delete e;
    return troupe::fail(errc::timeout, "no room in the mailbox before the block timeout");
}

bool cell::try_send(envelope* e, send_result& result) noexcept {
    count_send();
    push_result r = mailbox_.push(e);
    if (r == push_result::full) {
        uncount_send(); // the caller keeps it and tries again
        return false;
    }
    result = place(r, e);
    return true;
}

send_result cell::send_or_wait(envelope*& e, cell* waiter, std::uint64_t gen,
                               bool& waiting) noexcept {
    waiting = false;
    count_send();
    push_result r = mailbox_.push(e);
    if (r == push_result::full && waiter != nullptr &&
        (policy_ == overflow_policy::suspend || policy_ == overflow_policy::block)) {
        try {
            options_->waiting_senders.add_suspended(cell_ptr(waiter), gen);
        } catch (...) {
            return place(r, std::exchange(e, nullptr)); // no memory to wait: the policy decides
        }
        r = mailbox_.push(e); // registered first: a slot freed since is not missed
        if (r == push_result::full) {
            uncount_send(); // the sender keeps it until its wake retries
            waiting = true;
            return {};
        }
        // Pushed on the retry: the registration stays and its wake, carrying a
        // stale generation, is ignored.
    }
    return place(r, std::exchange(e, nullptr));
}

namespace {

void wake_senders(internal::sender_waitlist& waiting, const mailbox& box,
                  internal::wake_policy policy) noexcept {
    try {
        for (auto& [c, gen] : waiting.take_to_wake(box.size(), box.capacity(), policy)) {
            c->wake(gen);
        }
    } catch (...) {
        // Out of memory for the wake list: the senders stay registered and the
        // next freed slot (or going idle) tries again.
    }
}

} // namespace

void cell::wake_waiting_senders() noexcept {
    wake_senders(options_->waiting_senders, mailbox_, internal::wake_policy::by_free_space);
}

void cell::wake_all_waiting_senders() noexcept {
    wake_senders(options_->waiting_senders, mailbox_, internal::wake_policy::all);
}

void cell::enqueue_system(system_envelope* e) noexcept {
    switch (mailbox_.push(e)) {
    case push_result::accepted: return;
    case push_result::accepted_unblocked: sys_.exec().schedule(this); return;
    case push_result::closed:
    case push_result::full: answer_as_dead(e); return;
    }
}

void cell::post(sys_kind k, error cause, cell_ptr other) {
    enqueue_system(new system_envelope(k, std::move(cause), std::move(other)));
}

void cell::answer_as_dead(system_envelope* e) noexcept {
    std::unique_ptr<system_envelope> owned(e);
    // The mailbox is closed: a push that found it so acquired the close, which
    // terminate() did after publishing the exit cause.
    try {
        internal::exit_observers::answer_dead(*e, cell_ptr(this), exit_cause());
    } catch (...) {
        // Out of memory for the answer: the request dies with the actor.
    }
}

void cell::dead_letter_taken(envelope* e, dead_letter_reason reason) noexcept {
    leave_in_flight(&reason);
    publish_dead_letter(e, reason);
}

void cell::dead_letter(envelope* e, dead_letter_reason reason) noexcept {
    bump(internal::is_drop(reason) ? shared().dropped : shared().dead_lettered);
    publish_dead_letter(e, reason);
}

void cell::publish_dead_letter(envelope* e, dead_letter_reason reason) noexcept {
    std::unique_ptr<envelope> owned(e);
    sys_.dead_letters().record(
        troupe::dead_letter{reason, actor_addr(cell_ptr(this)), e->type_name(), e->trace_id});
    e->fail(error{internal::errc_of(reason), std::string(internal::dead_letter_text(reason))});
}

} // namespace troupe::detail
