// Part of troupe. See LICENSE at the repository root.
//
// gateway: one gateway actor in front of `gateway_workers` workers; client
// actors keep `gateway_window` asks outstanding each. Every request crosses
// client -> gateway -> worker -> gateway -> client. CAF counterpart:
// caf_gateway_bench.cpp.
//
//   troupe/gateway        the gateway answers through a response promise and
//                         asks its worker with then(): it never suspends.
//   troupe/gateway_await  the same gateway written with co_await: each
//                         request suspends the gateway until its worker
//                         answered, so requests pass one at a time.

#include <troupe/troupe.hpp>

#include "common/harness.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace tb = troupe::bench;
using namespace std::chrono_literals;

struct work {
    using reply_type = std::int64_t;
    std::int64_t x;
};
struct job {
    using reply_type = std::int64_t;
    std::int64_t x;
};
struct start {};

class worker final : public troupe::actor<work> {
public:
    std::int64_t on(work& w) { return w.x + 1; }
};

std::vector<troupe::actor_ref<work>> spawn_workers(troupe::system& sys) {
    std::vector<troupe::actor_ref<work>> ws;
    for (std::int64_t i = 0; i < tb::gateway_workers; ++i) {
        ws.push_back(sys.spawn<worker>());
    }
    return ws;
}

/// Non-stalling: answers each job later, through its promise.
class relaying_gateway final : public troupe::actor<job> {
public:
    explicit relaying_gateway(std::vector<troupe::actor_ref<work>> ws) : workers_(std::move(ws)) {}
    void on(job& j, troupe::response_promise<std::int64_t> reply) {
        auto& w = workers_[next_++ % workers_.size()];
        (void)w.ask(work{j.x}, std::chrono::seconds(tb::ask_timeout_seconds))
            .then([reply = std::move(reply)](troupe::expected<std::int64_t> r) mutable {
                (void)reply.complete(std::move(r));
            });
    }

private:
    std::vector<troupe::actor_ref<work>> workers_;
    std::size_t next_ = 0;
};

/// Stalling: each job's handler suspends the gateway until its worker answered.
class awaiting_gateway final : public troupe::actor<job> {
public:
    explicit awaiting_gateway(std::vector<troupe::actor_ref<work>> ws) : workers_(std::move(ws)) {}
    troupe::task<std::int64_t> on(job& j) {
        auto& w = workers_[next_++ % workers_.size()];
        auto r = co_await w.ask(work{j.x}, std::chrono::seconds(tb::ask_timeout_seconds));
        co_return r.value_or(-1);
    }

private:
    std::vector<troupe::actor_ref<work>> workers_;
    std::size_t next_ = 0;
};

/// Keeps `gateway_window` jobs outstanding with then() until its quota is done.
class client final : public troupe::actor<start> {
public:
    client(troupe::actor_ref<job> gw, std::int64_t quota, std::atomic<bool>* failed,
           std::latch* done)
        : gateway_(std::move(gw)), quota_(quota), failed_(failed), done_(done) {}
    void on(start&) {
        for (std::int64_t i = 0; i < tb::gateway_window && sent_ < quota_; ++i) {
            send_next();
        }
    }

private:
    void send_next() {
        const std::int64_t x = sent_++;
        (void)gateway_.ask(job{x}, std::chrono::seconds(tb::ask_timeout_seconds))
            .then([this, x](troupe::expected<std::int64_t> r) {
                if (!r || *r != x + 1) {
                    failed_->store(true, std::memory_order_relaxed);
                }
                if (++answered_ == quota_) {
                    done_->count_down();
                } else if (sent_ < quota_) {
                    send_next();
                }
            });
    }

    troupe::actor_ref<job> gateway_;
    std::int64_t quota_;
    std::int64_t sent_ = 0;
    std::int64_t answered_ = 0;
    std::atomic<bool>* failed_;
    std::latch* done_;
};

template <class Gateway>
void run_gateway(benchmark::State& state) {
    troupe::system sys;
    const std::int64_t quota = tb::gateway_requests / tb::gateway_clients;
    for (auto _ : state) {
        std::latch done(tb::gateway_clients);
        std::atomic<bool> failed{false};
        std::vector<troupe::actor_ref<start>> clients;
        std::vector<troupe::actor_ref<work>> workers;
        troupe::actor_ref<job> gateway;
        {
            tb::paused_timing pause(state);
            workers = spawn_workers(sys);
            gateway = sys.spawn<Gateway>(workers);
            for (std::int64_t i = 0; i < tb::gateway_clients; ++i) {
                clients.push_back(sys.spawn<client>(gateway, quota, &failed, &done));
            }
        }
        for (auto& c : clients) {
            (void)c.tell(start{});
        }
        done.wait();
        tb::paused_timing pause(state);
        std::vector<troupe::actor_addr> all;
        for (auto& c : clients) {
            all.push_back(c.addr());
        }
        all.push_back(gateway.addr());
        for (auto& w : workers) {
            all.push_back(w.addr());
        }
        for (auto& a : all) {
            (void)a.stop();
        }
        for (auto& a : all) {
            (void)sys.wait_for_exit(a, 10s);
        }
        if (failed.load()) {
            state.SkipWithError("gateway: a request failed or got a wrong reply");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * quota * tb::gateway_clients);
}

void BM_Troupe_Gateway(benchmark::State& state) { run_gateway<relaying_gateway>(state); }
void BM_Troupe_GatewayAwait(benchmark::State& state) { run_gateway<awaiting_gateway>(state); }

} // namespace

BENCHMARK(BM_Troupe_Gateway)->Name("troupe/gateway")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Troupe_GatewayAwait)
    ->Name("troupe/gateway_await")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
