// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/cell.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace troupe {

namespace {

class steady_timer_clock final : public clock {
public:
    steady_timer_clock() : thread_([this] { run(); }) {}
    ~steady_timer_clock() override { shutdown(); }
    steady_timer_clock(const steady_timer_clock&) = delete;
    steady_timer_clock& operator=(const steady_timer_clock&) = delete;

    time_point now() const noexcept override { return std::chrono::steady_clock::now(); }

    timer_id schedule_at(time_point when, std::function<void()> fn) override {
        std::unique_lock lock(mutex_);
        timer_id id = ++last_id_;
        // Wake the timer thread only if it sleeps past the new deadline: a
        // stream of later deadlines (ask timeouts) costs no wake-ups.
        bool earliest = when < wake_at_;
        timers_.emplace(key{when, id}, std::move(fn));
        index_.emplace(id, when);
        lock.unlock();
        if (earliest) {
            wakeup_.notify_one();
        }
        return id;
    }

    bool cancel(timer_id id) noexcept override {
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

    void shutdown() noexcept override {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
            stopping_ = true;
        }
        wakeup_.notify_one();
        thread_.join();
        std::map<key, std::function<void()>> doomed;
        std::lock_guard lock(mutex_);
        doomed.swap(timers_);
        index_.clear();
    }

private:
    using key = std::pair<time_point, timer_id>;

    void run() {
        // Timer callbacks must never wait for mailbox space (policy `block`):
        // marking this thread like a worker makes such sends fail fast.
        detail::this_thread_context().worker = this;
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            if (timers_.empty()) {
                wake_at_ = time_point::max();
                wakeup_.wait(lock);
                continue;
            }
            auto first = timers_.begin();
            if (first->first.first > now()) {
                wake_at_ = first->first.first;
                wakeup_.wait_until(lock, wake_at_);
                continue;
            }
            wake_at_ = time_point::min(); // running callbacks: no wake-up needed
            std::function<void()> fn = std::move(first->second);
            index_.erase(first->first.second);
            timers_.erase(first);
            lock.unlock();
            fn();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wakeup_;
    std::map<key, std::function<void()>> timers_; // guarded by mutex_
    std::map<timer_id, time_point> index_;        // guarded by mutex_
    timer_id last_id_ = 0;                        // guarded by mutex_
    time_point wake_at_ = time_point::min();      // guarded by mutex_; when run() wakes
    bool stopping_ = false;                       // guarded by mutex_
    std::thread thread_;                          // joined by shutdown()
};

} // namespace

std::unique_ptr<clock> make_steady_clock() { return std::make_unique<steady_timer_clock>(); }

} // namespace troupe
