// Part of troupe. See LICENSE at the repository root.
//
// CAF 0.17 counterparts of troupe_scale_bench.cpp:
//
//   caf/stop_chain/N   a chain of N actors, each spawned (linked) by the one
//                      before; the head quits with user_shutdown and the
//                      links take the chain down (CAF stops links without
//                      ordering, so it does less work than troupe's ordered
//                      stop).
//   caf/timers/N       one actor arms N delayed sends to itself (an hour out)
//                      in one handler.

#include "common/caf_runtime.hpp"
#include "common/harness.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <latch>
#include <optional>

namespace {

namespace tb = troupe::bench;

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;

/// One link of the chain. It holds its child's handle (CAF terminates actors
/// nobody references) and counts `gone` down when it terminates: CAF's
/// await_all_actors_done() does not wait for actors spawned by actors.
caf::behavior caf_link(caf::event_based_actor* self, std::int64_t below, std::latch* built,
                       std::latch* gone) {
    self->attach_functor([gone] { gone->count_down(); });
    caf::actor child;
    if (below == 0) {
        built->count_down();
    } else {
        child = self->spawn<caf::linked>(caf_link, below - 1, built, gone);
    }
    return {[child](tick_atom) {}};
}

void BM_Caf_StopChain(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for (auto _ : state) {
        state.PauseTiming();
        std::optional<tb::caf_runtime> rt;
        rt.emplace();
        auto& sys = rt->system();
        std::latch built(1);
        std::latch gone(n);
        auto head = sys.spawn(caf_link, n - 1, &built, &gone);
        built.wait();
        state.ResumeTiming();
        caf::anon_send_exit(head, caf::exit_reason::user_shutdown);
        gone.wait();
        state.PauseTiming();
        head = nullptr;
        rt.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

caf::behavior caf_timer_owner(caf::event_based_actor* self, std::int64_t count, std::latch* done) {
    return {
        [self, count, done](arm_atom) {
            for (std::int64_t i = 0; i < count; ++i) {
                self->delayed_send(self, std::chrono::hours(1), tick_atom::value);
            }
            done->count_down();
        },
        [](tick_atom) {},
    };
}

void BM_Caf_Timers(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    tb::caf_runtime rt;
    auto& sys = rt.system();
    for (auto _ : state) {
        std::latch done(1);
        caf::actor owner;
        {
            tb::paused_timing pause(state);
            owner = sys.spawn(caf_timer_owner, n, &done);
        }
        caf::anon_send(owner, arm_atom::value);
        done.wait();
        tb::paused_timing pause(state);
        caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
        owner = nullptr;
        sys.await_all_actors_done();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

} // namespace

BENCHMARK(BM_Caf_StopChain)
    ->Name("caf/stop_chain")
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_Timers)
    ->Name("caf/timers")
    ->Arg(1000)
    ->Arg(32000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
