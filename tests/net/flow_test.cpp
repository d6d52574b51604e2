// Part of troupe. See LICENSE at the repository root.

// Flow control across a link: a slow receiver with a small credit window and
// a sender with a small outbound queue. Every message told is delivered,
// refused to its sender, or a counted dead letter on one of the two nodes;
// the link stays up (the sender never ran past its credit).

#include "flow_fixture.hpp"

#include <gtest/gtest.h>

namespace troupe::net {
namespace {

using namespace flow_fixture;

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

// A receiver whose policy waits for room (`block`, `suspend`) holds back the
// link instead of refusing: a sink of 16 slots takes 20000 items, all of them,
// in order, and no tell is refused or lost on either node.
TEST(FlowControl, AReceiverThatWaitsForRoomSlowsTheSenderAndLosesNothing) {
    for (auto policy : {overflow_policy::block, overflow_policy::suspend}) {
        constexpr std::uint64_t n = 20000;
        two_nodes t(16, overflow_policy::block, windows::small, policy);
        ASSERT_TRUE(t.remote);
        const std::uint64_t accepted = t.tell_items(n);
        auto received = t.sync();
        ASSERT_TRUE(received) << received.error();
        EXPECT_EQ(accepted, n);
        EXPECT_EQ(*received, n); // in order (the sink counts 0 if not)
        EXPECT_EQ(t.sender_sys.dead_letters().total(), 0u);
        EXPECT_EQ(t.receiver_sys.dead_letters().total(), 0u);
        // Not even sync()'s count ask was refused: it waited for room too.
        EXPECT_EQ(t.receiver_sys.counters(t.the_sink.addr()).value().rejected, 0u);
        EXPECT_EQ(t.receiver->counters().messages_refused, 0u);
        EXPECT_EQ(t.receiver->counters().frames_refused, 0u);
        // The full sink sent frames to the link actor; once it drained them
        // the I/O thread delivers directly again.
        const node_counters before = t.receiver->counters();
        EXPECT_GT(before.delivered_by_link_actor, 0u);
        bool direct_again = false;
        for (int attempt = 0; attempt < 1000 && !direct_again; ++attempt) {
            ASSERT_TRUE(t.remote.ask(flow::count{}, 10s).get());
            direct_again = t.receiver->counters().delivered_directly > before.delivered_directly;
        }
        EXPECT_TRUE(direct_again);
    }
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
