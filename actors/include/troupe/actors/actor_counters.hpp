// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>

namespace troupe {

/// Per-actor message accounting. At any quiescent point, for every actor:
///
///     sent = processed + rejected + dropped + redirected + dead_lettered + queued
///
/// where `sent` counts every user-message send attempt to it (tells, asks,
/// timer tells, redirected-in messages). `rejected` were handed back to their
/// sender with an error (`mailbox_full`, `would_block`, `timeout`);
/// `dropped` went to dead letters by the overflow policy (`dropped_newest`,
/// `dropped_oldest`); `dead_lettered` arrived after, or were still queued at,
/// its termination (`receiver_down`), or had a failing handler
/// (`handler_failed`), or were stashed while its stash was full
/// (`stash_full`); `redirected` were passed to the redirect target.
/// `queued` includes the messages in its stash (`actor_base::stash`), and
/// those unstashed but not yet handled: a stashed message is still waiting.
struct actor_counters {
    std::uint64_t processed = 0;
    std::uint64_t rejected = 0;
    std::uint64_t dropped = 0;
    std::uint64_t redirected = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t queued = 0;
    [[nodiscard]] std::uint64_t accounted() const noexcept {
        return processed + rejected + dropped + redirected + dead_lettered + queued;
    }
};

} // namespace troupe
