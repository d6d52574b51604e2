// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/detail/awaitable.hpp>
#include <troupe/actors/detail/unique_function.hpp>
#include <troupe/actors/expected.hpp>

#include <boost/intrusive_ptr.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

/// The pending reply of an `ask`. Completes exactly once: with the reply, or
/// with an error (`timeout`, `mailbox_full`, `dropped`, `receiver_down`,
/// `handler_failed`, `cancelled`). A reply that arrives after completion is
/// discarded, counted (`system::late_replies()`) and dead-lettered.
///
/// **Threading:** `get`/`wait_for` block the calling thread; inside an
/// actor's turn or on a scheduler worker they do not (`get` fails with
/// `would_block`, `wait_for` returns at once). Inside an actor, `co_await` the handle (which
/// suspends the actor's task: it handles no other message meanwhile, but its worker moves on) or
/// use `then` (which does not suspend the actor at all).
template <class R>
class ask_handle {
public:
    /// @private runtime
    explicit ask_handle(boost::intrusive_ptr<detail::ask_state<R>> s) noexcept
        : state_(std::move(s)) {}

    /// True once the outcome is known.
    [[nodiscard]] bool ready() const { return state_->ready(); }
    /// Waits up to `d` for the outcome; true if it is known. Inside an actor
    /// or on a scheduler worker it does not wait (that would stall the
    /// actors): it returns `ready()`.
    bool wait_for(duration d) const {
        if (detail::blocking_would_stall()) {
            return state_->ready();
        }
        return state_->wait_until(saturating_add(std::chrono::steady_clock::now(), d));
    }
    /// Waits for the outcome (bounded by the ask's deadline) and returns it.
    /// The outcome can be taken once.
    expected<R> get() {
        if (detail::blocking_would_stall()) {
            return fail(errc::would_block,
                        "ask_handle::get inside an actor; co_await it or use then");
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

    /// Inside an actor's turn: runs `f(outcome)` on this actor's turn once
    /// the outcome is known, *without* suspending the actor: its mailbox
    /// keeps flowing meanwhile, and its state stays single-threaded. `f`
    /// never runs inside `then`, runs under the trace id of the message that
    /// asked, and may throw (the actor fails, as from a handler). It is
    /// dropped, without running, if the asker restarts or terminates first.
    /// Takes the outcome (`get` afterwards finds it taken). Fails with
    /// `invalid_argument` outside an actor's turn (use `get` there).
    template <class F>
    requires std::is_invocable_v < std::decay_t<F>
    &, expected < R >> expected<void> then(F&& f) {
        detail::cell* self = detail::this_thread_context().current;
        if (self == nullptr) {
            return fail(errc::invalid_argument, "ask_handle::then outside an actor's turn");
        }
        const std::uint64_t trace = detail::this_thread_context().trace;
        const detail::continuation_ticket ticket = self->add_continuation(detail::unique_function(
            [state = state_, trace, fn = std::decay_t<F>(std::forward<F>(f))]() mutable {
                detail::this_thread_context().trace = trace;
                fn(state->take());
            }));
        if (!state_->set_waiter(self, ticket)) {
            self->post_continuation(ticket); // known already: it still runs on a later turn
        }
        return {};
    }
    /// As `then(f)`, split: `on_reply(value)` (`on_reply()` for `R = void`)
    /// or `on_error(error)`.
    template <class F, class G>
    requires std::is_invocable_v < std::decay_t<G>
    &, error > expected<void> then(F&& on_reply, G&& on_error) {
        return then([ok = std::decay_t<F>(std::forward<F>(on_reply)),
                     err = std::decay_t<G>(std::forward<G>(on_error))](expected<R> r) mutable {
            if (!r) {
                err(std::move(r).error());
            } else if constexpr (std::is_void_v<R>) {
                ok();
            } else {
                ok(std::move(*r));
            }
        });
    }

    /// From anywhere (an actor, a plain thread, another event loop): runs
    /// `f(outcome)` once the outcome is known, on the thread that makes it
    /// known (the replier's turn, the deadline timer's thread, a thread
    /// that cancels), or here and now if it is known already. Nothing is
    /// waited for and no actor's turn is taken: `f` must be short, must
    /// not block, and must be `noexcept` (it runs inside other code's
    /// turn). Takes the handle (its outcome goes to `f`).
    template <class F>
    requires std::is_nothrow_invocable_v < std::decay_t<F>
    &, expected < R >> void on_complete(F&& f) && {
        struct run_f final : detail::ask_callback {
            explicit run_f(F&& g) : fn(std::forward<F>(g)) {}
            void run(detail::ask_state_base& s) noexcept override {
                fn(static_cast<detail::ask_state<R>&>(s).take());
            }
            std::decay_t<F> fn;
        };
        auto state = std::move(state_);
        state->set_callback(std::make_unique<run_f>(std::forward<F>(f)));
    }

    /// @private runtime
    [[nodiscard]] detail::ask_state<R>& state() const noexcept { return *state_; }

private:
    boost::intrusive_ptr<detail::ask_state<R>> state_;
};

namespace detail {

/// An ask that failed before reaching anyone (an empty or dead receiver):
/// completed at once with `why`, without touching any system's clock, which
/// may be gone with its system.
template <class R>
ask_handle<R> failed_ask(error why) {
    boost::intrusive_ptr<ask_state<R>> failed(new ask_state<R>(nullptr), false);
    failed->fail(why);
    return ask_handle<R>(std::move(failed));
}

/// Waits, inside an actor's task, for all or for the first of several asks
/// (`when_all`, `when_any`). Waiting for all registers on one pending ask at
/// a time, moving on as each completes: O(n) registrations in all.
class ask_join : public awaitable_tag, public awaiter_base {
public:
    // Movable because `co_await f()` may move the awaitable before waiting;
    // the states are heap objects, so the borrowed pointers stay valid.
    ask_join(ask_join&&) noexcept = default;
    ask_join& operator=(ask_join&&) noexcept = default;
    ask_join(const ask_join&) = delete;
    ask_join& operator=(const ask_join&) = delete;

    [[nodiscard]] bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    void on_wake() override;
    void on_cancel(const error& cause) override;

protected:
    enum class wait_for : std::uint8_t { all, first };
    ask_join(wait_for w, std::vector<ask_state_base*> states) noexcept
        : wait_for_(w), states_(std::move(states)) {}
    ~ask_join() = default;
    /// Index of the first completed ask (`states_.size()` if none is).
    [[nodiscard]] std::size_t first_ready() const noexcept;

private:
    bool register_wait(); // false: nothing left to wait for
    void cancel_pending(const error& cause) noexcept;

    wait_for wait_for_;
    std::vector<ask_state_base*> states_; // borrowed from the derived class's handles
    std::size_t next_ = 0;                // all: asks before it have completed
    cell* self_ = nullptr;
    std::coroutine_handle<> continuation_;
};

template <class R>
std::vector<ask_state_base*> states_of(std::vector<ask_handle<R>>& handles) {
    std::vector<ask_state_base*> states;
    states.reserve(handles.size());
    for (auto& h : handles) {
        states.push_back(&h.state());
    }
    return states;
}

template <class R>
class all_of_vector final : public ask_join {
public:
    explicit all_of_vector(std::vector<ask_handle<R>> h)
        : ask_join(wait_for::all, states_of(h)), handles_(std::move(h)) {}
    std::vector<expected<R>> await_resume() {
        std::vector<expected<R>> out;
        out.reserve(handles_.size());
        for (auto& h : handles_) {
            out.push_back(h.state().take());
        }
        return out;
    }

private:
    std::vector<ask_handle<R>> handles_;
};

template <class... Rs>
class all_of_tuple final : public ask_join {
public:
    explicit all_of_tuple(ask_handle<Rs>... h)
        : ask_join(wait_for::all, {&h.state()...}), handles_(std::move(h)...) {}
    std::tuple<expected<Rs>...> await_resume() {
        return std::apply(
            [](auto&... h) { return std::tuple<expected<Rs>...>(h.state().take()...); }, handles_);
    }

private:
    std::tuple<ask_handle<Rs>...> handles_;
};

} // namespace detail

/// The first ask of a `when_any` to complete: its index and its outcome.
template <class R>
struct first_outcome {
    std::size_t index;
    expected<R> outcome;
};

namespace detail {
template <class R>
class first_of_vector final : public ask_join {
public:
    explicit first_of_vector(std::vector<ask_handle<R>> h)
        : ask_join(wait_for::first, states_of(h)), handles_(std::move(h)) {}
    first_outcome<R> await_resume() {
        const std::size_t i = first_ready();
        if (i == handles_.size()) {
            return {i, troupe::unexpected(error{errc::invalid_argument, "when_any of no asks"})};
        }
        return {i, handles_[i].state().take()};
    }

private:
    std::vector<ask_handle<R>> handles_;
};
} // namespace detail

/// `co_await when_all(handles)`, in an actor's task: suspends the actor
/// until every ask has completed; their outcomes, in order. The asks run
/// concurrently (they were sent when made), so this waits for the slowest.
/// If the actor is cancelled meanwhile, the pending ones fail `cancelled`.
template <class R>
[[nodiscard]] detail::all_of_vector<R> when_all(std::vector<ask_handle<R>> handles) {
    return detail::all_of_vector<R>(std::move(handles));
}
/// As above for asks of different reply types: a tuple of outcomes.
template <class... Rs>
[[nodiscard]] detail::all_of_tuple<Rs...> when_all(ask_handle<Rs>... handles) {
    return detail::all_of_tuple<Rs...>(std::move(handles)...);
}
/// `co_await when_any(handles)`, in an actor's task: suspends the actor
/// until the first ask completes; its index and outcome (the others go on,
/// their outcomes are discarded). No asks: index 0 and `invalid_argument`.
template <class R>
[[nodiscard]] detail::first_of_vector<R> when_any(std::vector<ask_handle<R>> handles) {
    return detail::first_of_vector<R>(std::move(handles));
}

} // namespace troupe
