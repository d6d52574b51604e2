// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/unique_function.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace troupe::internal {

/// The `then` continuations an actor's behaviour is waiting on, by ticket.
///
/// A slab: continuations sit in slots reused through a free list, so keeping
/// and taking one allocates nothing once the slab has grown to the actor's
/// peak of pending continuations (it does not shrink before `clear`). A
/// ticket's sequence number is never handed out twice, so a stale ticket
/// (its continuation dropped by `clear`, its slot reused) matches nothing.
///
/// **Threading:** the owning actor's turn only. **Cost:** O(1) per `add` and
/// `take`; `clear` is O(n) in the slots, once per teardown.
class continuation_table {
public:
    /// Keeps `f`; the returned ticket is never handed out again by this table.
    detail::continuation_ticket add(detail::unique_function f) {
        std::uint32_t slot = 0;
        if (free_.empty()) {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.emplace_back();
        } else {
            slot = free_.back();
            free_.pop_back();
        }
        entry& e = slots_[slot];
        e.fn = std::move(f);
        e.seq = ++last_seq_;
        ++size_;
        return {e.seq, slot};
    }
    /// Removes and returns the continuation for `t` (empty if there is none:
    /// it ran, or a teardown dropped it).
    detail::unique_function take(detail::continuation_ticket t) {
        if (t.slot >= slots_.size() || slots_[t.slot].seq != t.seq || !slots_[t.slot].fn) {
            return {};
        }
        entry& e = slots_[t.slot];
        detail::unique_function f = std::move(e.fn);
        e.seq = 0;
        free_.push_back(t.slot);
        --size_;
        return f;
    }
    /// Drops every pending continuation (their captures are destroyed; a
    /// capture's destructor may use the table again).
    void clear() noexcept {
        std::vector<entry> doomed = std::exchange(slots_, {});
        free_.clear();
        size_ = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    struct entry {
        detail::unique_function fn;
        std::uint64_t seq = 0; // 0: free
    };
    std::vector<entry> slots_;
    std::vector<std::uint32_t> free_; // indices of free slots
    std::size_t size_ = 0;
    std::uint64_t last_seq_ = 0;
};

} // namespace troupe::internal
