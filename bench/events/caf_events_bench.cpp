// Part of troupe. See LICENSE at the repository root.
//
// CAF 0.17 counterparts of the event benchmarks in troupe_events_bench.cpp
// (docs/architecture.md "Benchmark method").
// CAF's publish/subscribe primitive is the group: subscribers are actors that join() a group and
// a publisher sends to the group, which delivers a copy to every member's mailbox.
// Work per iteration comes from bench/common/workloads.hpp, so both sides do the same thing.
//
// As in caf_actors_bench.cpp: one caf::actor_system per benchmark run with one work-stealing
// worker per hardware thread (CAF's default of max(hardware threads, 4) would oversubscribe the
// 2-core benchmark machines); actors are spawned, joined and torn down per iteration with timing
// paused, and report completion through a std::latch (atomic + promise).

#include "common/caf_runtime.hpp"
#include "common/harness.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace tb = troupe::bench;

using start_atom = caf::atom_constant<caf::atom("start")>;
using event_atom = caf::atom_constant<caf::atom("event")>;

// -- shared helpers -------------------------------------------------------------------------------

struct subscriber_state {
    std::int64_t received = 0;
    std::int64_t checksum = 0;
};

/// Joins `topic` during its initialisation and counts that down on `joined`; then counts the
/// `expected` events of the iteration, checks their payloads (0 .. expected-1 in order, as
/// per-sender FIFO guarantees), counts down `done` and quits (which leaves the group).
caf::behavior subscriber(caf::stateful_actor<subscriber_state>* self, const caf::group& topic,
                         std::int64_t expected, std::latch* joined, std::latch* done,
                         std::atomic<bool>* failed) {
    self->join(topic);
    joined->count_down();
    return {
        [self, expected, done, failed](event_atom, std::int64_t seq) {
            auto& st = self->state;
            if (seq != st.received) {
                // relaxed: published to the benchmark thread by the std::latch below.
                failed->store(true, std::memory_order_relaxed);
            }
            if (++st.received == expected) {
                done->count_down();
                self->quit();
            }
        },
    };
}

// -- publish/S and publish_callback/S -------------------------------------------------------------

/// On `start`, publishes events 0 .. count-1 into `topic` as fast as it can, then quits.
caf::behavior group_publisher(caf::event_based_actor* self, const caf::group& topic,
                              std::int64_t count) {
    return {
        [self, topic, count](start_atom) {
            for (std::int64_t i = 0; i < count; ++i) {
                self->send(topic, event_atom::value, i);
            }
            self->quit();
        },
    };
}

/// One publisher actor, S subscriber actors in one anonymous local group; each iteration
/// publishes publish_deliveries / S events and ends when every subscriber has seen every event.
void BM_Caf_Publish(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t subscribers = state.range(0);
    const std::int64_t events = tb::publish_events_per_iteration(subscribers);
    const caf::group topic = sys.groups().anonymous();
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::latch done(subscribers);
        caf::actor publisher;
        {
            tb::paused_timing pause(state);
            std::latch joined(subscribers);
            for (std::int64_t i = 0; i < subscribers; ++i) {
                sys.spawn(subscriber, topic, events, &joined, &done, &failed);
            }
            joined.wait();
            publisher = sys.spawn(group_publisher, topic, events);
        }
        caf::anon_send(publisher, start_atom::value);
        done.wait();
        tb::paused_timing pause(state);
        publisher = nullptr;
        sys.await_all_actors_done();
        // relaxed: done.wait() already ordered every subscriber's writes before this read.
        if (failed.load(std::memory_order_relaxed)) {
            state.SkipWithError("publish: a subscriber saw events out of order");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * events * subscribers);
}

// -- match/T --------------------------------------------------------------------------------------

/// On `start`, publishes match_publishes events round-robin over `names`, looking each topic's
/// group up by name for every publish (the lookup stands in for troupe's pattern matching).
caf::behavior named_publisher(caf::event_based_actor* self, const std::vector<std::string>* names) {
    return {
        [self, names](start_atom) {
            auto& groups = self->system().groups();
            const auto topics = static_cast<std::int64_t>(names->size());
            for (std::int64_t i = 0; i < tb::match_publishes; ++i) {
                const auto topic = groups.get_local((*names)[static_cast<std::size_t>(i % topics)]);
                self->send(topic, event_atom::value, i / topics);
            }
            self->quit();
        },
    };
}

/// CAF has no topic patterns. The closest counterpart of troupe's match/T is T local named
/// groups with one subscriber each, where every publish looks its group up by name
/// (system.groups().get_local(name)) before sending to it. Items are publishes.
void BM_Caf_Match(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t topics = state.range(0);
    const std::int64_t per_topic = tb::match_publishes / topics;
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(topics));
    for (std::int64_t i = 0; i < topics; ++i) {
        names.push_back("bench.match.topic." + std::to_string(i));
    }
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::latch done(topics);
        caf::actor publisher;
        {
            tb::paused_timing pause(state);
            std::latch joined(topics);
            for (const auto& name : names) {
                sys.spawn(subscriber, sys.groups().get_local(name), per_topic, &joined, &done,
                          &failed);
            }
            joined.wait();
            publisher = sys.spawn(named_publisher, &names);
        }
        caf::anon_send(publisher, start_atom::value);
        done.wait();
        tb::paused_timing pause(state);
        publisher = nullptr;
        sys.await_all_actors_done();
        // relaxed: done.wait() already ordered every subscriber's writes before this read.
        if (failed.load(std::memory_order_relaxed)) {
            state.SkipWithError("match: a subscriber saw events out of order");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * per_topic * topics);
}

// -- subscribe/N ----------------------------------------------------------------------------------

/// A group member that never gets an event in subscribe/N.
caf::behavior idle_member(caf::event_based_actor*) {
    return {
        [](event_atom, std::int64_t) {},
    };
}

/// CAF's counterpart of troupe's subscribe/N: N idle actors, spawned once per run with timing
/// paused, are subscribed to one anonymous local group and then unsubscribed again in the same
/// order. The benchmark thread calls the group's subscribe/unsubscribe directly: that is the
/// whole of what an actor's join()/leave() does to the group (join() also records the group in
/// the actor so it leaves on exit), without the message round trip needed to run them inside
/// each actor. Items are operations: N subscribes plus N unsubscribes per iteration.
void BM_Caf_Subscribe(benchmark::State& state) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t n = state.range(0);
    const caf::group topic = sys.groups().anonymous();
    std::vector<caf::actor> members;
    std::vector<caf::strong_actor_ptr> ptrs;
    members.reserve(static_cast<std::size_t>(n));
    ptrs.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        members.push_back(sys.spawn(idle_member));
        ptrs.push_back(caf::actor_cast<caf::strong_actor_ptr>(members.back()));
    }
    bool failed = false;
    for (auto _ : state) {
        for (const auto& p : ptrs) {
            failed |= !topic.subscribe(p);
        }
        for (const auto& p : ptrs) {
            topic.unsubscribe(p.get());
        }
        if (failed) {
            state.SkipWithError("subscribe: a member was already subscribed");
            break;
        }
    }
    ptrs.clear();
    for (const auto& m : members) {
        caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
    }
    members.clear();
    sys.await_all_actors_done();
    state.SetItemsProcessed(state.iterations() * 2 * n);
}

} // namespace

BENCHMARK(BM_Caf_Publish)
    ->Name("caf/publish")
    ->Arg(10)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// CAF has no callback subscribers, so the honest counterpart of troupe's publish_callback/S is
// the same group publish to S actor subscribers.
BENCHMARK(BM_Caf_Publish)
    ->Name("caf/publish_callback")
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_Match)
    ->Name("caf/match")
    ->Arg(10'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_Subscribe)
    ->Name("caf/subscribe")
    ->Arg(1000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
