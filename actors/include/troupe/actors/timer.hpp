// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/envelope.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

namespace troupe {

namespace detail {

/// Shared control block of a delayed or periodic tell.
/// **Threading:** cancel and re-arm race (any thread vs the clock's thread);
/// serialised by `mutex`.
struct timer_control {
    /// `owner` (the arming actor) keeps the clock's system alive while the
    /// handle exists; null for timers armed outside an actor.
    timer_control(clock& c, cell_ptr owner) noexcept : clk(c), owner_cell(std::move(owner)) {}
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
        return !cancelled && (id != 0 || never_fires);
    }

    clock& clk;          // the system's clock; outlives every timer (see owner_cell)
    cell_ptr owner_cell; // immutable
    mutable std::mutex mutex;
    timer_id id = 0;          // guarded by mutex; 0 once fired (one-shot) or cancelled
    bool cancelled = false;   // guarded by mutex
    bool never_fires = false; // immutable after arming: a delay of duration::max()
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

/// Arms a tell of `m` to `to` after `delay`, then every `period` if non-zero
/// (@pre `period >= 0`). A delay of `duration::max()` never fires.
template <class Ref, class M>
timer_handle start_timer(clock& clk, cell_ptr owner, Ref to, duration delay, duration period, M m) {
    auto control = std::make_shared<timer_control>(clk, std::move(owner));
    struct fire {
        std::weak_ptr<timer_control> control;
        Ref to;
        M msg;
        duration period{};
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
            c->id = c->clk.schedule_at(saturating_add(c->clk.now(), period), *this);
        }
    };
    const time_point at = saturating_add(clk.now(), std::max(delay, duration::zero()));
    std::lock_guard lock(control->mutex);
    if (at == time_point::max()) {
        control->never_fires = true;
    } else {
        control->id = clk.schedule_at(at, fire{control, std::move(to), std::move(m), period});
    }
    return timer_handle(control);
}

} // namespace detail
} // namespace troupe
