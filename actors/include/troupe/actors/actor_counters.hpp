// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>

namespace troupe {

/// Per-actor message accounting (`system::counters`). In every snapshot,
/// not only at quiescent points, for every actor:
///
///     sent = processed + rejected + dropped + redirected + dead_lettered + queued + in_flight
///
/// - `sent`: user messages sent to it (tells, asks, timer tells,
///   redirected-in messages, `co_await send`), counted when their push is
///   attempted. A sender blocked or suspended on a full mailbox (policies
///   `block`, `suspend`) holds its message outside the count until a push
///   succeeds or it gives up (then: rejected).
/// - `processed`: handlers that returned (a coroutine handler: that
///   finished).
/// - `rejected`: handed back to their sender with an error (`mailbox_full`,
///   `would_block`, `timeout`, `cancelled`).
/// - `dropped`: dead letters of the overflow policy (`dropped_newest`,
///   `dropped_oldest`, `redirect_failed`) or of an interceptor
///   (`injected_drop`).
/// - `redirected`: passed to the redirect target (counted in its `sent`).
/// - `dead_lettered`: arrived after, or were still queued or in flight at,
///   its termination or a restart (`receiver_down`), or their handler
///   failed (`handler_failed`), or were stashed while the stash was full
///   (`stash_full`).
/// - `in_flight`: taken from the mailbox, handler not finished yet (0 or 1:
///   one message at a time; a coroutine handler counts until it finishes).
/// - `queued`: the rest: in the mailbox, being pushed right now, held by
///   an interceptor (fault injection's delay and reorder), or in the stash
///   (`actor_base::stash`; also those unstashed and not yet handled).
///
/// **Consistency:** a snapshot taken while messages flow satisfies the
/// identity exactly: every message is counted once. Usually (when no
/// message moved while it read `sent`; it tries 16 times) every value is
/// the one of a single instant; otherwise messages that moved meanwhile
/// count as `queued`, so under heavy traffic `queued` may read above the
/// capacity. At quiescent points `queued` is the mailbox's depth. How
/// (reading order, memory ordering): `detail::cell::counters`.
struct actor_counters {
    std::uint64_t sent = 0;
    std::uint64_t processed = 0;
    std::uint64_t rejected = 0;
    std::uint64_t dropped = 0;
    std::uint64_t redirected = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t queued = 0;
    std::uint64_t in_flight = 0;
    /// Every bucket but `sent`; equal to `sent` in every snapshot.
    [[nodiscard]] std::uint64_t accounted() const noexcept {
        return processed + rejected + dropped + redirected + dead_lettered + queued + in_flight;
    }
};

} // namespace troupe
