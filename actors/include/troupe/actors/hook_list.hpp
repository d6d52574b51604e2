// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace troupe {

/// A set of observers called on runtime events (dead letters, failures,
/// supervisor decisions); higher layers (events, supervision, user code) add
/// and remove theirs independently.
///
/// **Threading:** `add`/`remove` from any thread at any time; calls run on
/// the thread where the event happened, on a snapshot of the set. A hook
/// removed while a call is in flight may still run once: hooks must stay safe
/// to call until `remove` returned *and* in-flight calls finished (hold what
/// they use weakly). **Failure:** an exception thrown by a hook is swallowed
/// (the runtime event is already counted); hooks must be short and must not
/// block. **Cost:** one relaxed-acquire load when empty; otherwise a mutex
/// round trip to copy the snapshot pointer.
template <class... Args>
class hook_list {
public:
    using hook = std::function<void(Args...)>;
    using id = std::uint64_t;

    /// Adds `h`; returns the id to remove it with.
    id add(hook h) {
        std::lock_guard lock(mutex_);
        auto next = std::make_shared<entries>(hooks_ ? *hooks_ : entries{});
        next->emplace_back(++last_id_, std::move(h));
        hooks_ = std::move(next);
        any_.store(true, std::memory_order_release); // pairs with operator()
        return last_id_;
    }

    /// Removes the hook `i` (no-op if unknown).
    void remove(id i) noexcept {
        std::shared_ptr<const entries> doomed; // destroyed after the lock
        std::lock_guard lock(mutex_);
        if (!hooks_) {
            return;
        }
        auto next = std::make_shared<entries>(*hooks_);
        std::erase_if(*next, [i](const auto& e) { return e.first == i; });
        any_.store(!next->empty(), std::memory_order_release);
        doomed = std::exchange(hooks_, std::move(next));
    }

    /// Calls every hook with `args`.
    void operator()(Args... args) const noexcept {
        // acquire: pairs with the release stores in add()/remove().
        if (!any_.load(std::memory_order_acquire)) {
            return;
        }
        std::shared_ptr<const entries> snapshot;
        {
            std::lock_guard lock(mutex_);
            snapshot = hooks_;
        }
        if (!snapshot) {
            return;
        }
        for (const auto& [i, h] : *snapshot) {
            try {
                h(args...);
            } catch (...) {
                // A hook cannot take the runtime down; the event is counted already.
            }
        }
    }

    [[nodiscard]] bool empty() const noexcept { return !any_.load(std::memory_order_acquire); }

private:
    using entries = std::vector<std::pair<id, hook>>;
    mutable std::mutex mutex_;
    std::shared_ptr<const entries> hooks_; // guarded by mutex_; immutable once published
    id last_id_ = 0;                       // guarded by mutex_
    std::atomic<bool> any_{false};         // a hint: true while hooks_ is non-empty
};

} // namespace troupe
