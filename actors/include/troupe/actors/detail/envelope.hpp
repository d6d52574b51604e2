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

/// Control messages of the system lane.
enum class sys_kind : std::uint8_t {
    stop,         ///< cause: stop children (reverse order), then self
    cancel,       ///< cause: signal the token, cancel a pending await, pass on to children
    kill,         ///< cause: terminate without on_stop
    child_failed, ///< other = child, cause = failure; the child is suspended
    child_exited, ///< other = child, cause = exit cause
    restart,      ///< from the parent: rebuild the behaviour, keep the mailbox
    resume,       ///< from the parent: continue after a failure without restarting
    monitor,      ///< other = watcher (or callback set), add to the watch list
    demonitor,    ///< other = watcher
    down,         ///< other = dead actor, cause = its exit cause
    link,         ///< other = peer
    unlink,       ///< other = peer
    exit_signal,  ///< other = linked peer that exited, cause
    wake,         ///< generation: a pending await completed; resume the coroutine
    idle_timeout, ///< generation: the idle timer fired
    call,         ///< run `fn` on the actor's turn (runtime-internal)
};

/// A system-lane message. Rare, so one shape for all kinds.
struct system_envelope final : envelope {
    system_envelope(sys_kind k, error c = {}, cell_ptr o = {}) noexcept
        : kind(k), cause(std::move(c)), other(std::move(o)) {
        lane_kind = lane::system;
    }
    [[nodiscard]] std::string_view type_name() const noexcept override;

    sys_kind kind;
    error cause;
    cell_ptr other;
    std::uint64_t generation = 0;
    // sys_kind::call: run on the actor's turn (with an empty error);
    // sys_kind::monitor by a non-actor: the exit observer, given the cause.
    std::function<void(const error&)> callback;
};

} // namespace troupe::detail
