// Part of troupe. See LICENSE at the repository root.
//
// Supervision benchmarks, troupe and CAF 0.17 side by side.
//
//   troupe/supervision/restart          fail -> restart -> answer cycles: a
//                                       supervised child throws, the supervisor
//                                       restarts it in place, an ask to the same
//                                       ref is answered by the new instance.
//   troupe/supervision/shutdown/10000   ordered stop of a 10,000-actor tree
//                                       (1 root supervisor, 100 sub-supervisors,
//                                       99 workers each), children before
//                                       parents, newest first.
//   troupe/supervision/restart_storm/1000  1,000 supervisors, one flaky child
//                                       each, 20 fail/restart cycles per child
//                                       per iteration (60 failures per child in
//                                       all): items/s = restarts per second.
//   troupe/supervision/restart_storm/1000/180  the same storm three times as long
//                                       (180 failures per child): flat memory
//                                       means the same bytes_per_supervisor and
//                                       bytes_per_failure ~ 0 at both lengths.
//
// Memory in the restart storms is the live heap (glibc mallinfo2, see
// common/heap.hpp), not RSS, and per failure only once the bounded state is
// in place. RSS also moves with what glibc keeps in its arenas for reuse, and
// growth counted from before the first failure charges each actor's bounded
// state (its first-failure bookkeeping, the window's restart times, the
// capped history) to the failures of one short run: that figure falls as the
// run grows instead of telling whether anything grows per failure.
// Both counters are taken at quiescent points (every ask answered):
//   bytes_per_failure     live-heap growth per failure after a warm-up storm
//                         that lasts longer than the intensity window (1 s), so
//                         each supervisor's bounded state (the window's restart
//                         times, its capped failure history) and each actor's
//                         one-time state are already there: what is left is
//                         growth per failure, which must be ~0. It can step
//                         up by ~1-2 bytes in a run where the rate rises: a
//                         window's restart times live in a ring that doubles
//                         (and stays) when more of them fit in the window than
//                         during the warm-up.
//   bytes_per_supervisor  live-heap growth from before the first failure to the
//                         end, per supervisor-and-child pair: the bounded state.
//
// CAF has no supervisors, so the CAF cases are the closest honest idioms:
//   caf/supervision/restart          a monitor actor respawns a worker that quits
//                                    with an error and then answers the request
//                                    (a new actor each time: CAF cannot keep the
//                                    handle or the mailbox, troupe does both).
//   caf/supervision/shutdown/10000   10,000 actors linked to one root; the root
//                                    gets an exit message and the links take the
//                                    others down (unordered: CAF does no ordered
//                                    shutdown, so it does less work).
//   caf/supervision/restart_storm/1000[/180]  1,000 monitor actors, each
//                                    respawning its worker 20 (60) times per
//                                    iteration, after the same warm-up.
// The shutdown cases run a fixed 10 iterations: their paused setup (building
// 10,000 actors) dwarfs the measured part.
// Setup and teardown run with timing paused; completion is signalled through
// promises, never sleeps or polling.

#include <troupe/troupe.hpp>

#include "common/heap.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;

// -- troupe -----------------------------------------------------------------------------------

struct crash {};
struct ping {
    using reply_type = int;
};
using worker_protocol = std::variant<crash, ping>;

class flaky : public troupe::actor<worker_protocol> {
public:
    void on(crash&) { throw std::runtime_error("crash"); }
    int on(ping&) { return 1; }
};

struct idle {};
class sleeper : public troupe::actor<idle> {
public:
    void on(idle&) {}
};

void troupe_restart(benchmark::State& state) {
    troupe::system sys;
    troupe::supervisor_options o;
    o.max_restarts = 1'000'000'000;
    o.within = 1s;
    auto sup = sys.spawn<troupe::supervisor>(
        o, std::vector<troupe::child_spec>{troupe::make_child<flaky>("w")});
    (void)sup.ask(troupe::which_children{}, 10s).get();
    auto w = *sys.find<worker_protocol>(sup.addr().path() + "/w");
    for (auto _ : state) {
        (void)w.tell(crash{});
        auto r = w.ask(ping{}, 10s).get(); // handled by the restarted instance
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}

void troupe_shutdown(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        troupe::system sys;
        std::vector<troupe::child_spec> subs;
        for (int i = 0; i < 100; ++i) {
            std::vector<troupe::child_spec> leaves;
            leaves.reserve(99);
            for (int j = 0; j < 99; ++j) {
                leaves.push_back(troupe::make_child<sleeper>("w" + std::to_string(j)));
            }
            subs.push_back(troupe::make_child<troupe::supervisor>(
                "s" + std::to_string(i), troupe::supervisor_options{}, std::move(leaves)));
        }
        auto root = sys.spawn<troupe::supervisor>(troupe::supervisor_options{}, std::move(subs));
        auto kids = root.ask(troupe::which_children{}, 30s).get();
        for (auto& k : *kids) {
            auto s = sys.find<troupe::supervisor_protocol>(k.addr.path());
            (void)s->ask(troupe::which_children{}, 30s).get();
        }
        state.ResumeTiming();
        (void)root.stop();
        (void)sys.wait_for_exit(root.addr(), 60s);
        state.PauseTiming();
        (void)sys.shutdown();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * 10'001);
}

constexpr int storm_supervisors = 1000;
constexpr int storm_cycles = 20;       // per iteration, in restart_storm/1000
constexpr int storm_long_cycles = 60;  // per iteration, in restart_storm/1000/180
constexpr auto storm_window = 1s;      // the supervisors' intensity window
constexpr auto storm_warm_up = 1200ms; // longer than the window: it fills up first

/// Live heap before the first failure and after the warm-up storm.
struct storm_heap {
    std::size_t start = 0;
    std::size_t warm = 0;
};

/// Runs `cycle` (one failure per child) for at least `storm_warm_up`, recording the live heap
/// before and after.
template <class Cycle>
storm_heap warm_up_storm(Cycle&& cycle) {
    storm_heap h;
    h.start = troupe::bench::live_heap_bytes();
    const auto until = std::chrono::steady_clock::now() + storm_warm_up;
    do {
        cycle();
    } while (std::chrono::steady_clock::now() < until);
    h.warm = troupe::bench::live_heap_bytes();
    return h;
}

/// Restarts per second and the live-heap counters described at the top (both sides).
void report_storm(benchmark::State& state, const storm_heap& h, int cycles) {
    const auto end = static_cast<double>(troupe::bench::live_heap_bytes());
    const double failures = static_cast<double>(state.iterations()) * storm_supervisors * cycles;
    state.SetItemsProcessed(state.iterations() * storm_supervisors * cycles);
    state.counters["bytes_per_failure"] =
        benchmark::Counter((end - static_cast<double>(h.warm)) / failures);
    state.counters["bytes_per_supervisor"] =
        benchmark::Counter((end - static_cast<double>(h.start)) / storm_supervisors);
}

void troupe_restart_storm(benchmark::State& state, int cycles) {
    if (!troupe::bench::has_live_heap_probe) {
        state.SkipWithError("no live-heap probe on this platform (glibc >= 2.33 needed)");
        return;
    }
    troupe::system sys;
    troupe::supervisor_options o;
    o.max_restarts = 1'000'000'000; // never gives up: the history must stay bounded anyway
    o.within = storm_window;
    std::vector<troupe::actor_ref<worker_protocol>> workers;
    for (int i = 0; i < storm_supervisors; ++i) {
        auto sup = sys.spawn<troupe::supervisor>(
            o, std::vector<troupe::child_spec>{troupe::make_child<flaky>("w")});
        (void)sup.ask(troupe::which_children{}, 10s).get();
        workers.push_back(*sys.find<worker_protocol>(sup.addr().path() + "/w"));
    }
    const auto cycle = [&] {
        for (auto& w : workers) {
            (void)w.tell(crash{});
        }
        for (auto& w : workers) { // answered by the restarted instance
            benchmark::DoNotOptimize(w.ask(ping{}, 10s).get());
        }
    };
    const storm_heap heap = warm_up_storm(cycle);
    for (auto _ : state) {
        for (int c = 0; c < cycles; ++c) {
            cycle();
        }
    }
    report_storm(state, heap, cycles);
}

// -- CAF --------------------------------------------------------------------------------------

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::behavior caf_flaky(caf::event_based_actor* self) {
    return {[self](crash_atom) { self->quit(caf::sec::runtime_error); },
            [](ping_atom) { return 1; }};
}

// Respawns the worker when it goes down, then forwards the pending ping.
caf::behavior caf_monitor(caf::event_based_actor* self) {
    auto worker = std::make_shared<caf::actor>(self->spawn(caf_flaky));
    auto pending = std::make_shared<caf::response_promise>();
    self->monitor(*worker);
    self->set_down_handler([self, worker, pending](caf::down_msg&) {
        *worker = self->spawn(caf_flaky);
        self->monitor(*worker);
        self->request(*worker, caf::infinite, ping_atom::value).then([pending](int x) {
            pending->deliver(x);
        });
    });
    return {[self, worker, pending](crash_atom) {
        *pending = self->make_response_promise();
        self->send(*worker, crash_atom::value);
        return *pending;
    }};
}

struct caf_runtime {
    caf::actor_system_config cfg;
    caf::actor_system sys;
    caf_runtime() : sys(configure(cfg)) {}
    static caf::actor_system_config& configure(caf::actor_system_config& c) {
        c.set("scheduler.max-threads",
              static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
        return c;
    }
};

void caf_restart(benchmark::State& state) {
    caf_runtime rt;
    auto mon = rt.sys.spawn(caf_monitor);
    caf::scoped_actor self{rt.sys};
    for (auto _ : state) {
        self->request(mon, caf::infinite, crash_atom::value)
            .receive([](int x) { benchmark::DoNotOptimize(x); }, [](caf::error&) {});
    }
    state.SetItemsProcessed(state.iterations());
    caf::anon_send_exit(mon, caf::exit_reason::user_shutdown);
}

void caf_restart_storm(benchmark::State& state, int cycles) {
    if (!troupe::bench::has_live_heap_probe) {
        state.SkipWithError("no live-heap probe on this platform (glibc >= 2.33 needed)");
        return;
    }
    caf_runtime rt;
    std::vector<caf::actor> monitors;
    monitors.reserve(storm_supervisors);
    for (int i = 0; i < storm_supervisors; ++i) {
        monitors.push_back(rt.sys.spawn(caf_monitor));
    }
    caf::scoped_actor self{rt.sys};
    const auto cycle = [&] {
        for (auto& m : monitors) { // one crash and respawn per monitor, answered in turn
            self->request(m, caf::infinite, crash_atom::value)
                .receive([](int x) { benchmark::DoNotOptimize(x); }, [](caf::error&) {});
        }
    };
    const storm_heap heap = warm_up_storm(cycle);
    for (auto _ : state) {
        for (int c = 0; c < cycles; ++c) {
            cycle();
        }
    }
    report_storm(state, heap, cycles);
    for (auto& m : monitors) {
        caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
    }
}

void caf_shutdown(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        auto rt = std::make_unique<caf_runtime>();
        auto root =
            rt->sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
        std::atomic<int> left{10'000};
        std::promise<void> all_down;
        std::atomic<int> linked{0};
        std::promise<void> all_linked;
        // Handles are kept: CAF terminates actors nobody references.
        std::vector<caf::actor> kids;
        kids.reserve(10'000);
        for (int i = 0; i < 10'000; ++i) {
            kids.push_back(rt->sys.spawn([&, root](caf::event_based_actor* self) -> caf::behavior {
                self->link_to(root);
                self->attach_functor([&] {
                    if (left.fetch_sub(1) == 1) {
                        all_down.set_value();
                    }
                });
                if (linked.fetch_add(1) + 1 == 10'000) {
                    all_linked.set_value();
                }
                return {[](int) {}};
            }));
        }
        all_linked.get_future().wait();
        state.ResumeTiming();
        caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
        all_down.get_future().wait();
        state.PauseTiming();
        root = nullptr;
        kids.clear();
        rt.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * 10'001);
}

} // namespace

BENCHMARK(troupe_restart)->Name("troupe/supervision/restart")->UseRealTime();
BENCHMARK(caf_restart)->Name("caf/supervision/restart")->UseRealTime();
BENCHMARK_CAPTURE(troupe_restart_storm, short, storm_cycles)
    ->Name("troupe/supervision/restart_storm/1000")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(caf_restart_storm, short, storm_cycles)
    ->Name("caf/supervision/restart_storm/1000")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(troupe_restart_storm, long, storm_long_cycles)
    ->Name("troupe/supervision/restart_storm/1000/180")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(caf_restart_storm, long, storm_long_cycles)
    ->Name("caf/supervision/restart_storm/1000/180")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(troupe_shutdown)
    ->Name("troupe/supervision/shutdown/10000")
    ->UseRealTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(caf_shutdown)
    ->Name("caf/supervision/shutdown/10000")
    ->UseRealTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);
