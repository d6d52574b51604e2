// Part of troupe. See LICENSE at the repository root.

// Flow control across a link: a slow receiver with a small credit window and
// a sender with a small outbound queue. Every message told is delivered,
// refused to its sender, or a counted dead letter on one of the two nodes;
// the link stays up (the sender never ran past its credit).

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
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

namespace troupe::net {
namespace {

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

struct two_nodes {
    explicit two_nodes(std::uint32_t sink_capacity, overflow_policy proxy_policy) {
        node_options o;
        o.secret = "a shared cluster secret";
        o.max_frame_size = 4096;
        o.receive_window = 16 * 1024;
        o.outbound_capacity = 32 * 1024;
        o.proxy_mailbox.capacity = 256;
        o.proxy_mailbox.policy = proxy_policy;
        o.proxy_mailbox.block_timeout = 30s;
        o.name = "receiver";
        receiver = *node::attach(receiver_sys, o);
        o.name = "sender";
        sender = *node::attach(sender_sys, o);
        auto port = receiver->listen();
        the_sink = receiver_sys.spawn_with<sink>(spawn_options{.capacity = sink_capacity});
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
    // through or 30 s have passed. The pause only spaces the retries: the
    // outcome is the reply, whatever the timing.
    expected<std::uint64_t> sync() {
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        for (;;) {
            auto received = remote.ask(flow::count{}, 10s).get();
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

TEST(FlowControl, ABlockingSenderLosesNothingAndTheSlowReceiverBoundsTheQueues) {
    constexpr std::uint64_t n = 20000;
    two_nodes t(n + 16, overflow_policy::block); // the sink can hold everything
    ASSERT_TRUE(t.remote);
    const std::uint64_t accepted = t.tell_items(n);
    auto received = t.sync();
    ASSERT_TRUE(received) << received.error();
    EXPECT_EQ(accepted, n);  // the sending thread waited instead
    EXPECT_EQ(*received, n); // in order (the sink counts 0 if not)
    EXPECT_EQ(t.sender_sys.dead_letters().total(), 0u);
    EXPECT_EQ(t.receiver_sys.dead_letters().total(), 0u);
    EXPECT_EQ(t.sender->counters().links_lost, 0u);
    EXPECT_EQ(t.receiver->counters().frames_refused, 0u); // the sender kept to its credit
}

TEST(FlowControl, RefusalsOnBothNodesAreCountedNotLost) {
    constexpr std::uint64_t n = 20000;
    two_nodes t(128, overflow_policy::reject); // a small sink mailbox; the proxy refuses when full
    ASSERT_TRUE(t.remote);
    const std::uint64_t accepted = t.tell_items(n);
    auto received = t.sync();
    ASSERT_TRUE(received) << received.error();
    const auto proxy = t.sender_sys.counters(t.remote.addr());
    const auto at_sink = t.receiver_sys.counters(t.the_sink.addr());
    ASSERT_TRUE(proxy && at_sink);
    // Refused to the sender: counted by the proxy (with the refused asks).
    EXPECT_GE(proxy->rejected, n - accepted);
    // What the proxy took was delivered or refused by the sink's mailbox
    // (counted there, with the refused asks), never lost on the wire.
    EXPECT_LE(accepted, *received + at_sink->rejected);
    EXPECT_GT(*received, 0u);
    EXPECT_EQ(t.sender_sys.dead_letters().count(dead_letter_reason::link_overflow), 0u);
    // Items the sink refused are dead letters on its node (the asks refused
    // there went back to their asker instead).
    EXPECT_EQ(accepted,
              *received + t.receiver_sys.dead_letters().count(dead_letter_reason::mailbox_full));
    EXPECT_EQ(t.sender->counters().links_lost, 0u);
    EXPECT_EQ(t.receiver->counters().frames_refused, 0u);
}

} // namespace
} // namespace troupe::net
