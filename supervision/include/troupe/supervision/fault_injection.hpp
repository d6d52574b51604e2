// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/spawn_options.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace troupe {

/// Faults to inject into one actor's user messages. Off by default: an actor
/// spawned without a plan pays one null-pointer test per message, and a plan
/// draws a random number only for the probabilities it sets (> 0).
///
/// Each fault fires by probability (seeded: the same seed and the same
/// message sequence give the same faults) or on every n-th message; at most
/// one fault per message, in this precedence: crash, drop, delay, duplicate,
/// reorder. The counters survive restarts (the plan belongs to the actor's
/// cell), so "crash on the 3rd message" means the 3rd message ever received.
///
/// - **drop**: a dead letter with reason `injected_drop` (not an overflow drop).
/// - **delay**: the message is taken out and re-delivered to the back of the
///   mailbox after `delay` on the system clock (not intercepted again).
/// - **duplicate**: the handler runs twice on the same message object; the
///   extra run is counted in `fault_counters::duplicated`, not in
///   `actor_counters::processed`. Skipped for coroutine-task handlers.
/// - **reorder**: the message is held back and handled right after the next
///   user message (a swap). Held or delayed messages are in flight: no
///   `actor_counters` field counts them until they are handled; one left when
///   the actor terminates is dead-lettered (`receiver_down`).
///
/// See `intercepted_message` for the exact semantics. A plan with a
/// probability outside [0, 1] or a negative delay refuses the spawn
/// (`invalid_argument`).
struct fault_plan {
    std::uint64_t seed = 1;            ///< RNG seed: same seed, same faults
    double drop_probability = 0.0;     ///< each user message dropped (dead letter) with p
    std::uint64_t crash_on_nth = 0;    ///< fail the actor on that message (1-based); 0: off
    std::uint64_t crash_every_nth = 0; ///< fail on every n-th message; 0: off

    double delay_probability = 0.0;                 ///< delay each message with p
    std::uint64_t delay_every_nth = 0;              ///< delay every n-th message; 0: off
    duration delay = std::chrono::milliseconds(10); ///< how long a delayed message waits
    double duplicate_probability = 0.0;             ///< handle each message twice with p
    std::uint64_t duplicate_every_nth = 0;          ///< duplicate every n-th; 0: off
    double reorder_probability = 0.0;               ///< swap with the next message with p
    std::uint64_t reorder_every_nth = 0;            ///< reorder every n-th; 0: off
};

/// What an injector has done so far (relaxed snapshot; exact once the actor
/// is idle). Each field counts the injector's decisions.
struct fault_counters {
    std::uint64_t seen = 0;       ///< messages intercepted (re-delivered ones are not)
    std::uint64_t crashed = 0;    ///< crash faults
    std::uint64_t dropped = 0;    ///< drop faults
    std::uint64_t delayed = 0;    ///< delay faults
    std::uint64_t duplicated = 0; ///< duplicate faults (see fault_plan)
    std::uint64_t reordered = 0;  ///< reorder faults (held back)
};

/// An interceptor carrying out `plan` (one per actor; not shared).
[[nodiscard]] std::shared_ptr<message_interceptor> make_fault_injector(const fault_plan& plan);

/// `opts` with a fresh injector for `plan`.
[[nodiscard]] spawn_options with_faults(spawn_options opts, const fault_plan& plan);

/// The counters of an injector made by `make_fault_injector` / `with_faults`
/// (all zero for any other interceptor or null). Any thread.
[[nodiscard]] fault_counters injected_faults(const message_interceptor* interceptor) noexcept;

} // namespace troupe
