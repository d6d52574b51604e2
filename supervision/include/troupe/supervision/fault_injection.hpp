// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/spawn_options.hpp>

#include <cstdint>
#include <memory>

namespace troupe {

/// Faults to inject into one actor's user messages. Off by default: an actor
/// spawned without a plan pays one null-pointer test per message.
///
/// Implemented: `drop_probability` (seeded, reproducible) and `crash_on_nth`
/// / `crash_every_nth`. Not implemented yet: delay, duplicate, reorder.
/// The counters survive restarts (the plan belongs to the actor's cell), so
/// "crash on the 3rd message" means the 3rd message ever received.
struct fault_plan {
    std::uint64_t seed = 1;            ///< RNG seed: same seed, same faults
    double drop_probability = 0.0;     ///< each user message dropped (dead letter) with p
    std::uint64_t crash_on_nth = 0;    ///< fail the actor on that message (1-based); 0: off
    std::uint64_t crash_every_nth = 0; ///< fail on every n-th message; 0: off
};

/// An interceptor carrying out `plan` (one per actor; not shared).
[[nodiscard]] std::shared_ptr<message_interceptor> make_fault_injector(const fault_plan& plan);

/// `opts` with a fresh injector for `plan`.
[[nodiscard]] spawn_options with_faults(spawn_options opts, const fault_plan& plan);

} // namespace troupe
