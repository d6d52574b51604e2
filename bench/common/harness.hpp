// Part of troupe. See LICENSE at the repository root.
//
// Helpers shared by every benchmark file (troupe and CAF sides alike).
#pragma once

#include <benchmark/benchmark.h>

namespace troupe::bench {

/// Pauses benchmark timing for the lifetime of the object (set-up and
/// tear-down of actors happen under it).
class paused_timing {
public:
    explicit paused_timing(benchmark::State& state) : state_(state) { state_.PauseTiming(); }
    paused_timing(const paused_timing&) = delete;
    paused_timing& operator=(const paused_timing&) = delete;
    ~paused_timing() { state_.ResumeTiming(); }

private:
    benchmark::State& state_;
};

} // namespace troupe::bench
