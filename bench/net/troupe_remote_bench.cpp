// Part of troupe. See LICENSE at the repository root.
//
// troupe side of the two-process benchmarks (docs/net-bench.md): a troupe::net node in the server
// process publishes one `service` actor; the client's node connects once and looks it up, and
// every repetition reuses that ref.
//   troupe/remote_ping_pong  : ref.ask(echo{16 bytes}, 5s).get() per iteration
//   troupe/remote_throughput : throughput_batch tells of item{i32, 12 chars}, then asks of `count`
//                              until the service has seen them all; the proxy mailbox blocks
//                              (a plain thread waits instead of losing messages), and a dead
//                              letter or a missing message fails the case

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "net/remote_harness.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace troupe_netbench {

struct echo {
    using reply_type = std::string;
    std::string payload;
    MSGPACK_DEFINE(payload)
};
struct item {
    std::int32_t id = 0;
    std::string text;
    MSGPACK_DEFINE(id, text)
};
struct count {
    using reply_type = std::uint64_t;
    MSGPACK_DEFINE()
};
using service_protocol = std::variant<echo, item, count>;

} // namespace troupe_netbench

TROUPE_WIRE_TYPE(::troupe_netbench::echo, "netbench.echo", 1);
TROUPE_WIRE_TYPE(::troupe_netbench::item, "netbench.item", 1);
TROUPE_WIRE_TYPE(::troupe_netbench::count, "netbench.count", 1);

namespace troupe::bench::remote {
namespace {

using namespace std::chrono_literals;
using namespace troupe_netbench;

/// Echoes `echo`, counts `item`s, answers `count` with the items seen so far.
class service final : public troupe::actor<service_protocol> {
public:
    std::string on(echo& e) { return std::move(e.payload); }
    void on(item& /*unused*/) { ++received_; }
    std::uint64_t on(count& /*unused*/) const { return received_; }

private:
    std::uint64_t received_ = 0;
};

/// The server's service mailbox: room for more than one receive window of items.
constexpr std::uint32_t service_capacity = 1U << 18U;

net::node_options options(std::string name) {
    net::node_options o;
    o.name = std::move(name);
    o.secret = std::string(troupe_secret);
    return o;
}

/// The client's system and node, connected to the troupe server once per process.
struct client {
    troupe::system sys;
    std::shared_ptr<net::node> node;
    actor_ref<service_protocol> service;
};

/// The connected client of a sealed (`troupe`) or unsealed (`troupe_plain`: encryption
/// off on both nodes) server, or nullptr with `why` set. Benchmark thread only.
client* connect(std::string& why, server_kind kind = server_kind::troupe) {
    static std::map<server_kind, std::unique_ptr<client>> instances;
    static std::map<server_kind, std::string> failures;
    auto& instance = instances[kind];
    auto& failure = failures[kind];
    if (instance || !failure.empty()) {
        why = failure;
        return instance.get();
    }
    server_process* srv = server(kind, failure);
    if (srv == nullptr) {
        why = failure;
        return nullptr;
    }
    auto c = std::make_unique<client>();
    auto opts = options("netbench-client");
    opts.encrypt = kind == server_kind::troupe;
    // The client is a plain thread: when the link's queue is full it waits (up to the
    // timeout) rather than losing tells.
    opts.proxy_mailbox.policy = troupe::overflow_policy::block;
    opts.proxy_mailbox.block_timeout = 30s;
    auto node = net::node::attach(c->sys, opts);
    if (!node) {
        failure = "attach: " + node.error().to_string();
    } else if (auto peer = (*node)->connect(host, srv->port); !peer) {
        failure = "connect: " + peer.error().to_string();
    } else if (auto ref = (*node)->lookup<service_protocol>(peer->id, "service", 5s); !ref) {
        failure = "lookup: " + ref.error().to_string();
    } else {
        c->node = *node;
        c->service = *ref;
        instance = std::move(c);
        at_exit([kind] { instances[kind].reset(); });
    }
    why = failure;
    return instance.get();
}

void BM_Troupe_RemotePingPong(benchmark::State& state) {
    std::string why;
    client* c = connect(why);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    latency_recorder latency;
    latency.reserve(static_cast<std::size_t>(state.max_iterations));
    const std::string payload(ping_payload);
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        auto reply = c->service.ask(echo{payload}, 5s).get();
        latency.add(std::chrono::steady_clock::now() - start);
        if (!reply || *reply != payload) {
            state.SkipWithError(reply ? "wrong echo" : reply.error().to_string().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    latency.report(state);
}

/// The service's count, or nullopt (and the run skipped) when the ask fails.
std::optional<std::uint64_t> service_count(client& c, benchmark::State& state) {
    auto n = c.service.ask(count{}, 10s).get();
    if (!n) {
        state.SkipWithError(("count: " + n.error().to_string()).c_str());
        return std::nullopt;
    }
    return *n;
}

void remote_throughput(benchmark::State& state, server_kind kind) {
    std::string why;
    client* c = connect(why, kind);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    // Every earlier run ended synchronised, so the count is stable here.
    const auto base = service_count(*c, state);
    if (!base) {
        return;
    }
    const std::uint64_t dead_before = c->sys.dead_letters().total();
    std::uint64_t sent = 0;
    rss_growth rss(*server(kind, why));
    for (auto _ : state) {
        bool refused = false;
        for (std::int64_t i = 0; i < throughput_batch && !refused; ++i) {
            refused = !c->service.tell(item{static_cast<std::int32_t>(i), std::string(item_text)});
            sent += refused ? 0 : 1;
        }
        if (refused) {
            state.SkipWithError("a tell was refused");
            break;
        }
        // The count can only catch up; every ask is one round trip.
        std::optional<std::uint64_t> seen;
        while ((seen = service_count(*c, state)) && *seen < *base + sent) {
        }
        if (!seen) {
            break;
        }
        if (*seen != *base + sent || c->sys.dead_letters().total() != dead_before) {
            state.SkipWithError("messages were lost or duplicated");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    rss.report(state);
}

void BM_Troupe_RemoteThroughput(benchmark::State& state) {
    remote_throughput(state, server_kind::troupe);
}

// The same without encryption on either node: the cost of sealing.
void BM_Troupe_RemoteThroughputPlain(benchmark::State& state) {
    remote_throughput(state, server_kind::troupe_plain);
}

} // namespace

int serve_troupe(int fd, bool sealed) {
    troupe::system sys;
    auto opts = options("netbench-server");
    opts.encrypt = sealed;
    auto node = net::node::attach(sys, opts);
    if (!node) {
        std::fprintf(stderr, "troupe server: %s\n", node.error().to_string().c_str());
        return 1;
    }
    // Policy `reject` (the default) refuses what finds the mailbox full; with this much room no
    // burst of inbound frames does, or the counted sync fails the run (docs/net-bench.md).
    troupe::spawn_options roomy;
    roomy.capacity = service_capacity;
    auto svc = sys.spawn_with<service>(roomy);
    if (auto published = (*node)->publish("service", svc); !published) {
        std::fprintf(stderr, "troupe server: %s\n", published.error().to_string().c_str());
        return 1;
    }
    auto port = (*node)->listen(host, 0);
    if (!port) {
        std::fprintf(stderr, "troupe server: %s\n", port.error().to_string().c_str());
        return 1;
    }
    announce_port(fd, *port);
    wait_for_stdin_eof();
    (*node)->close();
    return sys.shutdown(5s) ? 0 : 1;
}

} // namespace troupe::bench::remote

BENCHMARK(troupe::bench::remote::BM_Troupe_RemotePingPong)
    ->Name("troupe/remote_ping_pong")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(troupe::bench::remote::BM_Troupe_RemoteThroughput)
    ->Name("troupe/remote_throughput")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(troupe::bench::remote::BM_Troupe_RemoteThroughputPlain)
    ->Name("troupe/remote_throughput_unsealed")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
