// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/spin_lock.hpp>
#include <troupe/mailbox/cache_line.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace troupe::detail {
class ask_state_base;
}

namespace troupe::internal {

/// The deadlines of a system's pending asks.
///
/// An ask used to cost a clock timer: a balanced-tree insert when it was
/// sent and an erase when its reply came, both under the clock's lock. Here
/// asks with the same timeout share one FIFO list: their deadlines are `now
/// + timeout` with `now` read under this object's lock, so each list is
/// sorted by arrival and its head is due first. A list keeps exactly one
/// clock timer, set for a deadline no later than its head's; when it fires,
/// the due asks fail with `timeout` and the timer is set again for the new
/// head, or the list is dropped if it is empty. Arming and disarming is thus
/// an O(1) link or unlink, and the clock sees about one timer per list per
/// timeout period, however many asks pass.
///
/// Precision: an ask times out at its own deadline (the clock's timer for a
/// list is never later than its head's deadline). Memory: a list outlives
/// its last ask by at most one timeout.
///
/// The lists are sharded by the arming thread (`shard_count` shards, each
/// on its own cache lines), so threads asking at once do not contend; a
/// reply unlinks its ask from whichever shard armed it.
///
/// **Threading:** every member may be called from any thread; a shard's
/// spin lock guards its lists and the list fields of every state linked in
/// them. Lock order: a shard's lock, then the clock's (arming reads the time
/// and may schedule under it); the clock calls back without its lock held.
class ask_deadlines {
public:
    explicit ask_deadlines(clock& clk) noexcept : clock_(clk) {}
    ask_deadlines(const ask_deadlines&) = delete;
    ask_deadlines& operator=(const ask_deadlines&) = delete;
    /// Releases the states still linked (the clock has been shut down by
    /// then: no timer of ours can run).
    ~ask_deadlines();

    /// Links `s` (taking a reference) to fail with `timeout` at `now +
    /// timeout`, unless that sum saturates to `time_point::max()` (never).
    void arm(detail::ask_state_base& s, duration timeout);
    /// Unlinks `s` if it is still linked (dropping the reference).
    void disarm(detail::ask_state_base& s) noexcept;

    /// Test seam: the lists alive (one per distinct timeout in use and
    /// shard that armed it).
    [[nodiscard]] std::size_t lists() const;

    static constexpr std::size_t shard_count = 8;

private:
    struct list {
        detail::ask_state_base* head = nullptr;
        detail::ask_state_base* tail = nullptr;
    };
    struct alignas(cache_line_size) shard {
        mutable detail::spin_lock lock;
        // By timeout; nodes are stable, so states point at their list.
        std::unordered_map<duration::rep, list> lists; // guarded by lock
    };
    void schedule(shard& sh, duration::rep key, time_point at); // under sh.lock
    void expire(shard& sh, duration::rep key);                  // a list's timer fired
    static void unlink(list& l, detail::ask_state_base& s) noexcept;

    clock& clock_;
    std::array<shard, shard_count> shards_;
};

} // namespace troupe::internal
