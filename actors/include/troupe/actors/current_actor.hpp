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
/// The trace id a message sent from here now carries: the innermost live
/// `trace_scope` of this thread; else inside a handler the trace of the
/// message being handled, elsewhere a fresh one.
[[nodiscard]] std::uint64_t outgoing_trace_id() noexcept;

/// While alive, every message sent from this thread carries trace id `id`
/// (0: no effect), inside a handler or not: for code that continues a trace
/// begun elsewhere (a request from outside, a message from another node).
/// Scopes nest; each restores the one before. **Threading:** this thread
/// only; destroy in reverse order of creation (it is not movable).
class trace_scope {
public:
    explicit trace_scope(std::uint64_t id) noexcept;
    trace_scope(const trace_scope&) = delete;
    trace_scope& operator=(const trace_scope&) = delete;
    ~trace_scope();

private:
    std::uint64_t previous_;
};

} // namespace troupe
