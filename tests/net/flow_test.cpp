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
#include <iostream>
#include <string>
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

TEST(FlowControl, EveryMessageIsDeliveredRefusedOrCountedAndTheLinkHolds) {
    troupe::system sender_sys;
    troupe::system receiver_sys;
    node_options o;
    o.secret = "a shared cluster secret";
    o.max_frame_size = 4096;
    o.receive_window = 16 * 1024;
    o.outbound_capacity = 32 * 1024;
    o.proxy_mailbox.capacity = 256;
    o.name = "receiver";
    auto receiver = node::attach(receiver_sys, o);
    o.name = "sender";
    auto sender = node::attach(sender_sys, o);
    ASSERT_TRUE(receiver && sender);
    auto port = (*receiver)->listen();
    ASSERT_TRUE(port);
    auto the_sink = receiver_sys.spawn_with<sink>(spawn_options{.capacity = 128});
    ASSERT_TRUE((*receiver)->publish("sink", the_sink));
    auto peer = (*sender)->connect("127.0.0.1", *port);
    ASSERT_TRUE(peer) << peer.error();
    auto remote = (*sender)->lookup<sink_protocol>(peer->id, "sink", 5s);
    ASSERT_TRUE(remote) << remote.error();

    constexpr std::uint64_t n = 20000;
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;
    const std::string pad(100, 'x');
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        if (remote->tell(flow::item{seq, pad})) {
            ++accepted;
        } else {
            ++refused;
        }
    }
    // The ask travels behind every item the proxy took: its reply means they
    // were all delivered or refused. It may itself be refused while the
    // queues are full; retry until it goes through.
    expected<std::uint64_t> received = fail(errc::mailbox_full);
    for (int attempt = 0; attempt < 1000 && !received; ++attempt) {
        received = remote->ask(flow::count{}, 10s).get();
        ASSERT_TRUE(received || received.error().code() == errc::mailbox_full) << received.error();
    }
    ASSERT_TRUE(received) << received.error();

    const auto proxy = sender_sys.counters(remote->addr());
    const auto at_sink = receiver_sys.counters(the_sink.addr());
    ASSERT_TRUE(proxy && at_sink);
    const std::uint64_t overflowed =
        sender_sys.dead_letters().count(dead_letter_reason::link_overflow);
    // Sender side: every tell reached the proxy or was refused to the sender.
    EXPECT_EQ(accepted + refused, n);
    EXPECT_GE(proxy->rejected, refused); // the refused asks are counted there too
    // Across the link: what the proxy took was delivered, refused by the
    // sink's mailbox (counted there), or a link_overflow dead letter here.
    EXPECT_EQ(accepted, *received + at_sink->rejected + overflowed)
        << "received " << *received << ", rejected at the sink " << at_sink->rejected
        << ", overflowed " << overflowed;
    EXPECT_GT(*received, 0u);
    std::cout << "accepted " << accepted << ", refused " << refused << ", received " << *received
              << ", rejected at the sink " << at_sink->rejected << ", overflowed " << overflowed
              << "\n";
    EXPECT_EQ((*sender)->counters().links_lost, 0u);
    EXPECT_EQ((*receiver)->counters().frames_refused, 0u);
    EXPECT_EQ((*sender)->peers().size(), 1u);
}

} // namespace
} // namespace troupe::net
