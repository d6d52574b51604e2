// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/message_interceptor.hpp>
#include <troupe/mailbox/overflow_policy.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

namespace troupe {

/// How an actor's mailbox behaves; chosen at spawn, fixed for its lifetime.
struct spawn_options {
    /// Bound of the user lane, 1 to `mailbox::max_capacity` (2^30). A bound,
    /// not a preallocation: an idle actor costs the same at 16 or 1,000,000.
    std::uint32_t capacity = 1024;
    /// What a send to a full user lane does (see `overflow_policy`).
    overflow_policy policy = overflow_policy::reject;
    /// How long a `block` (or `suspend`, from a plain thread) sender waits.
    duration block_timeout = std::chrono::seconds(1);
    /// Target of `redirect`; must be set for it (and speak the same protocol,
    /// or redirected messages become dead letters).
    actor_addr redirect_to;
    /// Receive exit signals of linked actors in `on_exit` instead of stopping.
    bool trap_exits = false;
    /// Messages one actor may handle per turn before yielding its worker.
    std::uint32_t throughput = 64;
    /// How long the parent's ordered stop waits for this actor before killing
    /// it (exit cause `killed` <- `timeout`). `duration::max()`: wait forever
    /// (infinity); zero: kill at once without `on_stop` (brutal kill).
    duration shutdown_timeout = duration::max();
    /// Optional per-actor interceptor of user messages; null (the default)
    /// costs one test per message.
    std::shared_ptr<message_interceptor> interceptor;
    /// Most messages `actor_base::stash()` keeps at once, 0 (no stash) to
    /// `mailbox::max_capacity`; beyond it `stash()` fails with `stash_full`
    /// and the message becomes a dead letter. A bound, not a preallocation.
    std::uint32_t stash_capacity = 1024;
};

/// Why `opts` cannot spawn an actor (`invalid_argument`), or nothing: a
/// capacity of 0 or above `mailbox::max_capacity`, `redirect` without a
/// target, a negative block timeout, a stash capacity above
/// `mailbox::max_capacity`, or an interceptor whose `check` fails.
/// Every spawn runs it; a refused spawn yields an actor that has terminated
/// with that error (or, for `system::spawn_named`, the error itself).
[[nodiscard]] expected<void> validate(const spawn_options& opts);

} // namespace troupe
