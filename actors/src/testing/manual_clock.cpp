// Part of troupe. See LICENSE at the repository root.

#include <troupe/testing/manual_clock.hpp>

namespace troupe::testing {

time_point manual_clock::now() const noexcept {
    std::lock_guard lock(mutex_);
    return now_;
}

timer_id manual_clock::schedule_at(time_point when, std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    return timers_.add(when, std::move(fn));
}

bool manual_clock::cancel(timer_id id) noexcept {
    std::optional<std::function<void()>> doomed; // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    doomed = timers_.remove(id);
    return doomed.has_value();
}

void manual_clock::shutdown() noexcept {
    std::unique_lock lock(mutex_);
    auto doomed = timers_.clear();
    lock.unlock(); // callbacks are destroyed without the lock
}

std::size_t manual_clock::advance(duration d) {
    std::size_t fired = 0;
    std::unique_lock lock(mutex_);
    const time_point target = now_ + d;
    while (auto due = timers_.pop_due(target)) {
        now_ = std::max(now_, due->first);
        lock.unlock();
        due->second();
        due.reset(); // the callback is destroyed without the lock
        ++fired;
        lock.lock();
    }
    now_ = target;
    return fired;
}

std::size_t manual_clock::pending() const {
    std::lock_guard lock(mutex_);
    return timers_.size();
}

std::optional<time_point> manual_clock::next_deadline() const {
    std::lock_guard lock(mutex_);
    return timers_.next();
}

} // namespace troupe::testing
