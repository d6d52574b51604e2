// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>

#include <cstdint>
#include <random>

namespace troupe {

/// Delay before restarting a failed child. The k-th consecutive failure of a
/// child (k = 0, 1, ...) waits `min * multiplier^k`, capped at `max`, then
/// scaled by a random factor in [1 - jitter, 1 + jitter] (seeded) and capped
/// at `max` again. The count resets when the child has not failed for
/// `reset_after`. `min == 0` (the default) disables backoff: restarts are
/// immediate. While a child waits, it stays failed: messages sent to it wait
/// in its mailbox (bounded by its capacity and overflow policy).
struct backoff_policy {
    duration min = duration::zero();
    duration max = std::chrono::seconds(30);
    double multiplier = 2.0;
    double jitter = 0.0; ///< 0..1
    duration reset_after = std::chrono::seconds(60);

    /// The delay for the `k`-th consecutive failure.
    [[nodiscard]] duration delay(std::uint32_t k, std::mt19937_64& rng) const;
};

} // namespace troupe
