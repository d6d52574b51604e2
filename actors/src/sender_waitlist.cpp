// Part of troupe. See LICENSE at the repository root.

#include "sender_waitlist.hpp"

#include <troupe/actors/detail/cell.hpp>

#include <algorithm>
#include <iterator>

namespace troupe::internal {

std::size_t sender_waitlist::wake_count(std::size_t waiting, std::uint32_t queued,
                                        std::uint32_t capacity, wake_policy policy) noexcept {
    if (policy == wake_policy::all) {
        return waiting;
    }
    if (queued > capacity / 2) {
        return 0; // hysteresis: wake in batches, not one per freed slot
    }
    const std::size_t share = std::max<std::uint32_t>(1, (capacity - queued) / 32);
    return std::min(waiting, share);
}

void sender_waitlist::add_suspended(detail::cell_ptr waiter, std::uint64_t gen) {
    {
        std::lock_guard lock(mutex_);
        suspended_.emplace_back(std::move(waiter), gen);
    }
    waiters_.fetch_add(1, std::memory_order_seq_cst); // before the caller's retry
}

std::vector<std::pair<detail::cell_ptr, std::uint64_t>>
sender_waitlist::take_to_wake(std::uint32_t queued, std::uint32_t capacity, wake_policy policy) {
    std::vector<std::pair<detail::cell_ptr, std::uint64_t>> woken;
    {
        std::lock_guard lock(mutex_);
        const std::size_t n = wake_count(suspended_.size(), queued, capacity, policy);
        if (n == 0 && policy != wake_policy::all) {
            return woken;
        }
        const auto end = suspended_.begin() + static_cast<std::ptrdiff_t>(n);
        woken.assign(std::make_move_iterator(suspended_.begin()), std::make_move_iterator(end));
        suspended_.erase(suspended_.begin(), end);
        if (blocked_threads_ != 0) {
            space_.notify_all();
        }
    }
    if (!woken.empty()) {
        waiters_.fetch_sub(static_cast<std::uint32_t>(woken.size()), std::memory_order_seq_cst);
    }
    return woken;
}

} // namespace troupe::internal
