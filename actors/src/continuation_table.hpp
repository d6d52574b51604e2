// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/unique_function.hpp>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>

namespace troupe::internal {

/// The `then` continuations an actor's behaviour is waiting on, by id.
///
/// **Threading:** the owning actor's turn only. **Cost:** O(1) average per
/// operation; `clear` is O(n) in the pending continuations, once per teardown.
class continuation_table {
public:
    /// Keeps `f`; the returned id is never handed out again by this table.
    std::uint64_t add(detail::unique_function f) {
        const std::uint64_t id = ++last_id_;
        pending_.emplace(id, std::move(f));
        return id;
    }
    /// Removes and returns the continuation for `id` (empty if there is none:
    /// it ran, or a teardown dropped it).
    detail::unique_function take(std::uint64_t id) {
        auto it = pending_.find(id);
        if (it == pending_.end()) {
            return {};
        }
        detail::unique_function f = std::move(it->second);
        pending_.erase(it);
        return f;
    }
    /// Drops every pending continuation (their captures are destroyed).
    void clear() noexcept { pending_.clear(); }
    [[nodiscard]] std::size_t size() const noexcept { return pending_.size(); }

private:
    std::unordered_map<std::uint64_t, detail::unique_function> pending_;
    std::uint64_t last_id_ = 0;
};

} // namespace troupe::internal
