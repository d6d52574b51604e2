// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/supervision/supervisor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace troupe::detail {

/// Jump consistent hash (Lamping and Veach, 2014): the bucket in
/// `[0, buckets)` for `key`. Equal keys always land in the same bucket;
/// growing from n to n+1 buckets moves only about 1/(n+1) of the keys.
/// The key is mixed first (splitmix64's finalizer), so small or sequential
/// keys spread as well as random ones. O(log buckets).
/// @pre `buckets > 0`
[[nodiscard]] std::uint32_t jump_consistent_hash(std::uint64_t key, std::uint32_t buckets) noexcept;

/// The part of a pool's shared state that does not depend on the protocol:
/// which supervisor incarnation is current, and which incarnation spawned
/// each worker slot. A worker is spawned once per incarnation of the pool's
/// supervisor: either ahead of its first turn, by the thread that spawned it
/// (so the pool's ref works at once), or by its `on_start` (a later
/// incarnation: the pool restarted in place, or a new supervisor spawned by
/// the pool's own parent).
///
/// **Threading:** every member is thread-safe (`mutex_`).
class pool_state_base {
public:
    explicit pool_state_base(std::size_t size) : slots_(size) {}
    pool_state_base(const pool_state_base&) = delete;
    pool_state_base& operator=(const pool_state_base&) = delete;
    ~pool_state_base() = default;

    /// The supervisor `sup` runs `on_start` (its own turn): a new incarnation.
    void begin_incarnation(const actor_addr& sup);
    /// The supervisor of the current (or the newest spawned) incarnation.
    [[nodiscard]] actor_addr supervisor() const;
    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }

protected:
    struct slot_owner {
        actor_addr supervisor;
        std::uint64_t incarnation = 0;
    };
    /// Under `mutex_`: the spawn-ahead of `sup`'s first incarnation should
    /// run (its `on_start` has not spawned the workers yet). Makes `sup`
    /// current, with incarnation 1 to come.
    [[nodiscard]] bool claim_first_incarnation(const actor_addr& sup);
    /// Under `mutex_`: slot `i` holds the current incarnation's worker.
    [[nodiscard]] bool is_current(std::size_t i) const noexcept;
    /// Under `mutex_`: slot `i` now holds a worker of the current
    /// incarnation (or, from the spawn-ahead, of the first one to come).
    void mark_current(std::size_t i, bool ahead);

    mutable std::mutex mutex_;

private:
    actor_addr supervisor_;         // guarded by mutex_
    std::uint64_t incarnation_ = 0; // guarded by mutex_; 0: `supervisor_` has not started
    std::vector<slot_owner> slots_; // guarded by mutex_ (the size is fixed)
};

/// A pool's supervisor: a `supervisor` whose `on_start` first tells the
/// pool's state that a new incarnation begins (so its workers are spawned
/// for it, not reused from the last one).
class pool_supervisor final : public supervisor {
public:
    pool_supervisor(supervisor_options options, std::vector<child_spec> workers,
                    std::weak_ptr<pool_state_base> state);
    void on_start() override;

private:
    std::weak_ptr<pool_state_base> state_; // weak: the state holds a ref to this actor
};

} // namespace troupe::detail
