// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/awaitable.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/error.hpp>

#include <cstdint>
#include <utility>

namespace troupe {

/// Resumes an actor's task that is suspended on an `awaitable`.
///
/// **Threading:** `wake` from any thread, any number of times: the first wake
/// of a registration resumes the task (on the actor's turn, through its
/// system lane); a stale one (the await was cancelled, or woken before) does
/// nothing.
class wake_token {
public:
    wake_token() noexcept = default;
    /// Wakes the awaiting task (see the class comment).
    void wake() const {
        if (cell_) {
            cell_->wake(generation_);
        }
    }
    explicit operator bool() const noexcept { return static_cast<bool>(cell_); }

private:
    friend class awaitable;
    wake_token(detail::cell_ptr c, std::uint64_t g) noexcept
        : cell_(std::move(c)), generation_(g) {}
    detail::cell_ptr cell_;
    std::uint64_t generation_ = 0;
};

/// Base of awaitables that may be `co_await`ed inside a handler's task, for
/// the modules above the core (a task group's join, a remote reply). The
/// derived class provides `await_ready`, `await_suspend` and `await_resume`,
/// plus `on_wake` (its token was woken) and `on_cancel(cause)` (the actor is
/// stopping or cancelled); both run on the actor's own turn and must resume
/// the coroutine they suspended.
///
/// **Threading:** everything but `wake_token::wake` runs on the awaiting
/// actor's turn.
class awaitable : public detail::awaitable_tag, public detail::awaiter_base {
protected:
    awaitable() = default;
    awaitable(const awaitable&) = default;
    awaitable& operator=(const awaitable&) = default;
    awaitable(awaitable&&) noexcept = default;
    awaitable& operator=(awaitable&&) noexcept = default;
    ~awaitable() = default;

    /// From `await_suspend`: registers `*this` as what the running actor's
    /// task waits for and returns the token that wakes it.
    [[nodiscard]] wake_token register_with_current_actor() {
        detail::cell* self = detail::this_thread_context().current;
        return wake_token(detail::cell_ptr(self), self->set_awaiter(this));
    }
    /// True if the running actor is being cancelled or stopped: complete at
    /// once instead of suspending.
    [[nodiscard]] static bool current_actor_cancelled() noexcept {
        const detail::cell* self = detail::this_thread_context().current;
        return self != nullptr && self->is_cancelled();
    }
    /// Why the running actor was cancelled (`errc::none` if it was not).
    [[nodiscard]] static const error& current_actor_stop_cause() noexcept {
        static const error none;
        const detail::cell* self = detail::this_thread_context().current;
        return self != nullptr ? self->stop_cause() : none;
    }
};

} // namespace troupe
