// Part of troupe. See LICENSE at the repository root.

#include <troupe/mailbox/mailbox.hpp>

#include "mailbox_seam.hpp"

#include <cassert>

namespace troupe {

namespace {

// Consumer-side lock, taken only when the mailbox is evictable (drop_oldest).
class consumer_guard {
public:
    consumer_guard(bool enabled, std::atomic<bool>& flag) noexcept
        : flag_(enabled ? &flag : nullptr) {
        if (flag_ == nullptr) {
            return;
        }
        // acquire: pairs with the release store in the destructor.
        while (flag_->exchange(true, std::memory_order_acquire)) {
            while (flag_->load(std::memory_order_relaxed)) {
                // spin: holders run a handful of pointer moves
            }
        }
    }
    consumer_guard(const consumer_guard&) = delete;
    consumer_guard& operator=(const consumer_guard&) = delete;
    ~consumer_guard() {
        if (flag_ != nullptr) {
            flag_->store(false, std::memory_order_release);
        }
    }

private:
    std::atomic<bool>* flag_;
};

void append(mailbox_node*& head, mailbox_node*& tail, mailbox_node* n) noexcept {
    n->next = nullptr;
    if (tail == nullptr) {
        head = n;
    } else {
        tail->next = n;
    }
    tail = n;
}

mailbox_node* pop_front(mailbox_node*& head, mailbox_node*& tail) noexcept {
    mailbox_node* n = head;
    if (n != nullptr) {
        head = n->next;
        if (head == nullptr) {
            tail = nullptr;
        }
        n->next = nullptr;
    }
    return n;
}

} // namespace

mailbox::mailbox(std::uint32_t capacity, bool evictable) noexcept
    : capacity_(capacity), evictable_(evictable) {
    assert(capacity > 0 && capacity <= max_capacity);
}

push_result mailbox::push_node(mailbox_node* n) noexcept {
    std::uintptr_t old = head_.load(std::memory_order_relaxed);
    for (;;) {
        if (old == closed_tag) {
            // acquire: pairs with the release exchange in close(), so the
            // owner's last writes (its exit cause) are visible to the caller.
            (void)head_.load(std::memory_order_acquire);
            return push_result::closed;
        }
        const bool closing = is_closing(old);
        if (closing && n->lane_kind == lane::user) {
            return push_result::closed;
        }
        n->next = is_chain(old) ? chain_of(old) : nullptr;
        const std::uintptr_t desired =
            reinterpret_cast<std::uintptr_t>(n) | (closing ? closing_bit : 0);
        // release: publishes *n (and the caller's writes) to the consumer's
        // acquire exchange in fetch(). acquire: a push that unblocks an idle
        // consumer takes over its last turn (try_block's release) and hands it
        // to the next worker through the executor, which reads the actor's
        // state before its first fetch().
        if (head_.compare_exchange_weak(old, desired, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
            return old == blocked_tag ? push_result::accepted_unblocked : push_result::accepted;
        }
    }
}

push_result mailbox::push(mailbox_node* n) noexcept {
    if (n->lane_kind == lane::system) {
        return push_node(n);
    }
    if (!reserve()) {
        // A closed mailbox reports closed even when it looked full.
        return is_closed() ? push_result::closed : push_result::full;
    }
    push_result r = push_node(n);
    if (r == push_result::closed) {
        reserved_.fetch_sub(1, std::memory_order_seq_cst);
    }
    return r;
}

bool mailbox::reserve() noexcept {
    // seq_cst on reserved_, released_ and the owner's waiter count: a sender
    // that registers as a waiter and then finds the lane full, and a consumer
    // that releases a slot and then looks for waiters, cannot both miss each
    // other (store-load ordering across two variables needs seq_cst).
    // A lane that is full stays full without a write to the shared line:
    // producers that keep finding it full (and retry) do not slow the others.
    //
    // Two checks each time. The fast one compares against released_hint_, a
    // lower bound of released_ that every slow check refreshes (so it trails
    // reserved_ by about a capacity): an *unsigned* gap below the capacity
    // proves room; a hint newer than our snapshot wraps the gap to ~2^32 and
    // only sends us to the exact check. The exact one reads released_ itself,
    // which may be newer than the snapshot: has_room() compares signed.
    //
    // relaxed: a value of reserved_ that was current at some point; with
    // released_ read after it, "full" was true at that point.
    if (const std::uint32_t seen = reserved_.load(std::memory_order_relaxed);
        seen - released_hint_.load(std::memory_order_relaxed) >= capacity_) {
        detail::mailbox_pause(*this, detail::mailbox_pause_point::after_snapshot);
        const std::uint32_t released = released_.load(std::memory_order_seq_cst);
        released_hint_.store(released, std::memory_order_relaxed);
        if (!has_room(seen, released, capacity_)) {
            return false;
        }
    }
    detail::mailbox_pause(*this, detail::mailbox_pause_point::before_increment);
    const std::uint32_t r = reserved_.fetch_add(1, std::memory_order_seq_cst);
    // relaxed: any value once read from released_ is a lower bound of it.
    if (r - released_hint_.load(std::memory_order_relaxed) < capacity_) {
        return true;
    }
    detail::mailbox_pause(*this, detail::mailbox_pause_point::after_increment);
    const std::uint32_t released = released_.load(std::memory_order_seq_cst);
    released_hint_.store(released, std::memory_order_relaxed);
    if (has_room(r, released, capacity_)) {
        return true;
    }
    reserved_.fetch_sub(1, std::memory_order_seq_cst);
    return false;
}

void mailbox::release(std::uint32_t n) noexcept {
    // Single writer (the consumer, or the lock holder when evictable).
    released_.store(released_.load(std::memory_order_relaxed) + n, std::memory_order_seq_cst);
}

void mailbox::take_inbox(std::uintptr_t h) noexcept {
    // Reverse the LIFO chain so that each lane keeps arrival order.
    mailbox_node* reversed = nullptr;
    mailbox_node* n = chain_of(h);
    while (n != nullptr) {
        mailbox_node* next = n->next;
        n->next = reversed;
        reversed = n;
        n = next;
    }
    while (reversed != nullptr) {
        mailbox_node* next = reversed->next;
        if (reversed->lane_kind == lane::system) {
            append(sys_head_, sys_tail_, reversed);
        } else {
            append(user_head_, user_tail_, reversed);
        }
        reversed = next;
    }
}

bool mailbox::fetch() noexcept {
    if (!is_chain(head_.load(std::memory_order_relaxed))) {
        return false;
    }
    consumer_guard guard(evictable_, locked_);
    // acquire: pairs with the release CAS in push_node(). The consumer is
    // running and has not begun to close, so the head is a plain chain or
    // active_tag, never blocked/closing/closed.
    std::uintptr_t h = head_.exchange(active_tag, std::memory_order_acquire);
    assert(!is_closing(h) && h != closed_tag);
    if (!is_chain(h)) {
        return false;
    }
    take_inbox(h);
    return true;
}

mailbox_node* mailbox::pop_system() noexcept {
    consumer_guard guard(evictable_, locked_);
    return pop_front(sys_head_, sys_tail_);
}

mailbox_node* mailbox::pop_user() noexcept {
    consumer_guard guard(evictable_, locked_);
    mailbox_node* n = pop_front(user_head_, user_tail_);
    if (n != nullptr) {
        release(1);
    }
    return n;
}

bool mailbox::has_pending() const noexcept {
    if (has_arrivals()) {
        return true;
    }
    consumer_guard guard(evictable_, locked_);
    return user_head_ != nullptr || sys_head_ != nullptr;
}

bool mailbox::try_block(bool user_paused) noexcept {
    consumer_guard guard(evictable_, locked_);
    if ((!user_paused && user_head_ != nullptr) || sys_head_ != nullptr) {
        return false;
    }
    std::uintptr_t expected = active_tag;
    // acq_rel: the release half publishes the consumer's work to the producer
    // that unblocks it (and so to the next worker that runs it); a failure
    // means arrivals, which the next fetch() acquires.
    return head_.compare_exchange_strong(expected, blocked_tag, std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
}

bool mailbox::try_unblock() noexcept {
    std::uintptr_t expected = blocked_tag;
    // acq_rel: acquires the last consumer's release in try_block().
    return head_.compare_exchange_strong(expected, active_tag, std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
}

mailbox_node* mailbox::close_user_lane() noexcept { return take_all(closing_tag); }

mailbox_node* mailbox::close() noexcept { return take_all(closed_tag); }

mailbox_node* mailbox::take_all(std::uintptr_t new_head) noexcept {
    consumer_guard guard(evictable_, locked_);
    // acq_rel: acquires pushed chains; releases the owner's writes to pushers
    // that then find the closed head (push_node's acquire).
    std::uintptr_t h = head_.exchange(new_head, std::memory_order_acq_rel);
    if (is_chain(h)) {
        take_inbox(h);
    }
    std::uint32_t users = 0;
    for (mailbox_node* n = user_head_; n != nullptr; n = n->next) {
        ++users;
    }
    if (users != 0) {
        release(users);
    }
    mailbox_node* all = sys_head_;
    if (sys_tail_ != nullptr) {
        sys_tail_->next = user_head_;
    } else {
        all = user_head_;
    }
    sys_head_ = sys_tail_ = user_head_ = user_tail_ = nullptr;
    return all;
}

mailbox_node* mailbox::evict_oldest() noexcept {
    assert(evictable_);
    consumer_guard guard(true, locked_);
    if (user_head_ == nullptr) {
        std::uintptr_t h = head_.load(std::memory_order_relaxed);
        // Only a plain chain can be taken: an idle or closed head holds no
        // messages, a closing one no user messages, and taking a chain leaves
        // the consumer scheduled (active), as it is.
        while (is_chain(h) && !is_closing(h)) {
            // acquire: pairs with the release CAS in push_node().
            if (head_.compare_exchange_weak(h, active_tag, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
                take_inbox(h);
                break;
            }
        }
    }
    mailbox_node* n = pop_front(user_head_, user_tail_);
    if (n != nullptr) {
        release(1);
    }
    return n;
}

} // namespace troupe
