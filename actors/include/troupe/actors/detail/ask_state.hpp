// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/pool.hpp>
#include <troupe/actors/detail/spin_lock.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace troupe::internal {
class ask_deadlines;
}

namespace troupe::detail {

/// Shared state of one ask: completed exactly once, by the reply, by its
/// deadline, by a failure of the request, or by cancellation of the asker.
///
/// **Threading:** completion and waiting from any thread; serialised by
/// `lock_` (a reply, a timeout and a cancel can race), a spin lock over a few
/// instructions. A completion that finds the state already completed is a
/// late reply: counted, dead-lettered. Threads blocked in `wait` park on a
/// condition variable shared by a stripe of states (the state itself holds
/// none): a completion that sees `parked_` set notifies that stripe.
class ask_state_base;

/// What `ask_handle::on_complete` runs: once, on the thread that completes
/// the ask, then deleted.
class ask_callback {
public:
    ask_callback() = default;
    ask_callback(const ask_callback&) = delete;
    ask_callback& operator=(const ask_callback&) = delete;
    virtual ~ask_callback() = default;
    virtual void run(ask_state_base& completed) noexcept = 0;
};

class ask_state_base : public pooled {
public:
    /// `sys` may be null for an ask that fails before it is sent.
    explicit ask_state_base(system_core* sys) noexcept : sys_(sys) {}
    ask_state_base(const ask_state_base&) = delete;
    ask_state_base& operator=(const ask_state_base&) = delete;
    virtual ~ask_state_base() { delete callback_; } // one never run: its ask never completed

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        // acq_rel: the last owner must see every completion write.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// Completes with `e` unless already completed. Returns false if late.
    bool fail(error e) noexcept;
    /// Arms the deadline: completes with `timeout` once `timeout` has passed
    /// on the system's clock (`duration::max()`: no deadline, nothing is
    /// armed). Called once, before the state is shared.
    void arm(duration timeout);
    /// The deadline `arm` set, on the system's clock (`time_point::max()`:
    /// none). Written before the state is shared, never changed after.
    [[nodiscard]] time_point deadline() const noexcept {
        return armed_ ? deadline_ : time_point::max();
    }
    /// True once completed (acquire: the outcome is then visible).
    [[nodiscard]] bool ready() const noexcept {
        return status_.load(std::memory_order_acquire) != status::pending;
    }
    /// Blocks the calling (non-worker) thread until completion or `deadline`.
    /// Returns true if completed.
    bool wait_until(time_point deadline) const;
    /// Blocks until completion (the deadline guarantees it happens).
    void wait() const;
    /// How a completion reaches the actor waiting for it.
    enum class notify : std::uint8_t {
        wake,         ///< `cell::wake(generation)`: resume an awaiting task
        continuation, ///< `cell::post_continuation(ticket)`: run a `then`
        callback      ///< run `callback_` on the completing thread
    };
    /// For an awaiting actor: records whom to wake (`cell::wake(generation)`).
    /// Returns false (and records nothing) if already completed, so the
    /// waiter must not wait. A later call replaces the waiter.
    bool set_waiter(cell* c, std::uint64_t generation);
    /// As `set_waiter`, for a `then`: completion posts `ticket` to `c`.
    bool set_waiter(cell* c, continuation_ticket ticket);
    /// For `on_complete`: completion runs `cb` on the completing thread,
    /// after the outcome is published. Already completed: runs it here, now.
    /// Takes `cb` either way. At most one waiter of any kind.
    void set_callback(std::unique_ptr<ask_callback> cb) noexcept;

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
    [[nodiscard]] bool failed() const noexcept {
        return status_.load(std::memory_order_acquire) == status::failed;
    }

protected:
    /// Completes with a value: `store` writes it under the lock.
    template <class Store>
    bool complete(Store&& store) noexcept {
        std::unique_lock lock(lock_);
        if (status_.load(std::memory_order_relaxed) != status::pending) {
            lock.unlock();
            on_late();
            return false;
        }
        store();
        finish(lock, status::done);
        return true;
    }

private:
    enum class status : std::uint8_t { pending, done, failed };
    // Publishes `outcome`, then wakes the waiter and parked threads, disarms.
    void finish(std::unique_lock<spin_lock>& lock, status outcome) noexcept;
    void on_late() noexcept;

    friend class internal::ask_deadlines;

    system_core* sys_; // outlives every ask; null if it never reached the system
    std::atomic<std::uint32_t> refs_{1};
    static constexpr std::uint8_t in_handler = 1; // promise_flags_ bits
    static constexpr std::uint8_t abandoned = 2;
    // Relaxed: set and read on the handler's thread; another thread only
    // drops a promise it was handed, after the handler gave it away.
    std::atomic<std::uint8_t> promise_flags_{0};
    mutable spin_lock lock_;
    // Written under lock_; leaves `pending` once, with release (seq_cst: see
    // `parked_`), so a reader that sees it completed sees the outcome.
    std::atomic<status> status_{status::pending};
    // Set (seq_cst) by a thread about to park in `wait`; with the seq_cst
    // status store, either the completion sees it or the parker sees the
    // completion (no lost wake-up).
    mutable std::atomic<bool> parked_{false};
    error error_;                      // guarded by lock_ until completed, then immutable
    cell_ptr waiter_;                  // guarded by lock_
    std::uint64_t generation_ = 0;     // guarded by lock_; a ticket's seq
    std::uint32_t slot_ = 0;           // guarded by lock_; a ticket's slot
    notify notify_ = notify::wake;     // guarded by lock_
    ask_callback* callback_ = nullptr; // guarded by lock_; owned; notify::callback
    // The ask's place in its timeout's deadline list, guarded by that
    // object's lock (internal::ask_deadlines); `deadline_list_` is null
    // while unlinked. `armed_` is written by `arm`, before the state is shared.
    ask_state_base* deadline_prev_ = nullptr;
    ask_state_base* deadline_next_ = nullptr;
    void* deadline_list_ = nullptr;
    time_point deadline_{};
    std::uint8_t deadline_shard_ = 0; // written by `arm`, before the state is shared
    bool armed_ = false;
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
