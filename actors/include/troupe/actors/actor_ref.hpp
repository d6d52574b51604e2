// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/ask.hpp>
#include <troupe/actors/detail/message.hpp>
#include <troupe/actors/detail/send_awaiter.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/expected.hpp>

#include <boost/intrusive_ptr.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace troupe {

namespace detail {
/// Trace id for a message sent now: the handler's message's id inside an
/// actor, else a fresh one (thread-local generator, no shared atomics).
std::uint64_t outgoing_trace_id() noexcept;
} // namespace detail

/// A typed, cheap handle to an actor speaking `Protocol`.
///
/// `Protocol` is a message type or a `std::variant` of message types; sending
/// anything else does not compile. A ref is an intrusive pointer: copying is
/// one relaxed increment; comparing and hashing use the actor's identity. It
/// stays valid after the actor stopped: sends then return `receiver_down` and
/// the message becomes a dead letter.
///
/// **Threading:** every member may be called from any thread.
/// **Ordering:** messages from one sender (thread or actor) to one receiver
/// are handled in the order they were sent.
template <class Protocol>
class actor_ref {
public:
    using protocol = Protocol;

    actor_ref() noexcept = default;
    /// @private runtime
    explicit actor_ref(detail::cell_ptr c) noexcept : cell_(std::move(c)) {}

    /// Sends `m`. Returns accepted, or `mailbox_full` / `dropped` /
    /// `would_block` / `timeout` (per the receiver's overflow policy) or
    /// `receiver_down`; `invalid_argument` on an empty ref. Never blocks
    /// except under the receiver's `block` policy from a plain thread.
    /// Deliberately not `[[nodiscard]]`: a tell is fire-and-forget (as in
    /// Akka and Erlang), and a refusal is never silent to the system: the
    /// receiver counts it (`rejected`, or `dropped` / `dead_lettered` with a
    /// dead letter). A sender that must know checks the result, asks, or
    /// uses `co_await send` (see docs/architecture.md).
    template <class M>
    requires protocol_accepts_v<Protocol, M> send_result tell(M&& m)
    const {
        if (!cell_) {
            return fail(errc::invalid_argument, "tell on an empty actor_ref");
        }
        return post(std::forward<M>(m), nullptr, detail::outgoing_trace_id());
    }

    /// Sends `m` and returns a handle to its reply, which arrives before
    /// `timeout` or the handle completes with `timeout` (`duration::max()`:
    /// no deadline). Other outcomes: `mailbox_full` (at once), `dropped`,
    /// `receiver_down` (at once if the receiver has terminated),
    /// `handler_failed`, `cancelled` (the asking actor was cancelled),
    /// `invalid_argument` (an empty ref). From a thread, `get()` blocks;
    /// inside an actor's task, `co_await` it.
    template <class M>
    requires protocol_accepts_v<Protocol, M> && askable<std::remove_cvref_t<M>>
        ask_handle<typename std::remove_cvref_t<M>::reply_type> ask(M&& m, duration timeout)
    const {
        using reply = typename std::remove_cvref_t<M>::reply_type;
        if (!cell_ || cell_->is_terminated()) {
            return detail::failed_ask<reply>(
                cell_ ? error{errc::receiver_down, "the receiver has terminated"}
                      : error{errc::invalid_argument, "ask on an empty actor_ref"});
        }
        auto& sys = cell_->sys();
        boost::intrusive_ptr<detail::ask_state<reply>> state(new detail::ask_state<reply>(&sys),
                                                             false);
        state->arm(timeout);
        state->add_ref();
        // A refusal completes the state with the error.
        (void)post(std::forward<M>(m), state.get(), detail::outgoing_trace_id());
        return ask_handle<reply>(std::move(state));
    }

    /// Asks the actor to stop with `cause` (default: a normal stop); see
    /// `actor_addr::stop`. Fails with `invalid_argument` on an empty ref.
    expected<void> stop(error cause = {}) const { return addr().stop(std::move(cause)); }

    [[nodiscard]] actor_addr addr() const noexcept { return actor_addr(cell_); }
    [[nodiscard]] std::string path() const { return addr().path(); }
    explicit operator bool() const noexcept { return static_cast<bool>(cell_); }
    friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept {
        return a.cell_ == b.cell_;
    }

    /// @private runtime
    [[nodiscard]] detail::cell* cell() const noexcept { return cell_.get(); }
    /// @private routing (pools): user messages queued in the actor's mailbox
    /// or being pushed, a relaxed snapshot that never blocks (0 for an empty
    /// ref). Stale as soon as it is read; good for choosing, not counting.
    [[nodiscard]] std::uint32_t queued_messages() const noexcept {
        return cell_ ? cell_->box().size() : 0;
    }
    /// @private runtime: sends `m` on a non-empty ref, carrying `trace` and
    /// `reply` (an owned reference to the ask's state, or null for a tell;
    /// a refusal fails it).
    template <class M>
    send_result post(M&& m, detail::ask_state_base* reply, std::uint64_t trace) const {
        auto* e = new detail::user_envelope<Protocol>(std::forward<M>(m));
        e->trace_id = trace;
        e->reply = reply;
        return cell_->enqueue_user(e);
    }

    /// @private runtime (net's inbound path), on a non-empty ref: asks with
    /// `m` (carrying `trace`, deadline `timeout`) if the mailbox has room
    /// now, without applying the overflow policy and never blocking. False
    /// when it is full: nothing was sent (`m` is consumed) and `done` never
    /// runs. Else true, and the outcome goes to `done`
    /// (`ask_handle::on_complete`), `receiver_down` included.
    template <class M, class F>
    requires protocol_accepts_v<Protocol, M> && askable<std::remove_cvref_t<M>>
    bool ask_if_room(M&& m, duration timeout, std::uint64_t trace, F&& done) const {
        using reply = typename std::remove_cvref_t<M>::reply_type;
        boost::intrusive_ptr<detail::ask_state<reply>> state(
            new detail::ask_state<reply>(&cell_->sys()), false);
        state->arm(timeout);
        auto* e = new detail::user_envelope<Protocol>(std::forward<M>(m));
        e->trace_id = trace;
        state->add_ref();
        e->reply = state.get(); // the envelope's reference
        send_result sent;
        if (!cell_->try_send(e, sent)) {
            // Never shared and nobody waits on it: failing it only disarms its deadline.
            (void)state->fail(error{errc::cancelled, "not sent: the mailbox is full"});
            delete e;
            return false;
        }
        ask_handle<reply>(std::move(state)).on_complete(std::forward<F>(done));
        return true;
    }
    /// @private runtime (net's inbound path), on a non-empty ref: as
    /// `ask_if_room`, sent as `co_await self.send(...)` sends a tell: the
    /// returned awaiter applies the receiver's overflow policy (`block` and
    /// `suspend` suspend the awaiting actor until there is room, but not past
    /// the ask's `timeout`: then it is not sent, and both the ask and the
    /// send fail with `timeout`). Every outcome, a refusal included, goes to `done`.
    template <class M, class F>
    requires protocol_accepts_v<Protocol, M> && askable<std::remove_cvref_t<M>> detail::send_awaiter
    ask_awaiting_room(M&& m, duration timeout, std::uint64_t trace, F&& done)
    const {
        using reply = typename std::remove_cvref_t<M>::reply_type;
        boost::intrusive_ptr<detail::ask_state<reply>> state(
            new detail::ask_state<reply>(&cell_->sys()), false);
        state->arm(timeout);
        // The envelope first: once `done` is registered, nothing may throw
        // before the awaiter owns the envelope (a refusal fails it: `done` runs).
        std::unique_ptr<detail::user_envelope<Protocol>> e(
            new detail::user_envelope<Protocol>(std::forward<M>(m)));
        e->trace_id = trace;
        state->add_ref();
        e->reply = state.get(); // the envelope's reference
        ask_handle<reply>(std::move(state)).on_complete(std::forward<F>(done));
        return detail::send_awaiter(cell_.get(), e.release(),
                                    saturating_add(cell_->sys().clk().now(), timeout));
    }
    /// @private runtime (net's inbound path), on a non-empty ref: queues `m`
    /// (carrying `trace`) if the mailbox has room now, without applying the overflow policy:
    /// nullopt when it is full (`m` is consumed either way), else the
    /// outcome (accepted, or `receiver_down`).
    template <class M>
    requires protocol_accepts_v<Protocol, M> std::optional<send_result>
    post_if_room(M&& m, std::uint64_t trace)
    const {
        auto* e = new detail::user_envelope<Protocol>(std::forward<M>(m));
        e->trace_id = trace;
        send_result result;
        if (!cell_->try_send(e, result)) {
            delete e;
            return std::nullopt;
        }
        return result;
    }

private:
    detail::cell_ptr cell_;
};

} // namespace troupe

template <class P>
struct std::hash<troupe::actor_ref<P>> {
    std::size_t operator()(const troupe::actor_ref<P>& r) const noexcept {
        return std::hash<const void*>{}(r.cell());
    }
};
