// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/detail/awaitable.hpp>
#include <troupe/actors/expected.hpp>

#include <boost/intrusive_ptr.hpp>

#include <coroutine>
#include <optional>

namespace troupe {

/// The pending reply of an `ask`. Completes exactly once: with the reply, or
/// with an error (`timeout`, `mailbox_full`, `dropped`, `receiver_down`,
/// `handler_failed`, `cancelled`). A reply that arrives after completion is
/// discarded, counted (`system::late_replies()`) and dead-lettered.
///
/// **Threading:** `get`/`wait_for` block the calling thread and are refused
/// (`would_block`) on a scheduler worker; inside an actor's task, `co_await`
/// the handle instead, which suspends the actor (not the worker).
template <class R>
class ask_handle {
public:
    /// @private runtime
    explicit ask_handle(boost::intrusive_ptr<detail::ask_state<R>> s) noexcept
        : state_(std::move(s)) {}

    /// True once the outcome is known.
    [[nodiscard]] bool ready() const { return state_->ready(); }
    /// Waits up to `d` for the outcome; true if it is known.
    bool wait_for(duration d) const {
        return state_->wait_until(std::chrono::steady_clock::now() + d);
    }
    /// Waits for the outcome (bounded by the ask's deadline) and returns it.
    /// The outcome can be taken once.
    expected<R> get() {
        if (detail::this_thread_context().worker != nullptr) {
            return fail(errc::would_block, "ask_handle::get on a scheduler worker; co_await it");
        }
        state_->wait();
        return state_->take();
    }
    /// The outcome if ready (taken once), else nullopt.
    std::optional<expected<R>> try_get() {
        if (!state_->ready()) {
            return std::nullopt;
        }
        return state_->take();
    }

    // NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
    struct awaiter final : detail::awaitable_tag, detail::awaiter_base {
        explicit awaiter(boost::intrusive_ptr<detail::ask_state<R>> s) : state(std::move(s)) {}
        bool await_ready() const { return state->ready(); }
        bool await_suspend(std::coroutine_handle<> h) {
            auto* self = detail::this_thread_context().current;
            continuation = h;
            if (self->is_cancelled()) {
                state->fail(error{errc::cancelled, "asking actor cancelled", self->stop_cause()});
                return false;
            }
            std::uint64_t gen = self->set_awaiter(this);
            if (!state->set_waiter(self, gen)) {
                self->set_awaiter(nullptr);
                return false;
            }
            return true;
        }
        expected<R> await_resume() { return state->take(); }
        void on_wake() override { resume(); }
        void on_cancel(const error& cause) override {
            state->fail(error{errc::cancelled, "asking actor cancelled", cause});
            resume();
        }
        void resume() { continuation.resume(); }

        boost::intrusive_ptr<detail::ask_state<R>> state;
        std::coroutine_handle<> continuation;
    };
    /// Suspends the calling actor's task until the outcome is known.
    awaiter operator co_await() && { return awaiter(std::move(state_)); }
    awaiter operator co_await() & { return awaiter(state_); }

private:
    boost::intrusive_ptr<detail::ask_state<R>> state_;
};

} // namespace troupe
