// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/error.hpp>

#include <atomic>
#include <cstdint>

namespace troupe::internal {

/// The error an exception in flight stands for (call inside a catch block):
/// its type and `what()`, for `std::exception`s.
[[nodiscard]] error error_from_current_exception();

/// The error a sender's message completes with when it becomes a dead letter.
[[nodiscard]] errc errc_of(dead_letter_reason r) noexcept;

inline void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed); // statistic
}

/// `mailbox_node::owner_flags` of a user message handed back by an
/// interceptor (`held_message::redeliver`): it is not intercepted again.
constexpr std::uint8_t redelivered_flag = 1;

} // namespace troupe::internal
