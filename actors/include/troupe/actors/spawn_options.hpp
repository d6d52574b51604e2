// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/mailbox/overflow_policy.hpp>

#include <chrono>
#include <cstdint>

namespace troupe {

/// How an actor's mailbox behaves; chosen at spawn, fixed for its lifetime.
struct spawn_options {
    /// Bound of the user lane. A bound, not a preallocation: an idle actor
    /// costs the same at 16 or 1,000,000.
    std::uint32_t capacity = 1024;
    /// What a send to a full user lane does (see `overflow_policy`).
    overflow_policy policy = overflow_policy::reject;
    /// How long a `block` (or `suspend`, from a plain thread) sender waits.
    duration block_timeout = std::chrono::seconds(1);
    /// Target of `redirect`; must be set (and of the same protocol) for it.
    actor_addr redirect_to;
    /// Receive exit signals of linked actors in `on_exit` instead of stopping.
    bool trap_exits = false;
    /// Messages one actor may handle per turn before yielding its worker.
    std::uint32_t throughput = 64;
};

} // namespace troupe
