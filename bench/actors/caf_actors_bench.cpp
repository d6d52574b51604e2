// Part of troupe. See LICENSE at the repository root.
//
// CAF 0.17 counterparts of the core actor benchmarks in troupe_actors_bench.cpp
// (docs/architecture.md "Benchmark method").
// Work per iteration comes from bench/common/workloads.hpp, so both sides do the same thing.
//
// Every benchmark run owns one caf::actor_system. Its scheduler is CAF's default work-stealing
// one, with one worker per hardware thread: CAF's own default is max(hardware threads, 4), which
// on the 2-core benchmark machines would oversubscribe the cores and handicap CAF.
//
// Actors are spawned and torn down per iteration with timing paused (except in spawn/N, where
// that is the measured work); actors report completion through a std::latch (atomic + promise),
// never through sleeps or polling.

#include "common/caf_runtime.hpp"
#include "common/harness.hpp"
#include "common/rss.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

namespace {

namespace tb = troupe::bench;

using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using ask_atom = caf::atom_constant<caf::atom("ask")>;

// -- shared helpers -------------------------------------------------------------------------------

// -- ping_pong ------------------------------------------------------------------------------------

caf::behavior pong_actor(caf::event_based_actor* self) {
    return {
        [](ping_atom, std::int64_t remaining) {
            return caf::make_message(pong_atom::value, remaining);
        },
        [self](stop_atom) { self->quit(); },
    };
}

/// Sends the first ping on `start` and answers each pong with the next ping until `round_trips`
/// round trips are done; then stops the ponger, signals `done` and quits.
caf::behavior ping_actor(caf::event_based_actor* self, const caf::actor& pong,
                         std::int64_t round_trips, std::latch* done) {
    return {
        [self, pong, round_trips](start_atom) { self->send(pong, ping_atom::value, round_trips); },
        [self, pong, done](pong_atom, std::int64_t remaining) {
            if (remaining > 1) {
                self->send(pong, ping_atom::value, remaining - 1);
                return;
            }
            self->send(pong, stop_atom::value);
            done->count_down();
            self->quit();
        },
    };
}

void BM_Caf_PingPong(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t round_trips = tb::ping_pong_round_trips;
    for (auto _ : state) {
        std::latch done(1);
        caf::actor ping;
        {
            tb::paused_timing pause(state);
            auto pong = sys.spawn(pong_actor);
            ping = sys.spawn(ping_actor, pong, round_trips, &done);
        }
        caf::anon_send(ping, start_atom::value);
        done.wait();
        tb::paused_timing pause(state);
        ping = nullptr;
        sys.await_all_actors_done();
    }
    state.SetItemsProcessed(state.iterations() * round_trips);
}

// -- fan_in/N -------------------------------------------------------------------------------------

struct receiver_state {
    std::int64_t received = 0;
    std::int64_t checksum = 0;
};

/// Counts `expected` messages, publishes the sum of their payloads to `checksum`, signals `done`
/// and quits.
caf::behavior fan_in_receiver(caf::stateful_actor<receiver_state>* self, std::int64_t expected,
                              std::int64_t* checksum, std::latch* done) {
    return {
        [self, expected, checksum, done](std::int64_t value) {
            auto& st = self->state;
            st.checksum += value;
            if (++st.received == expected) {
                *checksum = st.checksum;
                done->count_down();
                self->quit();
            }
        },
    };
}

/// On `start`, sends 0 .. count-1 to `receiver` as fast as it can, then quits.
caf::behavior fan_in_sender(caf::event_based_actor* self, const caf::actor& receiver,
                            std::int64_t count) {
    return {
        [self, receiver, count](start_atom) {
            for (std::int64_t i = 0; i < count; ++i) {
                self->send(receiver, i);
            }
            self->quit();
        },
    };
}

void BM_Caf_FanIn(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t senders = state.range(0);
    const std::int64_t per_sender = tb::fan_in_messages_per_sender(senders);
    const std::int64_t total = per_sender * senders;
    const std::int64_t expected_checksum = senders * (per_sender * (per_sender - 1) / 2);
    std::vector<caf::actor> sender_handles;
    sender_handles.reserve(static_cast<std::size_t>(senders));
    double peak_mib_sum = 0;
    for (auto _ : state) {
        std::latch done(1);
        std::int64_t checksum = 0;
        std::size_t before = 0;
        std::optional<tb::peak_rss_sampler> peak;
        {
            tb::paused_timing pause(state);
            auto receiver = sys.spawn(fan_in_receiver, total, &checksum, &done);
            for (std::int64_t i = 0; i < senders; ++i) {
                sender_handles.push_back(sys.spawn(fan_in_sender, receiver, per_sender));
            }
            tb::release_free_memory();
            before = tb::current_rss_bytes();
            peak.emplace();
        }
        for (const auto& sender : sender_handles) {
            caf::anon_send(sender, start_atom::value);
        }
        done.wait();
        tb::paused_timing pause(state);
        const std::size_t peak_bytes = peak->stop();
        peak_mib_sum +=
            static_cast<double>(peak_bytes > before ? peak_bytes - before : 0) / tb::bytes_per_mib;
        sender_handles.clear();
        sys.await_all_actors_done();
        if (checksum != expected_checksum) {
            state.SkipWithError("fan_in: receiver saw the wrong messages");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * total);
    state.counters["peak_rss_mb"] = benchmark::Counter(
        peak_mib_sum /
        static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1)));
}

// -- spawn/N --------------------------------------------------------------------------------------

/// Counts down `initialised` from its initialisation (this body runs in the actor's init on a
/// scheduler thread), then idles until `stop`, upon which it quits.
caf::behavior idle_actor(caf::event_based_actor* self, std::latch* initialised) {
    initialised->count_down();
    return {
        [self](stop_atom) { self->quit(); },
    };
}

void BM_Caf_Spawn(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t n = state.range(0);
    // Allocated and touched before each baseline, so its pages never count as actor memory.
    std::vector<caf::actor> handles(static_cast<std::size_t>(n));
    double bytes_per_actor_sum = 0;
    for (auto _ : state) {
        std::latch initialised(n);
        std::size_t before = 0;
        {
            tb::paused_timing pause(state);
            tb::release_free_memory();
            before = tb::current_rss_bytes();
        }
        for (auto& handle : handles) {
            handle = sys.spawn(idle_actor, &initialised);
        }
        initialised.wait();
        {
            tb::paused_timing pause(state);
            const std::size_t alive = tb::current_rss_bytes();
            bytes_per_actor_sum +=
                static_cast<double>(alive > before ? alive - before : 0) / static_cast<double>(n);
        }
        for (auto& handle : handles) {
            caf::anon_send(handle, stop_atom::value);
            handle = nullptr;
        }
        sys.await_all_actors_done();
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["bytes_per_actor"] = benchmark::Counter(
        bytes_per_actor_sum /
        static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1)));
}

// -- ask ------------------------------------------------------------------------------------------

caf::behavior ask_server(caf::event_based_actor* self) {
    return {
        [](ask_atom, std::int64_t value) { return value + 1; },
        [self](stop_atom) { self->quit(); },
    };
}

struct ask_client_state {
    std::int64_t completed = 0;
};

/// Issues request number `index`; its response handler chains the next request, so exactly one
/// request is outstanding at a time. Every request carries the shared deadline. `failed` is
/// written before `done` is signalled, so the benchmark thread may read it after wait().
void ask_next(caf::stateful_actor<ask_client_state>* self, const caf::actor& server,
              std::int64_t index, std::int64_t total, bool* failed, std::latch* done) {
    self->request(server, std::chrono::seconds(tb::ask_timeout_seconds), ask_atom::value, index)
        .then(
            [self, server, index, total, failed, done](std::int64_t reply) {
                if (reply != index + 1) {
                    *failed = true;
                }
                if (++self->state.completed == total) {
                    self->send(server, stop_atom::value);
                    done->count_down();
                    self->quit();
                } else {
                    ask_next(self, server, index + 1, total, failed, done);
                }
            },
            [self, server, failed, done](caf::error&) {
                *failed = true;
                self->send(server, stop_atom::value);
                done->count_down();
                self->quit();
            });
}

caf::behavior ask_client(caf::stateful_actor<ask_client_state>* self, const caf::actor& server,
                         std::int64_t total, bool* failed, std::latch* done) {
    return {
        [self, server, total, failed, done](start_atom) {
            ask_next(self, server, 0, total, failed, done);
        },
    };
}

void BM_Caf_Ask(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t round_trips = tb::ask_round_trips;
    for (auto _ : state) {
        std::latch done(1);
        bool failed = false;
        caf::actor client;
        {
            tb::paused_timing pause(state);
            auto server = sys.spawn(ask_server);
            client = sys.spawn(ask_client, server, round_trips, &failed, &done);
        }
        caf::anon_send(client, start_atom::value);
        done.wait();
        tb::paused_timing pause(state);
        client = nullptr;
        sys.await_all_actors_done();
        if (failed) {
            state.SkipWithError("ask: a request failed or got a wrong reply");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * round_trips);
}

} // namespace

BENCHMARK(BM_Caf_PingPong)->Name("caf/ping_pong")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_FanIn)
    ->Name("caf/fan_in")
    ->Arg(1)
    ->Arg(8)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_Spawn)
    ->Name("caf/spawn")
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_Ask)->Name("caf/ask")->UseRealTime()->Unit(benchmark::kMillisecond);
