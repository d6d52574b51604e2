// Part of troupe. See LICENSE at the repository root.
//
// troupe side of the core benchmarks. Each case does exactly the work of its
// CAF counterpart in caf_actors_bench.cpp (sizes in common/workloads.hpp):
// one system per benchmark run, actors set up and torn down with timing
// paused, completion signalled through a latch (no polling).

#include <troupe/troupe.hpp>

#include "common/harness.hpp"
#include "common/rss.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <latch>
#include <optional>
#include <variant>
#include <vector>

namespace {

namespace tb = troupe::bench;
using namespace std::chrono_literals;

double per_iteration(double sum, const benchmark::State& state) {
    return sum / static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

// -- ping_pong
// --------------------------------------------------------------------------------------

struct ball {
    std::int64_t remaining;
};
struct serve {
    troupe::actor_ref<ball> pong;
};
using ping_protocol = std::variant<serve, ball>;

class pinger final : public troupe::actor<ping_protocol> {
public:
    pinger(std::int64_t round_trips, std::latch* done) : round_trips_(round_trips), done_(done) {}
    void on(serve& s) {
        pong_ = s.pong;
        (void)pong_.tell(ball{round_trips_ - 1});
    }
    void on(ball& b) {
        if (b.remaining == 0) {
            done_->count_down();
            return;
        }
        (void)pong_.tell(ball{b.remaining - 1});
    }

private:
    std::int64_t round_trips_;
    std::latch* done_;
    troupe::actor_ref<ball> pong_;
};

class ponger final : public troupe::actor<ball> {
public:
    explicit ponger(troupe::actor_ref<ping_protocol> ping) : ping_(std::move(ping)) {}
    void on(ball& b) { (void)ping_.tell(b); }

private:
    troupe::actor_ref<ping_protocol> ping_;
};

void BM_Troupe_PingPong(benchmark::State& state) {
    troupe::system sys;
    for (auto _ : state) {
        std::latch done(1);
        troupe::actor_ref<ping_protocol> ping;
        troupe::actor_ref<ball> pong;
        {
            tb::paused_timing pause(state);
            ping = sys.spawn<pinger>(tb::ping_pong_round_trips, &done);
            pong = sys.spawn<ponger>(ping);
        }
        (void)ping.tell(serve{pong});
        done.wait();
        tb::paused_timing pause(state);
        ping.stop();
        pong.stop();
        (void)sys.wait_for_exit(ping.addr(), 10s);
        (void)sys.wait_for_exit(pong.addr(), 10s);
    }
    state.SetItemsProcessed(state.iterations() * tb::ping_pong_round_trips);
}

// -- fan_in/N
// ---------------------------------------------------------------------------------------

struct start {};

class fan_in_receiver final : public troupe::actor<std::int64_t> {
public:
    fan_in_receiver(std::int64_t expected, std::int64_t* checksum, std::latch* done)
        : expected_(expected), checksum_(checksum), done_(done) {}
    void on(std::int64_t& v) {
        sum_ += v;
        if (++received_ == expected_) {
            *checksum_ = sum_;
            done_->count_down();
        }
    }

private:
    std::int64_t expected_;
    std::int64_t* checksum_;
    std::latch* done_;
    std::int64_t received_ = 0;
    std::int64_t sum_ = 0;
};

/// Sends 0 .. count-1 with `co_await send`: when the receiver's bounded
/// mailbox is full this actor suspends (policy `suspend`), nothing is dropped.
class fan_in_sender final : public troupe::actor<start> {
public:
    fan_in_sender(troupe::actor_ref<std::int64_t> to, std::int64_t count)
        : to_(std::move(to)), count_(count) {}
    troupe::task<> on(start& /*unused*/) {
        for (std::int64_t i = 0; i < count_; ++i) {
            auto r = co_await send(to_, i);
            if (!r) {
                failed = true;
            }
        }
    }
    bool failed = false;

private:
    troupe::actor_ref<std::int64_t> to_;
    std::int64_t count_;
};

void BM_Troupe_FanIn(benchmark::State& state) {
    troupe::system sys;
    const std::int64_t senders = state.range(0);
    const std::int64_t per_sender = tb::fan_in_messages_per_sender(senders);
    const std::int64_t total = per_sender * senders;
    const std::int64_t expected_checksum = senders * (per_sender * (per_sender - 1) / 2);
    troupe::spawn_options bounded;
    bounded.capacity = static_cast<std::uint32_t>(tb::fan_in_capacity);
    bounded.policy = troupe::overflow_policy::suspend;
    double peak_mib_sum = 0;
    for (auto _ : state) {
        std::latch done(1);
        std::int64_t checksum = 0;
        std::size_t before = 0;
        std::optional<tb::peak_rss_sampler> peak;
        troupe::actor_ref<std::int64_t> receiver;
        std::vector<troupe::actor_ref<start>> sender_refs;
        {
            tb::paused_timing pause(state);
            receiver = sys.spawn_with<fan_in_receiver>(bounded, total, &checksum, &done);
            for (std::int64_t i = 0; i < senders; ++i) {
                sender_refs.push_back(sys.spawn<fan_in_sender>(receiver, per_sender));
            }
            tb::release_free_memory();
            before = tb::current_rss_bytes();
            peak.emplace();
        }
        for (auto& s : sender_refs) {
            (void)s.tell(start{});
        }
        done.wait();
        tb::paused_timing pause(state);
        const std::size_t peak_bytes = peak->stop();
        peak_mib_sum +=
            static_cast<double>(peak_bytes > before ? peak_bytes - before : 0) / tb::bytes_per_mib;
        for (auto& s : sender_refs) {
            s.stop();
            (void)sys.wait_for_exit(s.addr(), 10s);
        }
        receiver.stop();
        (void)sys.wait_for_exit(receiver.addr(), 10s);
        if (checksum != expected_checksum) {
            state.SkipWithError("fan_in: receiver saw the wrong messages");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * total);
    state.counters["peak_rss_mb"] = benchmark::Counter(per_iteration(peak_mib_sum, state));
}

// -- spawn/N
// ----------------------------------------------------------------------------------------

struct quit {};

class idle_actor final : public troupe::actor<quit> {
public:
    idle_actor(std::latch* initialised, std::latch* stopped)
        : initialised_(initialised), stopped_(stopped) {}
    void on_start() override { initialised_->count_down(); }
    void on(quit& /*unused*/) { stop(); }
    void on_stop(const troupe::error& /*cause*/) override { stopped_->count_down(); }

private:
    std::latch* initialised_;
    std::latch* stopped_;
};

void BM_Troupe_Spawn(benchmark::State& state) {
    troupe::system sys;
    const std::int64_t n = state.range(0);
    std::vector<troupe::actor_ref<quit>> handles(static_cast<std::size_t>(n));
    double bytes_per_actor_sum = 0;
    for (auto _ : state) {
        std::latch initialised(n);
        std::latch stopped(n);
        std::size_t before = 0;
        {
            tb::paused_timing pause(state);
            tb::release_free_memory();
            before = tb::current_rss_bytes();
        }
        for (auto& h : handles) {
            h = sys.spawn<idle_actor>(&initialised, &stopped);
        }
        initialised.wait();
        {
            tb::paused_timing pause(state);
            const std::size_t alive = tb::current_rss_bytes();
            bytes_per_actor_sum +=
                static_cast<double>(alive > before ? alive - before : 0) / static_cast<double>(n);
        }
        for (auto& h : handles) {
            (void)h.tell(quit{});
        }
        stopped.wait();
        for (auto& h : handles) {
            h = {};
        }
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["bytes_per_actor"] =
        benchmark::Counter(per_iteration(bytes_per_actor_sum, state));
}

// -- ask
// ----------------------------------------------------------------------------------------------

struct request {
    using reply_type = std::int64_t;
    std::int64_t value;
};

class ask_server final : public troupe::actor<request> {
public:
    std::int64_t on(request& r) { return r.value + 1; }
};

class ask_client final : public troupe::actor<start> {
public:
    ask_client(troupe::actor_ref<request> server, std::int64_t total, bool* failed,
               std::latch* done)
        : server_(std::move(server)), total_(total), failed_(failed), done_(done) {}
    troupe::task<> on(start& /*unused*/) {
        for (std::int64_t i = 0; i < total_; ++i) {
            auto reply =
                co_await server_.ask(request{i}, std::chrono::seconds(tb::ask_timeout_seconds));
            if (!reply || *reply != i + 1) {
                *failed_ = true;
                break;
            }
        }
        done_->count_down();
    }

private:
    troupe::actor_ref<request> server_;
    std::int64_t total_;
    bool* failed_;
    std::latch* done_;
};

void BM_Troupe_Ask(benchmark::State& state) {
    troupe::system sys;
    for (auto _ : state) {
        std::latch done(1);
        bool failed = false;
        troupe::actor_ref<request> server;
        troupe::actor_ref<start> client;
        {
            tb::paused_timing pause(state);
            server = sys.spawn<ask_server>();
            client = sys.spawn<ask_client>(server, tb::ask_round_trips, &failed, &done);
        }
        (void)client.tell(start{});
        done.wait();
        tb::paused_timing pause(state);
        client.stop();
        server.stop();
        (void)sys.wait_for_exit(client.addr(), 10s);
        (void)sys.wait_for_exit(server.addr(), 10s);
        if (failed) {
            state.SkipWithError("ask: a request failed or got a wrong reply");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * tb::ask_round_trips);
}

} // namespace

BENCHMARK(BM_Troupe_PingPong)
    ->Name("troupe/ping_pong")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_FanIn)
    ->Name("troupe/fan_in")
    ->Arg(1)
    ->Arg(8)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_Spawn)
    ->Name("troupe/spawn")
    ->Arg(100000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_Ask)->Name("troupe/ask")->UseRealTime()->Unit(benchmark::kMillisecond);
