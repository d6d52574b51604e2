// Part of troupe. See LICENSE at the repository root.

// Two nodes in one process for the flow-control tests: a slow sink on the
// receiving node, published and looked up from the sending node.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <variant>

namespace flow {
struct item {
    std::uint64_t seq = 0;
    std::string pad;
    MSGPACK_DEFINE(seq, pad)
};
struct count {
    using reply_type = std::uint64_t;
    std::uint8_t unused = 0;
    MSGPACK_DEFINE(unused)
};
} // namespace flow
TROUPE_WIRE_TYPE(::flow::item, "flow.item", 1);
TROUPE_WIRE_TYPE(::flow::count, "flow.count", 1);

namespace troupe::net::flow_fixture {

using namespace std::chrono_literals;
using sink_protocol = std::variant<flow::item, flow::count>;

/// Slow on purpose: each item costs some work; items must arrive in order.
class sink final : public actor<sink_protocol> {
public:
    void on(flow::item& i) {
        if (i.seq <= last_) {
            ++out_of_order_;
        }
        last_ = i.seq;
        ++received_;
        for (char c : i.pad) {
            work_ = work_ * 31 + static_cast<std::uint64_t>(c);
        }
    }
    std::uint64_t on(flow::count& /*unused*/) { return out_of_order_ == 0 ? received_ : 0; }

private:
    std::uint64_t received_ = 0;
    std::uint64_t last_ = 0;
    std::uint64_t out_of_order_ = 0;
    std::uint64_t work_ = 0;
};

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// A field of /proc/self/status in bytes ("VmHWM", "VmRSS"); 0 if unreadable.
inline std::uint64_t status_bytes(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + ":", 0) == 0) {
            return std::stoull(line.substr(key.size() + 1)) * 1024; // "  1234 kB"
        }
    }
    return 0;
}

// The windows `two_nodes` uses unless told to keep the node's defaults.
enum class windows { small, defaults };

struct two_nodes {
    explicit two_nodes(std::uint32_t sink_capacity, overflow_policy proxy_policy,
                       windows w = windows::small,
                       overflow_policy sink_policy = overflow_policy::reject) {
        node_options o;
        o.secret = "a shared cluster secret";
        if (w == windows::small) {
            o.max_frame_size = 4096;
            o.receive_window = 16 * 1024;
            o.outbound_capacity = 32 * 1024;
        }
        o.proxy_mailbox.capacity = 256;
        o.proxy_mailbox.policy = proxy_policy;
        o.proxy_mailbox.block_timeout = 30s;
        if (sanitized) {
            // Under the sanitizers, with other tests on both cores, an I/O
            // thread can be kept off the CPU for a second, which the 1 s
            // default reads as a silent peer (measured: a tick 840 ms late).
            // Without them the default stays, so these tests also show that
            // heartbeats keep flowing under load.
            o.heartbeat_timeout = 30s;
        }
        o.name = "receiver";
        receiver = *node::attach(receiver_sys, o);
        o.name = "sender";
        sender = *node::attach(sender_sys, o);
        auto port = receiver->listen();
        the_sink = receiver_sys.spawn_with<sink>(
            spawn_options{.capacity = sink_capacity, .policy = sink_policy});
        (void)receiver->publish("sink", the_sink);
        auto peer = sender->connect("127.0.0.1", *port);
        remote = *sender->lookup<sink_protocol>(peer->id, "sink", 5s);
    }
    // Tells `n` items; returns how many the proxy accepted.
    std::uint64_t tell_items(std::uint64_t n) {
        std::uint64_t accepted = 0;
        const std::string pad(100, 'x');
        for (std::uint64_t seq = 1; seq <= n; ++seq) {
            if (remote.tell(flow::item{seq, pad})) {
                ++accepted;
            }
        }
        return accepted;
    }
    // The count ask travels behind every item the proxy took: its reply
    // means they were all delivered or refused. It may itself be refused
    // while the queues are full (by the proxy at once, or by the sink); it
    // is retried, with a pause for the queues to drain, until it goes
    // through or 120 s have passed. Each try waits for the rest of that
    // budget: the queues ahead of it can hold ~200 k items, which a starved
    // sanitizer build drains at under 10 k/s. The pause only spaces the
    // retries: the outcome is the reply, whatever the timing.
    expected<std::uint64_t> sync() {
        const auto give_up = std::chrono::steady_clock::now() + 120s;
        for (;;) {
            auto received =
                remote.ask(flow::count{}, give_up - std::chrono::steady_clock::now()).get();
            if (received || received.error().code() != errc::mailbox_full ||
                std::chrono::steady_clock::now() > give_up) {
                return received;
            }
            std::this_thread::sleep_for(1ms);
        }
    }

    troupe::system sender_sys;
    troupe::system receiver_sys;
    std::shared_ptr<node> receiver;
    std::shared_ptr<node> sender;
    actor_ref<sink_protocol> the_sink;
    actor_ref<sink_protocol> remote;
};

} // namespace troupe::net::flow_fixture
