// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>

#include <boost/intrusive_ptr.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace troupe {

/// The reply channel of one ask, for a handler that answers later (a
/// deferred reply, Erlang's `{noreply, ...}` then `gen_server:reply`).
///
/// A handler receives it by taking it as a second parameter:
///
///     void on(get& m, response_promise<get::reply_type> reply) {
///         (void)store_.ask(load{m.key}, std::chrono::seconds(1))
///             .then([reply = std::move(reply)](expected<int> v) mutable {
///                 (void)reply.complete(std::move(v));
///             });
///     }
///
/// The promise answers once: `reply(v)`, `fail(e)`, `complete(expected)`, or
/// `forward(to, m)`, which hands the ask (its deadline, trace id and reply
/// channel) to another actor whose handler then answers the original asker.
/// Using it again is refused with `already_replied`. Dropping it unanswered
/// fails the asker with `broken_promise` (if the handler throws before it
/// answers, the asker gets `handler_failed` with the exception's message).
/// For a message that was told, not asked, nobody waits: answering succeeds
/// and does nothing, `forward` tells.
///
/// **Threading:** move-only, one owner at a time; answer from the handler, a
/// later turn or any other thread. The first completion of the ask wins: a
/// reply after the ask's deadline (or the asker's cancellation) is refused
/// with that outcome, counted as a late reply and dead-lettered.
template <class R>
class response_promise {
public:
    using reply_type = R;

    /// An empty promise: answered already, nobody waits.
    response_promise() noexcept = default;
    /// @private runtime: `state` is the ask's state (null for a tell).
    response_promise(boost::intrusive_ptr<detail::ask_state<R>> state, std::uint64_t trace) noexcept
        : state_(std::move(state)), trace_(trace), answered_(false) {}
    response_promise(const response_promise&) = delete;
    response_promise& operator=(const response_promise&) = delete;
    response_promise(response_promise&& other) noexcept
        : state_(std::move(other.state_)), trace_(other.trace_),
          answered_(std::exchange(other.answered_, true)) {}
    response_promise& operator=(response_promise&& other) noexcept {
        if (this != &other) {
            break_if_unanswered();
            state_ = std::move(other.state_);
            trace_ = other.trace_;
            answered_ = std::exchange(other.answered_, true);
        }
        return *this;
    }
    ~response_promise() { break_if_unanswered(); }

    /// True until the promise is used (or moved from).
    [[nodiscard]] bool pending() const noexcept { return !answered_; }
    /// True if an asker waits for the answer (false for a told message).
    [[nodiscard]] bool has_asker() const noexcept { return state_ != nullptr; }
    /// When the asker stops waiting, on the clock of the asker's system
    /// (`time_point::max()`: no deadline, or a told message). A promise
    /// handed on (a remote node's proxy) can pass the time left along.
    [[nodiscard]] time_point deadline() const noexcept {
        return state_ ? state_->deadline() : time_point::max();
    }
    /// Trace id of the message this promise answers.
    [[nodiscard]] std::uint64_t trace_id() const noexcept { return trace_; }

    /// Answers with `value` (for `R = void`: `reply()`).
    template <class V = R>
    requires(!std::is_void_v<R> && std::is_convertible_v<V&&, R>) expected<void> reply(V&& value) {
        return finish(
            [&](detail::ask_state<R>& s) { return s.set_value(R(std::forward<V>(value))); });
    }
    expected<void> reply() requires std::is_void_v<R> {
        return finish([](detail::ask_state<R>& s) { return s.set_value(); });
    }
    /// Fails the ask: the asker receives `e`.
    expected<void> fail(error e) {
        return finish([&](detail::ask_state<R>& s) { return s.fail(std::move(e)); });
    }
    /// Answers with `outcome`: its value, or its error.
    expected<void> complete(expected<R> outcome) {
        if (!outcome) {
            return fail(std::move(outcome).error());
        }
        if constexpr (std::is_void_v<R>) {
            return reply();
        } else {
            return reply(std::move(*outcome));
        }
    }

    /// Hands the ask to `to` with message `m`, whose reply type must be `R`:
    /// `to`'s handler answers the original asker directly, within the
    /// original deadline and under the original trace id. Returns the send
    /// result; a refusal fails the ask with the same error.
    template <class P, class M>
    requires protocol_accepts_v<P, M> && askable<std::remove_cvref_t<M>> &&
        std::is_same_v<typename std::remove_cvref_t<M>::reply_type, R>
            send_result forward(const actor_ref<P>& to, M&& m) {
        if (answered_) {
            return troupe::unexpected(
                error{errc::already_replied, "this promise was used already"});
        }
        answered_ = true;
        if (!to) {
            error e{errc::invalid_argument, "forward to an empty actor_ref"};
            if (state_) {
                state_->fail(e);
                state_.reset();
            }
            return troupe::unexpected(std::move(e));
        }
        return to.post(std::forward<M>(m), state_.detach(), trace_);
    }

private:
    template <class Complete>
    expected<void> finish(Complete&& complete) {
        if (answered_) {
            return troupe::unexpected(
                error{errc::already_replied, "this promise was used already"});
        }
        answered_ = true;
        if (!state_) {
            return {}; // a told message: nobody waits for the answer
        }
        auto state = std::move(state_);
        if (!complete(*state)) {
            if (!state->failed()) {
                return troupe::unexpected(error{errc::already_replied, "the ask was answered"});
            }
            // The ask completed first (deadline, cancellation): say how.
            return troupe::unexpected(error{state->failure().code(),
                                            "the ask had completed before this answer",
                                            state->failure()});
        }
        return {};
    }
    void break_if_unanswered() noexcept {
        if (!answered_ && state_ && state_->drop_unanswered()) {
            state_->fail(
                error{errc::broken_promise, "the response promise was dropped unanswered"});
        }
        state_.reset();
        answered_ = true;
    }

    boost::intrusive_ptr<detail::ask_state<R>> state_;
    std::uint64_t trace_ = 0;
    bool answered_ = true;
};

} // namespace troupe
