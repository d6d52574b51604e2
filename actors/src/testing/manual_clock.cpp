// Part of troupe. See LICENSE at the repository root.

#include <troupe/testing/manual_clock.hpp>

namespace troupe::testing {

time_point manual_clock::now() const noexcept {
    std::lock_guard lock(mutex_);
    return now_;
}

timer_id manual_clock::schedule_at(time_point when, std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    timer_id id = ++last_id_;
    timers_.emplace(key{when, id}, std::move(fn));
    index_.emplace(id, when);
    return id;
}

bool manual_clock::cancel(timer_id id) noexcept {
    std::function<void()> doomed; // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    auto it = index_.find(id);
    if (it == index_.end()) {
        return false;
    }
    auto t = timers_.find(key{it->second, id});
    doomed = std::move(t->second);
    timers_.erase(t);
    index_.erase(it);
    return true;
}

void manual_clock::shutdown() noexcept {
    std::map<key, std::function<void()>> doomed;
    std::lock_guard lock(mutex_);
    doomed.swap(timers_);
    index_.clear();
}

std::size_t manual_clock::advance(duration d) {
    std::size_t fired = 0;
    std::unique_lock lock(mutex_);
    const time_point target = now_ + d;
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
        auto first = timers_.begin();
        now_ = std::max(now_, first->first.first);
        std::function<void()> fn = std::move(first->second);
        index_.erase(first->first.second);
        timers_.erase(first);
        lock.unlock();
        fn();
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
    if (timers_.empty()) {
        return std::nullopt;
    }
    return timers_.begin()->first.first;
}

} // namespace troupe::testing
