// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/pool.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/mailbox/mailbox.hpp>

#include <boost/intrusive_ptr.hpp>

#include <cstdint>
#include <functional>
#include <string_view>

namespace troupe::detail {

class cell;
using cell_ptr = boost::intrusive_ptr<cell>;
void intrusive_ptr_add_ref(cell* c) noexcept;
void intrusive_ptr_release(cell* c) noexcept;

/// Base of every message in a mailbox. Owned by exactly one party from send
/// until its handler returns (a `std::unique_ptr`-like hand-over by raw pointer
/// through the intrusive mailbox).
struct envelope : mailbox_node, pooled {
    envelope() = default;
    envelope(const envelope&) = delete;
    envelope& operator=(const envelope&) = delete;
    virtual ~envelope() = default;
    /// Name of the payload type, for dead letters.
    [[nodiscard]] virtual std::string_view type_name() const noexcept = 0;
    /// Called once when the message will never be handled, with the reason;
    /// an ask envelope completes its requester with that error.
    virtual void fail(const error& /*why*/) noexcept {}

    std::uint64_t trace_id = 0; // propagated from the sending handler's message
};

/// Who asked an actor to stop: a stop its parent did not ask for may be a
/// failure the parent rules on (see the lifecycle table in cell.hpp).
enum class stop_origin : std::uint8_t {
    parent, ///< the parent's ordered stop, or a supervisor's decision
    self,   ///< the actor's own `stop()`
    other,  ///< anyone else: a ref's `stop()`, a linked exit, the system
};

/// Control messages of the system lane (the lifecycle table in cell.hpp says
/// what each does in each state).
enum class sys_kind : std::uint8_t {
    stop,          ///< cause, origin: stop children (newest first), then self
    kill,          ///< cause: terminate at once, without on_stop
    cancel,        ///< cause: signal the token, cancel a pending await, pass on
    restart,       ///< cause: tear the behaviour down in place, build it again
    halt,          ///< cause, brutal: tear down in place, wait for `start`
    start,         ///< build the behaviour again after a halt
    resume,        ///< go on after a failure, behaviour kept
    child_failed,  ///< other = child, cause = failure (or supervised exit)
    child_exited,  ///< other = child, cause = exit cause
    child_halted,  ///< other = child: torn down for a group restart
    child_started, ///< other = child: started again in a group restart
    monitor,       ///< other = watcher (or callback set): watch this actor
    demonitor,     ///< other = watcher
    down,          ///< other = dead actor, cause = its exit cause
    link,          ///< other = peer
    unlink,        ///< other = peer
    exit_signal,   ///< other = linked peer that exited, cause
    wake,          ///< generation: a pending await completed; resume the coroutine
    idle_timeout,  ///< generation: the idle timer fired
    call,          ///< run `callback` on the actor's turn (runtime-internal)
    continuation,  ///< generation, slot = ticket: an ask with a `then` completed; run it
};

/// A system-lane message. Rare, so one shape for all kinds.
struct system_envelope final : envelope {
    explicit system_envelope(sys_kind k, error c = {}, cell_ptr o = {}) noexcept
        : kind(k), cause(std::move(c)), other(std::move(o)) {
        lane_kind = lane::system;
    }
    [[nodiscard]] std::string_view type_name() const noexcept override;

    sys_kind kind;
    stop_origin origin = stop_origin::other; // stop only
    bool brutal = false;                     // halt only: no on_stop
    error cause;
    cell_ptr other;
    std::uint64_t generation = 0;
    std::uint32_t slot = 0; // continuation only: the ticket's slot (its seq is `generation`)
    // sys_kind::call: run on the actor's turn (with an empty error);
    // sys_kind::monitor by a non-actor: the exit observer, given the cause.
    std::function<void(const error&)> callback;
};

} // namespace troupe::detail
