// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>

#include <memory>
#include <mutex>
#include <utility>

namespace troupe {

namespace detail {

/// Shared control block of a delayed or periodic tell.
/// **Threading:** cancel and re-arm race (any thread vs the clock's thread);
/// serialised by `mutex`.
struct timer_control {
    explicit timer_control(clock& c) noexcept : clk(c) {}
    void cancel() noexcept {
        std::lock_guard lock(mutex);
        cancelled = true;
        if (id != 0) {
            clk.cancel(id);
            id = 0;
        }
    }
    [[nodiscard]] bool is_active() const noexcept {
        std::lock_guard lock(mutex);
        return !cancelled && id != 0;
    }

    clock& clk; // the system's clock; outlives every timer
    mutable std::mutex mutex;
    timer_id id = 0;        // guarded by mutex; 0 once fired (one-shot) or cancelled
    bool cancelled = false; // guarded by mutex
};

} // namespace detail

/// Handle to a delayed or periodic tell. Copies share the timer.
///
/// **Threading:** any thread. Cancelling is idempotent; after `cancel`
/// returns, no further message is sent by this timer (one already handed to
/// the mailbox stays there).
class timer_handle {
public:
    timer_handle() noexcept = default;
    explicit timer_handle(std::shared_ptr<detail::timer_control> c) noexcept
        : control_(std::move(c)) {}
    void cancel() noexcept {
        if (control_) {
            control_->cancel();
        }
    }
    /// True while the timer may still send.
    [[nodiscard]] bool is_active() const noexcept { return control_ && control_->is_active(); }
    /// @private runtime
    [[nodiscard]] const std::shared_ptr<detail::timer_control>& control() const noexcept {
        return control_;
    }

private:
    std::shared_ptr<detail::timer_control> control_;
};

namespace detail {

/// Arms a tell of `m` to `to` after `delay`, then every `period` if non-zero.
template <class Ref, class M>
timer_handle start_timer(clock& clk, Ref to, duration delay, duration period, M m) {
    auto control = std::make_shared<timer_control>(clk);
    struct fire {
        std::weak_ptr<timer_control> control;
        Ref to;
        M msg;
        duration period;
        void operator()() const {
            auto c = control.lock();
            if (!c) {
                return;
            }
            std::lock_guard lock(c->mutex);
            if (c->cancelled) {
                return;
            }
            (void)to.tell(msg); // the receiver's policy applies; refusals are counted there
            if (period == duration::zero()) {
                c->id = 0;
                return;
            }
            c->id = c->clk.schedule_at(c->clk.now() + period, *this);
        }
    };
    std::lock_guard lock(control->mutex);
    control->id =
        clk.schedule_at(clk.now() + delay, fire{control, std::move(to), std::move(m), period});
    return timer_handle(control);
}

} // namespace detail
} // namespace troupe
