// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/timer_queue.hpp>

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
        timer_id id = timers_.add(when, std::move(fn));
        // Wake the timer thread only if it sleeps past the new deadline: a
        // stream of later deadlines (ask timeouts) costs no wake-ups.
        bool earliest = when < wake_at_;
        lock.unlock();
        if (earliest) {
            wakeup_.notify_one();
        }
        return id;
    }

    bool cancel(timer_id id) noexcept override {
        std::optional<std::function<void()>> doomed; // destroyed after the lock is released
        std::lock_guard lock(mutex_);
        doomed = timers_.remove(id);
        return doomed.has_value();
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
        std::unique_lock lock(mutex_);
        auto doomed = timers_.clear();
        lock.unlock(); // callbacks are destroyed without the lock
    }

private:
    void run() {
        // Timer callbacks must never wait for mailbox space (policy `block`):
        // marking this thread like a worker makes such sends fail fast.
        detail::this_thread_context().worker = this;
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            auto due = timers_.pop_due(now());
            if (!due) {
                wake_at_ = timers_.next().value_or(time_point::max());
                if (wake_at_ == time_point::max()) {
                    wakeup_.wait(lock);
                } else {
                    wakeup_.wait_until(lock, wake_at_);
                }
                continue;
            }
            wake_at_ = time_point::min(); // running callbacks: no wake-up needed
            lock.unlock();
            due->second();
            due.reset(); // the callback is destroyed without the lock
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wakeup_;
    detail::timer_queue timers_;             // guarded by mutex_
    time_point wake_at_ = time_point::min(); // guarded by mutex_; when run() wakes
    bool stopping_ = false;                  // guarded by mutex_
    std::thread thread_;                     // joined by shutdown()
};

} // namespace

std::unique_ptr<clock> make_steady_clock() { return std::make_unique<steady_timer_clock>(); }

} // namespace troupe
