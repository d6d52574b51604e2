// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/current_actor.hpp>
#include <troupe/supervision/task_group.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <ostream>
#include <vector>

namespace troupe {

namespace detail {

struct task_group_state : std::enable_shared_from_this<task_group_state> {
    troupe::system* sys = nullptr;
    task_group_options options;
    mutable std::mutex mutex;
    std::condition_variable done_cv;
    std::deque<std::function<actor_addr()>> queued; // guarded by mutex
    std::vector<actor_addr> running;                // guarded by mutex (started ones)
    std::size_t active = 0;                         // started or starting; guarded
    std::size_t peak = 0;                           // guarded
    std::size_t cancelled_members = 0;              // guarded
    bool cancelled = false;                         // guarded
    error cancel_cause;                             // guarded
    aggregate_error errors;                         // guarded
    std::stop_source tokens;
    // Actors awaiting join_async(): woken once all are done.
    std::vector<wake_token> async_waiters; // guarded

    [[nodiscard]] bool done_locked() const { return active == 0 && queued.empty(); }

    // Call with the lock held, when done: hands back the waiters to wake
    // outside the lock.
    std::vector<wake_token> take_waiters_locked() {
        done_cv.notify_all();
        return std::exchange(async_waiters, {});
    }
    static void wake(const std::vector<wake_token>& waiters) {
        for (const auto& w : waiters) {
            w.wake();
        }
    }

    // Starts queued members while under the limit (never holds the lock
    // while spawning: an exit callback may run on this thread).
    void pump() {
        for (;;) {
            std::function<actor_addr()> starter;
            {
                std::lock_guard lock(mutex);
                if (cancelled || queued.empty() ||
                    (options.limit != 0 && active >= options.limit)) {
                    return;
                }
                starter = std::move(queued.front());
                queued.pop_front();
                ++active;
                peak = std::max(peak, active);
            }
            actor_addr a;
            try {
                a = starter();
            } catch (...) {
                member_done({}, error{errc::exception, "task_group member failed to start"});
                continue;
            }
            {
                std::lock_guard lock(mutex);
                running.push_back(a);
            }
            std::weak_ptr<task_group_state> weak = weak_from_this();
            sys->on_exit(a, [weak, a](const error& cause) {
                if (auto self = weak.lock()) {
                    self->member_done(a, cause);
                }
            });
        }
    }

    void member_done(const actor_addr& a, const error& cause) {
        std::vector<actor_addr> to_stop;
        error stop_cause;
        {
            std::lock_guard lock(mutex);
            std::erase(running, a);
            --active;
            if (cause.code() == errc::cancelled && cancelled) {
                ++cancelled_members;
            } else if (cause) {
                errors.add(child_failure{a ? a.path() : std::string("<task>"), cause,
                                         sys->clock().now(), 0, nullptr});
                if (options.mode == group_mode::cancel_on_first_error && !cancelled) {
                    cancelled = true;
                    cancel_cause = error{errc::cancelled, "a sibling failed", cause};
                    cancelled_members += queued.size();
                    queued.clear();
                    to_stop = running;
                    stop_cause = cancel_cause;
                }
            }
        }
        if (!to_stop.empty() || stop_cause) {
            tokens.request_stop();
        }
        for (auto& m : to_stop) {
            (void)m.stop(stop_cause);
        }
        pump();
        std::vector<wake_token> waiters;
        {
            std::lock_guard lock(mutex);
            if (done_locked()) {
                waiters = take_waiters_locked();
            }
        }
        wake(waiters);
    }
};

namespace {
struct run_task {};
class task_member final : public actor<run_task> {
public:
    task_member(std::function<void(std::stop_token)> fn, std::stop_token group)
        : fn_(std::move(fn)), group_(std::move(group)) {}
    void on_start() override { (void)self().tell(run_task{}); }
    void on(run_task&) {
        if (!group_.stop_requested()) {
            fn_(group_);
        }
        stop();
    }

private:
    std::function<void(std::stop_token)> fn_;
    std::stop_token group_;
};
} // namespace

} // namespace detail

task_group::task_group(troupe::system& sys, task_group_options options)
    : sys_(sys), st_(std::make_shared<detail::task_group_state>()) {
    st_->sys = &sys;
    st_->options = options;
}

task_group::~task_group() {
    std::size_t left = 0;
    {
        std::lock_guard lock(st_->mutex);
        left = st_->active + st_->queued.size();
    }
    if (left != 0) {
        cancel();
        (void)join();
    }
}

void task_group::add(std::function<actor_addr()> starter) {
    {
        std::lock_guard lock(st_->mutex);
        if (st_->cancelled) {
            ++st_->cancelled_members;
            return;
        }
        st_->queued.push_back(std::move(starter));
    }
    st_->pump();
}

void task_group::spawn_task(std::function<void(std::stop_token)> fn) {
    add([&sys = sys_, fn = std::move(fn), token = st_->tokens.get_token()] {
        return sys.spawn<detail::task_member>(fn, token).addr();
    });
}

void task_group::cancel(const error& cause) {
    std::vector<actor_addr> to_stop;
    {
        std::lock_guard lock(st_->mutex);
        if (st_->cancelled) {
            return;
        }
        st_->cancelled = true;
        st_->cancel_cause = cause;
        st_->cancelled_members += st_->queued.size();
        st_->queued.clear();
        to_stop = st_->running;
    }
    st_->tokens.request_stop();
    for (auto& m : to_stop) {
        (void)m.stop(cause);
    }
    std::vector<wake_token> waiters;
    {
        std::lock_guard lock(st_->mutex);
        if (st_->active == 0) {
            waiters = st_->take_waiters_locked();
        }
    }
    detail::task_group_state::wake(waiters);
}

aggregate_error task_group::join() {
    if (on_scheduler_worker()) {
        // Waiting here would hold a worker the members may need (deadlock
        // with one worker, starvation with more).
        aggregate_error refused;
        refused.add(child_failure{
            "<join>",
            error{errc::would_block,
                  "task_group::join would block a scheduler worker; use co_await join_async()"},
            sys_.clock().now(), 0, nullptr});
        return refused;
    }
    std::unique_lock lock(st_->mutex);
    st_->done_cv.wait(lock, [&] { return st_->active == 0 && st_->queued.empty(); });
    return st_->errors;
}

task_group::join_awaiter task_group::join_async() { return join_awaiter(st_); }

bool task_group::join_awaiter::await_ready() {
    std::lock_guard lock(st_->mutex);
    if (st_->done_locked()) {
        result_ = st_->errors;
        return true;
    }
    return false;
}

bool task_group::join_awaiter::await_suspend(std::coroutine_handle<> h) {
    continuation_ = h;
    if (current_actor_cancelled()) {
        complete_cancelled(current_actor_stop_cause());
        return false;
    }
    wake_token token = register_with_current_actor();
    bool done = false;
    {
        std::lock_guard lock(st_->mutex);
        done = st_->done_locked();
        if (!done) {
            st_->async_waiters.push_back(token);
        }
    }
    if (done) { // finished in between: complete through the usual wake
        token.wake();
    }
    return true;
}

void task_group::join_awaiter::on_wake() {
    {
        std::lock_guard lock(st_->mutex);
        result_ = st_->errors;
    }
    continuation_.resume();
}

void task_group::join_awaiter::on_cancel(const error& cause) {
    complete_cancelled(cause);
    continuation_.resume();
}

void task_group::join_awaiter::complete_cancelled(const error& cause) {
    {
        std::lock_guard lock(st_->mutex);
        result_ = st_->errors;
    }
    result_.add(child_failure{"<join>", error{errc::cancelled, "join_async cancelled", cause},
                              st_->sys->clock().now(), 0, nullptr});
}

std::size_t task_group::cancelled() const {
    std::lock_guard lock(st_->mutex);
    return st_->cancelled_members;
}

std::size_t task_group::peak_running() const {
    std::lock_guard lock(st_->mutex);
    return st_->peak;
}

std::ostream& operator<<(std::ostream& os, group_mode m) { return os << to_string(m); }

} // namespace troupe
