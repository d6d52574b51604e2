// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>

#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace troupe::detail {

/// Pending timers ordered by deadline, cancellable by id: the bookkeeping
/// shared by the steady clock and the test kit's manual clock.
///
/// **Threading:** none; the owning clock serialises access with its lock.
/// Callbacks are handed back to the caller (from `remove`, `pop_due`,
/// `clear`) so that they run or are destroyed outside that lock.
class timer_queue {
public:
    /// Adds `fn` due at `when`; returns its id (never 0).
    timer_id add(time_point when, std::function<void()> fn) {
        const timer_id id = ++last_id_;
        timers_.emplace(key{when, id}, std::move(fn));
        index_.emplace(id, when);
        return id;
    }
    /// Removes timer `id`; returns its callback, or nullopt if unknown.
    std::optional<std::function<void()>> remove(timer_id id) {
        auto it = index_.find(id);
        if (it == index_.end()) {
            return std::nullopt;
        }
        auto t = timers_.find(key{it->second, id});
        std::function<void()> fn = std::move(t->second);
        timers_.erase(t);
        index_.erase(it);
        return fn;
    }
    /// The earliest deadline, if any.
    [[nodiscard]] std::optional<time_point> next() const {
        if (timers_.empty()) {
            return std::nullopt;
        }
        return timers_.begin()->first.first;
    }
    /// Removes and returns the earliest timer if it is due at `now`.
    std::optional<std::pair<time_point, std::function<void()>>> pop_due(time_point now) {
        if (timers_.empty() || timers_.begin()->first.first > now) {
            return std::nullopt;
        }
        auto first = timers_.begin();
        std::pair<time_point, std::function<void()>> due{first->first.first,
                                                         std::move(first->second)};
        index_.erase(first->first.second);
        timers_.erase(first);
        return due;
    }
    [[nodiscard]] std::size_t size() const noexcept { return timers_.size(); }
    /// Removes every timer; the returned map destroys their callbacks.
    [[nodiscard]] auto clear() {
        index_.clear();
        return std::exchange(timers_, {});
    }

private:
    using key = std::pair<time_point, timer_id>;
    std::map<key, std::function<void()>> timers_;
    std::unordered_map<timer_id, time_point> index_;
    timer_id last_id_ = 0;
};

} // namespace troupe::detail
