// Part of troupe. See LICENSE at the repository root.
//
// CAF 0.17 side of the gateway benchmark (troupe_gateway_bench.cpp): the
// same clients, gateway and workers, with the same sizes.
//
//   caf/gateway        the gateway returns a response promise and relays
//                      with request(...).then: it never suspends.
//   caf/gateway_await  the gateway relays with request(...).await, which
//                      suspends its mailbox until the worker answered.

#include "common/caf_runtime.hpp"
#include "common/harness.hpp"
#include "common/workloads.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <vector>

namespace {

namespace tb = troupe::bench;

using job_atom = caf::atom_constant<caf::atom("job")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

constexpr auto timeout = std::chrono::seconds(tb::ask_timeout_seconds);

caf::behavior worker() {
    return {[](work_atom, std::int64_t x) { return x + 1; }};
}

struct gateway_state {
    std::vector<caf::actor> workers;
    std::size_t next = 0;
};

enum class relay_with { then, await };

/// The gateway: relays each job to the next worker and answers through a
/// response promise, with `request(...).then` or `.await` (which suspends).
template <relay_with How>
caf::behavior gateway(caf::stateful_actor<gateway_state>* self, std::vector<caf::actor> workers) {
    self->state.workers = std::move(workers);
    return {[self](job_atom, std::int64_t x) {
        auto& w = self->state.workers[self->state.next++ % self->state.workers.size()];
        auto reply = self->make_response_promise();
        auto on_reply = [reply](std::int64_t y) mutable { reply.deliver(y); };
        auto on_error = [reply](caf::error& e) mutable { reply.deliver(std::move(e)); };
        auto pending = self->request(w, timeout, work_atom::value, x);
        if constexpr (How == relay_with::then) {
            pending.then(on_reply, on_error);
        } else {
            pending.await(on_reply, on_error);
        }
        return reply;
    }};
}

struct client_state {
    std::int64_t sent = 0;
    std::int64_t answered = 0;
};

void send_next(caf::stateful_actor<client_state>* self, const caf::actor& gateway,
               std::int64_t quota, std::atomic<bool>* failed, std::latch* done) {
    const std::int64_t x = self->state.sent++;
    self->request(gateway, timeout, job_atom::value, x)
        .then(
            [=](std::int64_t y) {
                if (y != x + 1) {
                    failed->store(true, std::memory_order_relaxed);
                }
                if (++self->state.answered == quota) {
                    done->count_down();
                } else if (self->state.sent < quota) {
                    send_next(self, gateway, quota, failed, done);
                }
            },
            [=](caf::error&) {
                failed->store(true, std::memory_order_relaxed);
                if (++self->state.answered == quota) {
                    done->count_down();
                }
            });
}

caf::behavior client(caf::stateful_actor<client_state>* self, caf::actor gateway,
                     std::int64_t quota, std::atomic<bool>* failed, std::latch* done) {
    return {[=](start_atom) {
        for (std::int64_t i = 0; i < tb::gateway_window && self->state.sent < quota; ++i) {
            send_next(self, gateway, quota, failed, done);
        }
    }};
}

template <class Gateway>
void run_gateway(benchmark::State& state, Gateway gateway_fn) {
    tb::caf_runtime rt;
    auto& sys = rt.system();
    const std::int64_t quota = tb::gateway_requests / tb::gateway_clients;
    for (auto _ : state) {
        std::latch done(tb::gateway_clients);
        std::atomic<bool> failed{false};
        std::vector<caf::actor> all;
        std::vector<caf::actor> clients;
        {
            tb::paused_timing pause(state);
            std::vector<caf::actor> workers;
            for (std::int64_t i = 0; i < tb::gateway_workers; ++i) {
                workers.push_back(sys.spawn(worker));
            }
            auto gateway = sys.spawn(gateway_fn, workers);
            for (std::int64_t i = 0; i < tb::gateway_clients; ++i) {
                clients.push_back(sys.spawn(client, gateway, quota, &failed, &done));
            }
            all = workers;
            all.push_back(gateway);
            all.insert(all.end(), clients.begin(), clients.end());
        }
        for (auto& c : clients) {
            caf::anon_send(c, start_atom::value);
        }
        done.wait();
        tb::paused_timing pause(state);
        for (auto& a : all) {
            caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
        }
        all.clear();
        clients.clear();
        sys.await_all_actors_done();
        if (failed.load()) {
            state.SkipWithError("gateway: a request failed or got a wrong reply");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * quota * tb::gateway_clients);
}

void BM_Caf_Gateway(benchmark::State& state) { run_gateway(state, gateway<relay_with::then>); }
void BM_Caf_GatewayAwait(benchmark::State& state) {
    run_gateway(state, gateway<relay_with::await>);
}

} // namespace

BENCHMARK(BM_Caf_Gateway)->Name("caf/gateway")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_GatewayAwait)
    ->Name("caf/gateway_await")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
