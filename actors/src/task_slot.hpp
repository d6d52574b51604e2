// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/cell.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace troupe::internal {

/// The coroutine handler in progress on one actor (at most one: a suspended
/// handler suspends its actor), the message it handles and the awaitable it
/// is suspended on.
///
/// A wake carries the generation `set_awaiter` returned, so a stale wake (of
/// an awaitable that was cancelled, or completed in another way) is ignored.
///
/// **Threading:** the actor's own turn only.
class task_slot {
public:
    [[nodiscard]] bool is_active() const noexcept { return static_cast<bool>(task_.handle); }
    /// Takes over `t` (a fresh handler coroutine, not yet resumed).
    void begin(detail::pending_task t) noexcept {
        task_ = t;
        message_.reset();
    }
    /// Whether the task's message is attached yet (it is attached once the
    /// handler's first step returned to the dispatcher).
    [[nodiscard]] bool has_message() const noexcept { return static_cast<bool>(message_); }
    /// Keeps the handled message alive while the task runs: its parameters
    /// may refer to it.
    void attach_message(detail::envelope* e) noexcept { message_.reset(e); }
    [[nodiscard]] std::uint64_t message_trace() const noexcept {
        return message_ ? message_->trace_id : 0;
    }
    /// True once the coroutine ran to its end and its message is attached.
    [[nodiscard]] bool is_finished() const noexcept {
        return is_active() && message_ && task_.handle.done();
    }

    /// Registers the awaitable the task is suspended on (null: none).
    std::uint64_t set_awaiter(detail::awaiter_base* a) noexcept {
        awaiter_ = a;
        return ++generation_;
    }
    /// Takes the awaitable if `gen` is the current generation (else null).
    [[nodiscard]] detail::awaiter_base* take_awaiter(std::uint64_t gen) noexcept {
        return gen == generation_ ? std::exchange(awaiter_, nullptr) : nullptr;
    }
    /// Takes the awaitable, whatever its generation (for a cancel).
    [[nodiscard]] detail::awaiter_base* take_awaiter() noexcept {
        return std::exchange(awaiter_, nullptr);
    }

    /// Ends the task: the slot is empty again; the caller completes or
    /// destroys what it returns.
    [[nodiscard]] std::pair<detail::pending_task, std::unique_ptr<detail::envelope>>
    take() noexcept {
        awaiter_ = nullptr;
        return {std::exchange(task_, {}), std::move(message_)};
    }

private:
    detail::pending_task task_;
    std::unique_ptr<detail::envelope> message_;
    detail::awaiter_base* awaiter_ = nullptr;
    std::uint64_t generation_ = 0;
};

} // namespace troupe::internal
