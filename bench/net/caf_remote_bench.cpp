// Part of troupe. See LICENSE at the repository root.
//
// CAF 0.17 side of the two-process benchmarks (docs/net-bench.md), with CAF's own remote actors:
// the server's middleman publishes one `service` actor on a port; the client's middleman
// `remote_actor`s it once per process. Only CAF built-in types cross the wire (no registration).
//   caf/remote_ping_pong  : scoped_actor request(service, infinite, 16-byte string).receive per
//                           iteration
//   caf/remote_throughput : throughput_batch anon_sends of (int32, 12-char string), then requests
//                           of `count` until the service has seen them all (CAF has no back
//                           pressure: what the link cannot take at once queues in memory)

#include "common/caf_runtime.hpp"
#include "net/remote_harness.hpp"

#include <benchmark/benchmark.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace troupe::bench::remote {
namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;

struct service_state {
    std::uint64_t received = 0;
};

/// Echoes a string, counts (int32, string) messages, answers `count` with the count so far.
caf::behavior service(caf::stateful_actor<service_state>* self) {
    return {
        [](std::string& payload) { return std::move(payload); },
        [self](std::int32_t /*id*/, const std::string& /*text*/) { ++self->state.received; },
        [self](count_atom) { return self->state.received; },
    };
}

/// A CAF system with the middleman loaded and the benchmarks' scheduler settings.
class io_runtime {
public:
    io_runtime() : system_(configure(config_)) {}
    caf::actor_system& system() noexcept { return system_; }

private:
    static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
        cfg.load<caf::io::middleman>();
        return caf_runtime::configure(cfg);
    }

    caf::actor_system_config config_;
    caf::actor_system system_;
};

/// The client's system and the remote service, connected once per process.
struct client {
    io_runtime runtime;
    caf::actor service;
};

/// The connected client, or nullptr with `why` set. Benchmark thread only.
client* connect(std::string& why) {
    static std::unique_ptr<client> instance;
    static std::string failure;
    if (instance || !failure.empty()) {
        why = failure;
        return instance.get();
    }
    server_process* srv = server(server_kind::caf, failure);
    if (srv == nullptr) {
        why = failure;
        return nullptr;
    }
    auto c = std::make_unique<client>();
    auto remote = c->runtime.system().middleman().remote_actor(host, srv->port);
    if (!remote) {
        failure = "remote_actor: " + c->runtime.system().render(remote.error());
    } else {
        c->service = *remote;
        instance = std::move(c);
        at_exit([] { instance.reset(); });
    }
    why = failure;
    return instance.get();
}

void BM_Caf_RemotePingPong(benchmark::State& state) {
    std::string why;
    client* c = connect(why);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    caf::scoped_actor self{c->runtime.system()};
    latency_recorder latency;
    latency.reserve(static_cast<std::size_t>(state.max_iterations));
    const std::string payload(ping_payload);
    for (auto _ : state) {
        bool ok = false;
        const auto start = std::chrono::steady_clock::now();
        self->request(c->service, caf::infinite, payload)
            .receive([&](const std::string& reply) { ok = reply == payload; },
                     [&](const caf::error& /*unused*/) {});
        latency.add(std::chrono::steady_clock::now() - start);
        if (!ok) {
            state.SkipWithError("the echo failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    latency.report(state);
}

/// The service's count, or nullopt (and the run skipped) when the request fails.
std::optional<std::uint64_t> service_count(caf::scoped_actor& self, const caf::actor& service,
                                           benchmark::State& state) {
    std::optional<std::uint64_t> n;
    self->request(service, caf::infinite, count_atom::value)
        .receive([&](std::uint64_t value) { n = value; },
                 [&](const caf::error& /*unused*/) { state.SkipWithError("count failed"); });
    return n;
}

void BM_Caf_RemoteThroughput(benchmark::State& state) {
    std::string why;
    client* c = connect(why);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    caf::scoped_actor self{c->runtime.system()};
    const auto base = service_count(self, c->service, state);
    if (!base) {
        return;
    }
    std::uint64_t sent = 0;
    const std::string text(item_text);
    rss_growth rss(*server(server_kind::caf, why));
    for (auto _ : state) {
        for (std::int64_t i = 0; i < throughput_batch; ++i) {
            caf::anon_send(c->service, static_cast<std::int32_t>(i), text);
        }
        sent += static_cast<std::uint64_t>(throughput_batch);
        std::optional<std::uint64_t> seen;
        while ((seen = service_count(self, c->service, state)) && *seen < *base + sent) {
        }
        if (!seen) {
            break;
        }
        if (*seen != *base + sent) {
            state.SkipWithError("messages were lost or duplicated");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    rss.report(state);
}

} // namespace

int serve_caf(int fd) {
    io_runtime runtime;
    auto& sys = runtime.system();
    auto svc = sys.spawn(service);
    auto port = sys.middleman().publish(svc, 0, host);
    if (!port) {
        std::fprintf(stderr, "caf server: %s\n", sys.render(port.error()).c_str());
        return 1;
    }
    announce_port(fd, *port);
    wait_for_stdin_eof();
    caf::anon_send_exit(svc, caf::exit_reason::user_shutdown);
    return 0;
}

BENCHMARK(BM_Caf_RemotePingPong)
    ->Name("caf/remote_ping_pong")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Caf_RemoteThroughput)
    ->Name("caf/remote_throughput")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

} // namespace troupe::bench::remote
