// Part of troupe. See LICENSE at the repository root.

// Volume across a link: millions of messages to a slow receiver. Its own
// executable (labelled stress), with a longer timeout than the other tests.

#include "flow_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace troupe::net {
namespace {

using namespace flow_fixture;

// 5 M messages (half a million under the sanitizers) of about 130 bytes each
// on the wire, about 650 MB, flow to a slow receiver with a small mailbox
// through the node's default windows. Both nodes' memory stays bounded by
// the windows and queues (the peak RSS of the process, which holds both,
// grows by less than 2 x 64 MiB; about 86 MiB measured with the default 8 MiB
// window and 16 MiB queue) and every message has a counted outcome.
TEST(FlowControl, FiveMillionMessagesToASlowReceiverKeepBothNodesBounded) {
    constexpr std::uint64_t n = sanitized ? 500'000 : 5'000'000;
    two_nodes t(1024, overflow_policy::block, windows::defaults);
    ASSERT_TRUE(t.remote);
    std::ofstream("/proc/self/clear_refs") << "5"; // resets VmHWM where the kernel allows it
    const std::uint64_t rss_before = status_bytes("VmRSS");
    const std::uint64_t accepted = t.tell_items(n);
    auto received = t.sync();
    const std::uint64_t peak = status_bytes("VmHWM");
    ASSERT_TRUE(received) << received.error();
    EXPECT_EQ(accepted, n); // the sending thread waited for room instead
    EXPECT_GT(*received, 0u);
    // Each item was delivered in order or refused by the full sink: a dead
    // letter on the receiving node; none was lost on the wire or the sender.
    EXPECT_EQ(n, *received + t.receiver_sys.dead_letters().count(dead_letter_reason::mailbox_full));
    EXPECT_EQ(t.sender_sys.dead_letters().total(), 0u);
    EXPECT_EQ(t.sender->counters().links_lost, 0u);
    EXPECT_EQ(t.receiver->counters().frames_refused, 0u);
    if (!sanitized && peak > 0 && rss_before > 0) { // the sanitizers' allocators hold memory back
        EXPECT_LT(peak - std::min(peak, rss_before), 128u << 20U)
            << "peak RSS " << (peak >> 20U) << " MiB, before " << (rss_before >> 20U) << " MiB";
    }
}

} // namespace
} // namespace troupe::net
