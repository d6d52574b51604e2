// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/spawn_options.hpp>

#include "actor_timers.hpp"
#include "continuation_table.hpp"
#include "exit_observers.hpp"
#include "message_stash.hpp"
#include "sender_waitlist.hpp"
#include "task_slot.hpp"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace troupe::detail {

/// The name and non-default spawn options of an actor; immutable after
/// adoption (the waitlist is thread-safe on its own).
struct cell_options {
    std::string name;            // empty for unnamed actors
    std::string registered_path; // set by adopt() (before the first turn); unregistered at exit
    duration shutdown_timeout = duration::max();
    std::shared_ptr<message_interceptor> interceptor;
    duration block_timeout{}; // policies block / suspend, from a plain thread
    cell_ptr redirect;        // policy redirect
    std::uint32_t stash_capacity = spawn_options{}.stash_capacity;
    internal::sender_waitlist waiting_senders;
};

/// State of an actor that other threads touch, rarely: counters of rare
/// outcomes, the exit cause, and the stop and kill requests. Installed by
/// the first thread that needs it (`cell::shared()`).
struct cell_shared {
    // Buckets of `actor_counters` (cell::counters has the reading protocol).
    // Moves from the queue or from a sender: any thread, release RMW.
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> redirected{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    // Moves out of flight (the actor's own turn, single writer): together
    // with `cell::handled_`, inside a write section of `flight_seq` (odd
    // while writing) so a snapshot sees the move whole or not at all.
    std::atomic<std::uint64_t> flight_seq{0};
    std::atomic<std::uint64_t> flight_dropped{0};
    std::atomic<std::uint64_t> flight_dead{0};
    std::atomic<std::uint32_t> restarts{0};  // statistic: own turn writes, relaxed
    std::atomic<bool> deferred{false};       // the parent deferred its decision; relaxed
    std::unique_ptr<const error> exit_cause; // written before terminated_ (release)

    /// How a requested kill ends: terminated, or torn down in place (a
    /// group-restart member that overran its shutdown timeout).
    enum class kill_mode : std::uint8_t { none, terminate, in_place };
    std::atomic<kill_mode> kill{kill_mode::none}; // release store after kill_cause

    mutable std::mutex mutex;
    std::optional<std::stop_source> stop_source;  // guarded by mutex
    error stop_cause;                             // guarded by mutex; the first requested
    bool stop_signalled = false;                  // guarded by mutex
    error kill_cause;                             // guarded by mutex
    stop_origin kill_origin = stop_origin::other; // guarded by mutex
};

/// An ordered stop of this actor's children, one at a time, newest first.
struct child_stop_sequence {
    cell* awaited = nullptr; // the child being stopped now (listed)
    timer_id overrun_timer = 0;
    error cause;
};

/// A group restart (one_for_all / rest_for_one) this actor runs for its
/// children: halt newest first, then start in start order.
struct group_restart {
    std::vector<cell_ptr> members; // start order
    std::size_t next = 0;          // halting: members left to halt; starting: started so far
    bool starting = false;
    cell* awaited = nullptr;
    timer_id overrun_timer = 0;
    error cause;
};

/// Per-actor state that most actors never need; created on first use and
/// touched only on the actor's own turn.
struct cell_extras {
    internal::exit_observers observers;
    internal::actor_timers timers;
    internal::task_slot task;
    internal::continuation_table continuations;
    std::optional<child_stop_sequence> stopping;
    std::deque<group_restart> groups; // the front one runs
    std::optional<error> failure;     // while failed: why (it stays the exit cause)
    internal::message_stash stash;
    std::vector<std::unique_ptr<behavior_base>> behaviors; // become's stack, top last
    std::vector<std::unique_ptr<behavior_base>>
        retired; // replaced or popped: freed at the next message
};

} // namespace troupe::detail
