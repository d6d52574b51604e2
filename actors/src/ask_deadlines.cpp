// Part of troupe. See LICENSE at the repository root.

#include "ask_deadlines.hpp"

#include <troupe/actors/detail/ask_state.hpp>

#include <atomic>
#include <mutex>
#include <utility>

namespace troupe::internal {

using detail::ask_state_base;

namespace {
/// The calling thread's shard: threads are dealt out round robin.
std::size_t this_thread_shard() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine =
        next.fetch_add(1, std::memory_order_relaxed) % ask_deadlines::shard_count;
    return mine;
}
} // namespace

ask_deadlines::~ask_deadlines() {
    for (shard& sh : shards_) {
        for (auto& [key, l] : sh.lists) {
            while (ask_state_base* s = l.head) {
                unlink(l, *s);
                s->release();
            }
        }
    }
}

void ask_deadlines::arm(ask_state_base& s, duration timeout) {
    s.deadline_shard_ = static_cast<std::uint8_t>(this_thread_shard());
    shard& sh = shards_[s.deadline_shard_];
    std::lock_guard lock(sh.lock);
    // Read under the lock: deadlines enter each list in order.
    s.deadline_ = saturating_add(clock_.now(), timeout);
    if (s.deadline_ == time_point::max()) {
        return; // past the end of time: no deadline
    }
    s.add_ref(); // the list's reference
    const duration::rep key = timeout.count();
    auto [it, fresh] = sh.lists.try_emplace(key);
    list& l = it->second;
    s.deadline_prev_ = l.tail;
    s.deadline_next_ = nullptr;
    s.deadline_list_ = &l;
    (l.tail != nullptr ? l.tail->deadline_next_ : l.head) = &s;
    l.tail = &s;
    if (fresh) {
        schedule(sh, key, s.deadline_); // a list lives with exactly one timer
    }
}

void ask_deadlines::disarm(ask_state_base& s) noexcept {
    {
        shard& sh = shards_[s.deadline_shard_]; // written by arm, before s was shared
        std::lock_guard lock(sh.lock);
        if (s.deadline_list_ == nullptr) {
            return; // expired (its timer took it, and its reference), or never linked
        }
        unlink(*static_cast<list*>(s.deadline_list_), s);
    }
    s.release();
}

std::size_t ask_deadlines::lists() const {
    std::size_t n = 0;
    for (const shard& sh : shards_) {
        std::lock_guard lock(sh.lock);
        n += sh.lists.size();
    }
    return n;
}

void ask_deadlines::schedule(shard& sh, duration::rep key, time_point at) {
    (void)clock_.schedule_at(at, [this, &sh, key] { expire(sh, key); });
}

void ask_deadlines::expire(shard& sh, duration::rep key) {
    ask_state_base* due = nullptr; // chained through deadline_next_
    {
        std::lock_guard lock(sh.lock);
        auto it = sh.lists.find(key);
        list& l = it->second; // present: a list is dropped only here
        const time_point now = clock_.now();
        ask_state_base** last = &due;
        while (l.head != nullptr && l.head->deadline_ <= now) {
            ask_state_base* s = l.head;
            unlink(l, *s);
            *last = s;
            last = &s->deadline_next_;
        }
        if (l.head != nullptr) {
            schedule(sh, key, l.head->deadline_);
        } else {
            sh.lists.erase(it);
        }
    }
    while (due != nullptr) {
        ask_state_base* s = std::exchange(due, due->deadline_next_);
        s->deadline_next_ = nullptr;
        (void)s->fail(error{errc::timeout, "no reply before the deadline"});
        s->release();
    }
}

void ask_deadlines::unlink(list& l, ask_state_base& s) noexcept {
    (s.deadline_prev_ != nullptr ? s.deadline_prev_->deadline_next_ : l.head) = s.deadline_next_;
    (s.deadline_next_ != nullptr ? s.deadline_next_->deadline_prev_ : l.tail) = s.deadline_prev_;
    s.deadline_prev_ = nullptr;
    s.deadline_next_ = nullptr;
    s.deadline_list_ = nullptr;
}

} // namespace troupe::internal
