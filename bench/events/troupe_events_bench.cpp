// Part of troupe. See LICENSE at the repository root.
//
// troupe side of the event benchmarks (docs/architecture.md "Benchmark method"); workloads
// mirror caf_events_bench.cpp: one system per run, subscribers spawned and subscribed per
// iteration with timing paused, completion reported through a std::latch. subscribe/N is the
// exception: subscribing and unsubscribing is what it measures.

#include <troupe/events/registry.hpp>

#include "common/harness.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <latch>
#include <string>
#include <variant>
#include <vector>

namespace {

namespace tb = troupe::bench;
namespace ev = troupe::events;

struct start {};
using sub_proto = std::variant<ev::event<std::int64_t>>;

/// Counts `expected` events (payloads 0 .. expected-1 in order), then counts down and stops.
class subscriber : public troupe::actor<sub_proto> {
public:
    subscriber(std::int64_t expected, std::latch* done, std::atomic<bool>* failed)
        : expected_(expected), done_(done), failed_(failed) {}
    void on(ev::event<std::int64_t>& e) {
        if (e.payload != received_) {
            failed_->store(true, std::memory_order_relaxed); // published by the std::latch
        }
        if (++received_ == expected_) {
            done_->count_down();
            stop();
        }
    }

private:
    std::int64_t expected_;
    std::int64_t received_ = 0;
    std::latch* done_;
    std::atomic<bool>* failed_;
};

/// On `start`, publishes 0 .. count-1 on its topic (or round-robin over topics), then stops.
class publisher : public troupe::actor<start> {
public:
    publisher(ev::registry* reg, std::vector<ev::topic<std::int64_t>>* topics, std::int64_t count,
              bool by_name = false)
        : reg_(reg), topics_(topics), count_(count), by_name_(by_name) {}
    void on(start&) {
        const auto n = static_cast<std::int64_t>(topics_->size());
        for (std::int64_t i = 0; i < count_; ++i) {
            const auto& t = (*topics_)[static_cast<std::size_t>(i % n)];
            if (by_name_) {
                (void)reg_->publish<std::int64_t>(t.name(), i / n); // lookup + pattern match
            } else {
                reg_->publish(t, i / n);
            }
        }
        stop();
    }

private:
    ev::registry* reg_;
    std::vector<ev::topic<std::int64_t>>* topics_;
    std::int64_t count_;
    bool by_name_;
};

troupe::spawn_options roomy() {
    troupe::spawn_options o;
    o.capacity = 1u << 30; // like CAF's unbounded mailboxes: no drops in the benchmark
    return o;
}

void BM_Troupe_Publish(benchmark::State& state) {
    troupe::system sys;
    ev::registry reg(sys);
    const std::int64_t subscribers = state.range(0);
    const std::int64_t events = tb::publish_events_per_iteration(subscribers);
    std::vector<ev::topic<std::int64_t>> topics{*reg.declare<std::int64_t>("bench/publish")};
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::latch done(subscribers);
        troupe::actor_ref<start> pub;
        std::vector<ev::subscription> subs;
        {
            tb::paused_timing pause(state);
            for (std::int64_t i = 0; i < subscribers; ++i) {
                auto a = sys.spawn_with<subscriber>(roomy(), events, &done, &failed);
                subs.push_back(*reg.subscribe(topics[0], a));
            }
            pub = sys.spawn<publisher>(&reg, &topics, events);
        }
        (void)pub.tell(start{});
        done.wait();
        tb::paused_timing pause(state);
        subs.clear();
        (void)sys.wait_for_exit(pub.addr(), std::chrono::seconds(10));
        if (failed.load(std::memory_order_relaxed)) {
            state.SkipWithError("publish: a subscriber saw events out of order");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * events * subscribers);
}

void BM_Troupe_PublishCallback(benchmark::State& state) {
    troupe::system sys;
    ev::registry reg(sys);
    const std::int64_t subscribers = state.range(0);
    const std::int64_t events = tb::publish_events_per_iteration(subscribers);
    std::vector<ev::topic<std::int64_t>> topics{*reg.declare<std::int64_t>("bench/callback")};
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::latch done(subscribers);
        troupe::actor_ref<start> pub;
        std::vector<ev::subscription> subs;
        std::vector<std::int64_t> received(static_cast<std::size_t>(subscribers), 0);
        {
            tb::paused_timing pause(state);
            for (std::int64_t i = 0; i < subscribers; ++i) {
                auto* r = &received[static_cast<std::size_t>(i)];
                subs.push_back(*reg.subscribe(
                    topics[0], [r, events, &done, &failed](const ev::event<std::int64_t>& e) {
                        if (e.payload != *r) {
                            failed.store(true, std::memory_order_relaxed);
                        }
                        if (++*r == events) {
                            done.count_down();
                        }
                    }));
            }
            pub = sys.spawn<publisher>(&reg, &topics, events);
        }
        (void)pub.tell(start{});
        done.wait();
        tb::paused_timing pause(state);
        subs.clear();
        (void)sys.wait_for_exit(pub.addr(), std::chrono::seconds(10));
        if (failed.load(std::memory_order_relaxed)) {
            state.SkipWithError("publish_callback: out of order");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * events * subscribers);
}

/// T topics, each with one actor subscriber registered by its own (exact) pattern, so a
/// publish is matched against T registered patterns; the publisher resolves the topic by
/// name for every publish, like CAF's group lookup. Items are publishes.
void BM_Troupe_Match(benchmark::State& state) {
    troupe::system sys;
    ev::registry reg(sys);
    const std::int64_t topics_n = state.range(0);
    const std::int64_t per_topic = tb::match_publishes / topics_n;
    std::vector<ev::topic<std::int64_t>> topics;
    for (std::int64_t i = 0; i < topics_n; ++i) {
        topics.push_back(*reg.declare<std::int64_t>("bench/match/topic/" + std::to_string(i)));
    }
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::latch done(topics_n);
        troupe::actor_ref<start> pub;
        std::vector<ev::subscription> subs;
        {
            tb::paused_timing pause(state);
            for (const auto& t : topics) {
                auto a = sys.spawn_with<subscriber>(roomy(), per_topic, &done, &failed);
                subs.push_back(*reg.subscribe(t, a));
            }
            pub = sys.spawn<publisher>(&reg, &topics, per_topic * topics_n, true);
        }
        (void)pub.tell(start{});
        done.wait();
        tb::paused_timing pause(state);
        subs.clear();
        (void)sys.wait_for_exit(pub.addr(), std::chrono::seconds(10));
        if (failed.load(std::memory_order_relaxed)) {
            state.SkipWithError("match: out of order");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * per_topic * topics_n);
}

/// Subscribes N callbacks (all of priority 0) to one topic, then unsubscribes them all in
/// subscription order; nothing is published. Items are operations: N subscribes plus N
/// unsubscribes per iteration.
void BM_Troupe_Subscribe(benchmark::State& state) {
    troupe::system sys;
    ev::registry reg(sys);
    const std::int64_t n = state.range(0);
    const auto t = *reg.declare<std::int64_t>("bench/subscribe");
    std::vector<ev::subscription> subs;
    subs.reserve(static_cast<std::size_t>(n));
    std::int64_t calls = 0;
    for (auto _ : state) {
        for (std::int64_t i = 0; i < n; ++i) {
            subs.push_back(
                *reg.subscribe(t, [&calls](const ev::event<std::int64_t>&) { ++calls; }));
        }
        for (auto& s : subs) {
            s.unsubscribe();
        }
        subs.clear();
        if (reg.subscription_count() != 0) {
            state.SkipWithError("subscribe: subscriptions left after unsubscribing");
            break;
        }
    }
    benchmark::DoNotOptimize(calls);
    state.SetItemsProcessed(state.iterations() * 2 * n);
}

} // namespace

BENCHMARK(BM_Troupe_Publish)
    ->Name("troupe/publish")
    ->Arg(10)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_PublishCallback)
    ->Name("troupe/publish_callback")
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_Match)
    ->Name("troupe/match")
    ->Arg(10'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_Subscribe)
    ->Name("troupe/subscribe")
    ->Arg(1000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
