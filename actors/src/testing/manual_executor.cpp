// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell.hpp>
#include <troupe/testing/manual_executor.hpp>

namespace troupe::testing {

void manual_executor::schedule(detail::cell* c) noexcept {
    std::lock_guard lock(mutex_);
    if (!shut_down_) { // after shutdown the system terminates what is left
        ready_.push_back(c);
    }
}

void manual_executor::shutdown() noexcept {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    ready_.clear();
}

bool manual_executor::run_once() {
    detail::cell* c = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (ready_.empty() || shut_down_) {
            return false;
        }
        c = ready_.front();
        ready_.pop_front();
    }
    if (c->resume(1) == detail::resume_result::again) {
        schedule(c);
    }
    return true;
}

std::size_t manual_executor::run_until_idle(std::size_t max_turns) {
    std::size_t turns = 0;
    while (turns < max_turns && run_once()) {
        ++turns;
    }
    return turns;
}

std::size_t manual_executor::runnable() const {
    std::lock_guard lock(mutex_);
    return ready_.size();
}

} // namespace troupe::testing
