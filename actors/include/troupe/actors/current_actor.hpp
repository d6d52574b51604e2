// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>

#include <cstdint>

namespace troupe {

/// True on a thread of a system's scheduler or clock, where blocking waits
/// are refused (`would_block`): they would hold a thread the actors need.
[[nodiscard]] bool on_scheduler_worker() noexcept;
/// The actor whose handler runs on this thread; empty outside handlers.
[[nodiscard]] actor_addr current_actor();
/// Its id (0 outside handlers); cheaper than `current_actor().id()`.
[[nodiscard]] std::uint64_t current_actor_id() noexcept;
/// The trace id a message sent from here now carries: inside a handler the
/// trace of the message being handled, elsewhere a fresh one.
[[nodiscard]] std::uint64_t outgoing_trace_id() noexcept;

} // namespace troupe
