// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/envelope.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace troupe::internal {

/// Which suspended senders `sender_waitlist::take_to_wake` wakes.
enum class wake_policy : std::uint8_t {
    by_free_space, ///< a share of the free slots, once the lane is at most half full
    all,           ///< every one (the receiver stops, or goes idle with waiters)
};

/// Senders waiting for room in one actor's user lane (policies `block` and
/// `suspend`): plain threads blocked on a condition variable, and coroutine
/// senders suspended until a wake.
///
/// Wake policy (`wake_policy::by_free_space`): once the receiver's lane is at
/// most half full, suspended senders are woken FIFO, about one per 32 free
/// slots (at least one): a woken sender fills its share before it suspends
/// again, so a hundred waiting senders cost a few wake-ups per batch rather
/// than a hundred. Every waiter holds a message, so each woken one brings the
/// receiver back to `take_to_wake`; `wake_policy::all` (stop, or going idle
/// with waiters) wakes the rest at once. Whenever suspended senders are woken,
/// and always with `all`, blocked threads are all notified and retry.
///
/// **Threading:** any thread. **Memory ordering:** `any()` and the waiter
/// count are seq_cst, pairing with the mailbox's slot release (see
/// `mailbox::reserve()`): a sender that registers and then retries, and a
/// consumer that frees a slot and then looks for waiters, cannot both miss.
class sender_waitlist {
public:
    /// How many suspended senders to wake when `queued` of `capacity` slots
    /// are taken and `waiting` senders wait. Pure: the policy above.
    [[nodiscard]] static std::size_t wake_count(std::size_t waiting, std::uint32_t queued,
                                                std::uint32_t capacity,
                                                wake_policy policy) noexcept;

    /// True if any sender waits (a seq_cst load; see the class comment).
    [[nodiscard]] bool any() const noexcept {
        return waiters_.load(std::memory_order_seq_cst) != 0;
    }

    /// Blocks the calling thread until `try_push()` returns true (it pushed,
    /// or gave up for good) or `deadline` (real time) passed; then calls
    /// `try_push()` once more. `try_push` runs under the list's lock, between
    /// registration and waiting, so no wake is lost. Returns false on timeout.
    template <class TryPush>
    bool block_until(TryPush try_push, std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        ++blocked_threads_;
        waiters_.fetch_add(1, std::memory_order_seq_cst); // before the retry below
        bool done = false;
        while (!(done = try_push())) {
            if (space_.wait_until(lock, deadline) == std::cv_status::timeout) {
                done = try_push();
                break;
            }
        }
        --blocked_threads_;
        waiters_.fetch_sub(1, std::memory_order_seq_cst);
        return done;
    }

    /// Registers a suspended coroutine sender: `waiter` is woken with
    /// generation `gen`. The caller retries its push after this call.
    void add_suspended(detail::cell_ptr waiter, std::uint64_t gen);

    /// The suspended senders to wake now (FIFO) per the policy; notifies
    /// blocked threads. The caller wakes the returned senders outside any
    /// lock.
    [[nodiscard]] std::vector<std::pair<detail::cell_ptr, std::uint64_t>>
    take_to_wake(std::uint32_t queued, std::uint32_t capacity, wake_policy policy);

private:
    std::atomic<std::uint32_t> waiters_{0}; // registered waiters of both kinds
    std::mutex mutex_;
    std::condition_variable space_;                                     // blocked threads
    std::uint32_t blocked_threads_ = 0;                                 // guarded by mutex_
    std::vector<std::pair<detail::cell_ptr, std::uint64_t>> suspended_; // guarded; FIFO
};

} // namespace troupe::internal
