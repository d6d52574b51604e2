// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/pool.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

namespace troupe::detail {

/// Shared state of one ask: completed exactly once, by the reply, by its
/// deadline, by a failure of the request, or by cancellation of the asker.
///
/// **Threading:** completion and waiting from any thread; serialised by
/// `mutex_` (a reply, a timeout and a cancel can race). A completion that
/// finds the state already completed is a late reply: counted, dead-lettered.
class ask_state_base : public pooled {
public:
    /// `sys` may be null for an ask that fails before it is sent.
    explicit ask_state_base(system_core* sys) noexcept : sys_(sys) {}
    ask_state_base(const ask_state_base&) = delete;
    ask_state_base& operator=(const ask_state_base&) = delete;
    virtual ~ask_state_base() = default;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        // acq_rel: the last owner must see every completion write.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// Completes with `e` unless already completed. Returns false if late.
    bool fail(error e) noexcept;
    /// Arms the deadline: completes with `timeout` at `deadline`
    /// (`time_point::max()`: no deadline, nothing is armed).
    void arm(time_point deadline);
    /// True once completed.
    [[nodiscard]] bool ready() const;
    /// Blocks the calling (non-worker) thread until completion or `deadline`.
    /// Returns true if completed.
    bool wait_until(time_point deadline) const;
    /// Blocks until completion (the deadline guarantees it happens).
    void wait() const;
    /// How a completion reaches the actor waiting for it.
    enum class notify : std::uint8_t {
        wake,        ///< `cell::wake(generation)`: resume an awaiting task
        continuation ///< `cell::post_continuation(generation)`: run a `then`
    };
    /// For an awaiting actor: records whom to notify, and how. Returns false
    /// (and records nothing) if already completed, so the waiter must not
    /// wait. A later call replaces the waiter.
    bool set_waiter(cell* c, std::uint64_t generation, notify how = notify::wake);

    // ---- deferred replies (response_promise) ------------------------------------
    // While the handler that received a promise runs, an unanswered promise
    // dropped by stack unwinding leaves the failure to the runtime, which
    // knows the exception (`handler_failed` with its message).

    /// The handler that receives a promise for this ask starts.
    void enter_handler() noexcept {
        promise_flags_.fetch_or(in_handler, std::memory_order_relaxed);
    }
    /// It returned normally: a promise it dropped while an exception passed
    /// (one the handler caught) fails the ask now, with `broken_promise`.
    void leave_handler() noexcept;
    /// An unanswered promise is dropped: true if it must fail the ask itself.
    [[nodiscard]] bool drop_unanswered() noexcept;
    /// The error, if it completed with one.
    [[nodiscard]] const error& failure() const noexcept { return error_; }
    [[nodiscard]] bool failed() const noexcept { return status_ == status::failed; }

protected:
    /// Completes with a value: `store` writes it under the lock.
    template <class Store>
    bool complete(Store&& store) noexcept {
        std::unique_lock lock(mutex_);
        if (status_ != status::pending) {
            lock.unlock();
            on_late();
            return false;
        }
        store();
        status_ = status::done;
        finish(lock);
        return true;
    }

private:
    enum class status : std::uint8_t { pending, done, failed };
    void finish(std::unique_lock<std::mutex>& lock) noexcept; // wakes, disarms
    void on_late() noexcept;

    system_core* sys_; // outlives every ask; null if it never reached the system
    std::atomic<std::uint32_t> refs_{1};
    static constexpr std::uint8_t in_handler = 1; // promise_flags_ bits
    static constexpr std::uint8_t abandoned = 2;
    // Relaxed: set and read on the handler's thread; another thread only
    // drops a promise it was handed, after the handler gave it away.
    std::atomic<std::uint8_t> promise_flags_{0};
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    status status_ = status::pending; // guarded by mutex_
    error error_;                     // guarded by mutex_ until completed, then immutable
    cell_ptr waiter_;                 // guarded by mutex_
    std::uint64_t generation_ = 0;    // guarded by mutex_
    notify notify_ = notify::wake;    // guarded by mutex_
    timer_id timer_ = 0;              // guarded by mutex_
};

template <class R>
class ask_state final : public ask_state_base {
public:
    using ask_state_base::ask_state_base;
    bool set_value(R v) noexcept {
        return complete([&] { value_.emplace(std::move(v)); });
    }
    /// The outcome; call once completed.
    expected<R> take() {
        if (failed()) {
            return troupe::unexpected(failure());
        }
        return std::move(*value_);
    }

private:
    std::optional<R> value_; // written once under the lock, then read by the owner
};

template <>
class ask_state<void> final : public ask_state_base {
public:
    using ask_state_base::ask_state_base;
    bool set_value() noexcept {
        return complete([] {});
    }
    expected<void> take() {
        if (failed()) {
            return troupe::unexpected(failure());
        }
        return {};
    }
};

inline void intrusive_ptr_add_ref(ask_state_base* s) noexcept { s->add_ref(); }
inline void intrusive_ptr_release(ask_state_base* s) noexcept { s->release(); }

} // namespace troupe::detail
