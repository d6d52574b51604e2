// Part of troupe. See LICENSE at the repository root.
//
// How the core's costs grow (troupe side; CAF side in caf_scale_bench.cpp):
//
//   troupe/stop_chain/N   stop a chain of N nested actors (each the only child
//                         of the one before): items/s = actors stopped per
//                         second. Linear cost shows as a flat rate across N.
//   troupe/timers/N       one actor arms N delayed tells (an hour out) in one
//                         handler: items/s = timers armed per second; a flat
//                         rate across N means O(1) amortized bookkeeping per
//                         timer (plus the clock's O(log N)).
//
// Setup (building the chain) and teardown run with timing paused; completion
// is signalled through latches.

#include <troupe/troupe.hpp>

#include "common/harness.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <latch>
#include <variant>

namespace {

namespace tb = troupe::bench;
using namespace std::chrono_literals;

// -- stop_chain/N ------------------------------------------------------------------------------

struct nothing {};

/// Spawns the next link in on_start until `depth` links exist below the root.
class link_actor final : public troupe::actor<nothing> {
public:
    link_actor(std::int64_t below, std::latch* built) : below_(below), built_(built) {}
    void on_start() override {
        if (below_ == 0) {
            built_->count_down();
        } else {
            (void)spawn<link_actor>(below_ - 1, built_);
        }
    }
    void on(nothing& /*unused*/) {}

private:
    std::int64_t below_;
    std::latch* built_;
};

void BM_Troupe_StopChain(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for (auto _ : state) {
        state.PauseTiming();
        troupe::system sys;
        std::latch built(1);
        auto root = sys.spawn<link_actor>(n - 1, &built);
        built.wait();
        state.ResumeTiming();
        (void)root.stop();
        auto cause = sys.wait_for_exit(root.addr(), 600s);
        state.PauseTiming();
        if (!cause) {
            state.SkipWithError("stop_chain: the chain did not stop");
            break;
        }
        (void)sys.shutdown();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

// -- timers/N
// --------------------------------------------------------------------------------------

struct arm {
    std::int64_t count;
    std::latch* done;
};
using timer_protocol = std::variant<arm, nothing>;

class timer_owner final : public troupe::actor<timer_protocol> {
public:
    void on(arm& a) {
        for (std::int64_t i = 0; i < a.count; ++i) {
            (void)delayed_tell(self(), 1h, nothing{});
        }
        a.done->count_down();
    }
    void on(nothing& /*unused*/) {}
};

void BM_Troupe_Timers(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    troupe::system sys;
    for (auto _ : state) {
        std::latch done(1);
        troupe::actor_ref<timer_protocol> owner;
        {
            tb::paused_timing pause(state);
            owner = sys.spawn<timer_owner>();
        }
        (void)owner.tell(arm{n, &done});
        done.wait();
        tb::paused_timing pause(state);
        (void)owner.stop(); // cancels every timer it armed
        (void)sys.wait_for_exit(owner.addr(), 60s);
    }
    state.SetItemsProcessed(state.iterations() * n);
}

} // namespace

BENCHMARK(BM_Troupe_StopChain)
    ->Name("troupe/stop_chain")
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_Timers)
    ->Name("troupe/timers")
    ->Arg(1000)
    ->Arg(32000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
