// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/events/detail/core.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace troupe::events {

/// RAII handle of one subscription: destroying (or `unsubscribe()`) removes
/// it; `release()` detaches the handle and keeps the subscription for the
/// registry's lifetime (or until its actor/token ends it).
///
/// **Threading:** the handle is not shared; unsubscribing may race with
/// publishers, which then may still deliver at most the events they already
/// started. **Memory:** holds the registry weakly; outliving it is fine.
class subscription {
public:
    subscription() = default;
    subscription(std::weak_ptr<detail::core> c, std::uint64_t id) : core_(std::move(c)), id_(id) {}
    subscription(subscription&& o) noexcept
        : core_(std::move(o.core_)), id_(std::exchange(o.id_, 0)) {}
    subscription& operator=(subscription&& o) noexcept {
        if (this != &o) {
            unsubscribe();
            core_ = std::move(o.core_);
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    /// Removes the subscription; true if it was still active.
    bool unsubscribe() {
        if (id_ == 0) {
            return false;
        }
        const auto id = std::exchange(id_, 0);
        if (auto c = core_.lock()) {
            return c->remove(id);
        }
        return false;
    }
    /// Keeps the subscription but forgets it here.
    std::uint64_t release() noexcept { return std::exchange(id_, 0); }
    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ != 0; }

private:
    std::weak_ptr<detail::core> core_;
    std::uint64_t id_ = 0;
};

} // namespace troupe::events
