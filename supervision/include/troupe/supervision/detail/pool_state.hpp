// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/supervision/pool_routing.hpp>
#include <troupe/supervision/supervisor.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
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

/// The message types of `Protocol`, as a tuple.
template <class Protocol>
struct alternatives {
    using type = std::tuple<Protocol>;
};
template <class... Ms>
struct alternatives<std::variant<Ms...>> {
    using type = std::tuple<Ms...>;
};

template <class M, class... Ms>
constexpr std::size_t index_in(std::tuple<Ms...>* /*tag*/) noexcept {
    constexpr std::array<bool, sizeof...(Ms)> same{std::is_same_v<M, Ms>...};
    for (std::size_t i = 0; i < same.size(); ++i) {
        if (same[i]) {
            return i;
        }
    }
    return sizeof...(Ms);
}
/// The index of `M` among `Protocol`'s message types.
template <class Protocol, class M>
inline constexpr std::size_t
    alternative_index_v = index_in<M>(static_cast<typename alternatives<Protocol>::type*>(nullptr));

template <class F, class... Ms>
constexpr bool keys_all(std::tuple<Ms...>* /*tag*/) noexcept {
    return (std::is_invocable_r_v<std::uint64_t, const F&, const Ms&> && ...);
}
/// `F` gives a `std::uint64_t` key for every message type of `Protocol`.
template <class Protocol, class F>
concept keys_every_message =
    keys_all<F>(static_cast<typename alternatives<Protocol>::type*>(nullptr));

template <class F, class M>
std::uint64_t key_thunk(const F& f, const void* msg) {
    return static_cast<std::uint64_t>(f(*static_cast<const M*>(msg)));
}
template <class F, class... Ms>
std::uint64_t call_key(const F& f, std::size_t alt, const void* msg, std::tuple<Ms...>* /*tag*/) {
    using thunk = std::uint64_t (*)(const F&, const void*);
    static constexpr std::array<thunk, sizeof...(Ms)> table{&key_thunk<F, Ms>...};
    return table[alt](f, msg);
}

/// Spawns one worker under the given supervisor (`system::spawn_child_of`);
/// holds the worker's constructor arguments.
template <class Protocol>
using worker_spawner = std::function<actor_ref<Protocol>(
    const actor_addr& parent, const std::string& name, const spawn_options& opts)>;

/// A pool's shared state: the worker refs and the router. Owned by the
/// pool's refs; the supervisor's child specs hold it weakly (the state holds
/// strong refs to the actors, whose spawn arguments hold the specs).
///
/// **Threading:** every member is thread-safe. A pick takes `mutex_` for a
/// few instructions (least-loaded: N relaxed loads) and copies one ref; the
/// send itself runs outside the lock.
template <class Protocol>
class pool_state final : public pool_state_base {
public:
    using key_function = std::function<std::uint64_t(std::size_t alternative, const void* msg)>;

    pool_state(std::size_t size, pool_routing routing, key_function key)
        : pool_state_base(size), routing_(routing), key_(std::move(key)), workers_(size) {}

    /// The worker for a message of alternative `alt` at `msg` (an empty ref
    /// while no worker was ever spawned).
    [[nodiscard]] actor_ref<Protocol> pick(std::size_t alt, const void* msg) {
        // The user's key function runs outside the lock.
        const std::uint64_t key = routing_ == pool_routing::consistent_hash ? key_(alt, msg) : 0;
        std::lock_guard lock(mutex_);
        const std::size_t n = workers_.size();
        std::size_t i = 0;
        if (routing_ == pool_routing::round_robin) {
            i = static_cast<std::size_t>(next_++ % n);
        } else if (routing_ == pool_routing::least_loaded) {
            // O(n): one relaxed snapshot of each mailbox. The scan starts
            // after the last pick, so equal loads take turns.
            std::uint32_t best = std::numeric_limits<std::uint32_t>::max();
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t j = static_cast<std::size_t>((next_ + k) % n);
                const std::uint32_t depth = workers_[j].queued_messages();
                if (depth < best) {
                    best = depth;
                    i = j;
                }
            }
            next_ = i + 1;
        } else {
            i = jump_consistent_hash(key, static_cast<std::uint32_t>(n));
        }
        return workers_[i];
    }

    /// Copies of the worker refs, in slot order.
    [[nodiscard]] std::vector<actor_ref<Protocol>> workers() const {
        std::lock_guard lock(mutex_);
        return workers_;
    }

    /// From the thread that spawned `sup`: spawns every worker under it,
    /// unless its `on_start` already did.
    void spawn_ahead(const actor_addr& sup, const std::vector<child_spec>& specs,
                     const worker_spawner<Protocol>& spawn) {
        std::lock_guard lock(mutex_);
        if (!claim_first_incarnation(sup)) {
            return;
        }
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            workers_[i] = spawn(sup, specs[i].name, specs[i].options);
            mark_current(i, true);
        }
    }

    /// From the supervisor's `on_start` (a child spec's start): the worker
    /// of slot `i` for this incarnation, spawned now unless the spawn-ahead
    /// did and it still runs (it may have stopped itself before the
    /// supervisor ruled on its children's exits).
    actor_addr ensure(std::size_t i, const actor_addr& sup, const std::string& name,
                      const spawn_options& opts, const worker_spawner<Protocol>& spawn) {
        std::lock_guard lock(mutex_);
        if (!is_current(i) || workers_[i].addr().is_terminated()) {
            workers_[i] = spawn(sup, name, opts);
            mark_current(i, false);
        }
        return workers_[i].addr();
    }

private:
    const pool_routing routing_;
    const key_function key_;
    std::vector<actor_ref<Protocol>> workers_; // guarded by mutex_ (the size is fixed)
    std::uint64_t next_ = 0;                   // guarded by mutex_: where the next pick starts
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
