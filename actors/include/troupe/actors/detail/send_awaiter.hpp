// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/awaitable.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/expected.hpp>

#include <coroutine>

namespace troupe::detail {

/// `co_await self.send(ref, msg)`: a send that suspends the sending actor's
/// task while the receiver (policy `suspend`/`block`) is full.
///
/// Must be awaited in the full-expression that created it (as
/// `co_await send(...)` is): it refers to the receiver through the caller's
/// ref and takes its own reference only when it suspends.
///
/// With a `deadline` (on the sender's system clock), a wait for room ends
/// there: the message is not sent, it fails with `timeout` (an ask's reply
/// too), and so does the send. Room found at once is taken whatever the
/// deadline. (Out of memory for the deadline's timer, the wait has none.)
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
class send_awaiter final : public awaitable_tag, public awaiter_base {
public:
    send_awaiter(cell* to, envelope* e, time_point deadline = time_point::max()) noexcept
        : to_(to), envelope_(e), deadline_(deadline) {}
    send_awaiter(send_awaiter&& o) noexcept
        : to_(o.to_), envelope_(std::exchange(o.envelope_, nullptr)), result_(std::move(o.result_)),
          deadline_(o.deadline_) {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    send_awaiter& operator=(send_awaiter&&) = delete;
    ~send_awaiter();

    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h) noexcept;
    send_result await_resume() noexcept { return std::move(result_); }
    void on_wake() override;
    void on_cancel(const error& cause) override;

private:
    bool attempt(cell* self) noexcept; // true when done (sent or failed)
    // While waiting: the deadline's timer wakes `self` with generation `gen`.
    void arm_deadline(cell* self, std::uint64_t gen) noexcept;
    void disarm_deadline() noexcept;

    cell* to_;           // kept alive by the caller's ref until suspension
    cell_ptr hold_;      // the receiver, while suspended
    envelope* envelope_; // owned until handed to the receiver
    send_result result_;
    std::coroutine_handle<> continuation_;
    time_point deadline_;
    timer_id timer_ = 0;     // the deadline's, while waiting
    cell* waiter_ = nullptr; // whose clock `timer_` is on (the sender, which outlives its task)
};

/// `co_await self.sleep(d)`: resumes the task after `d` on the actor's clock.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
class sleep_awaiter final : public awaitable_tag, public awaiter_base {
public:
    explicit sleep_awaiter(duration d) noexcept : delay_(d) {}
    bool await_ready() const noexcept { return delay_ <= duration::zero(); }
    bool await_suspend(std::coroutine_handle<> h);
    /// Empty on time, `cancelled` if the actor was cancelled meanwhile.
    expected<void> await_resume() noexcept { return std::move(result_); }
    void on_wake() override { continuation_.resume(); }
    void on_cancel(const error& cause) override;

private:
    duration delay_;
    timer_id timer_ = 0;
    cell* self_ = nullptr;
    expected<void> result_;
    std::coroutine_handle<> continuation_;
};

} // namespace troupe::detail
