// Part of troupe. See LICENSE at the repository root.

#include <troupe/mailbox/mailbox.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <vector>

// Counts global allocations on this thread while armed: proves that a
// mailbox's capacity is a bound, not a preallocation.
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocations = 0;
} // namespace

// A replacement operator new cannot allocate through new: these wrap malloc and free.
void* operator new(std::size_t n) {
    if (g_counting) {
        ++g_allocations;
    }
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): see above
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
// NOLINTNEXTLINE(cppcoreguidelines-no-malloc): see above
void operator delete(void* p) noexcept { std::free(p); }
// NOLINTNEXTLINE(cppcoreguidelines-no-malloc): see above
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace troupe {
namespace {

static_assert(!std::is_copy_constructible_v<mailbox>);
static_assert(!std::is_copy_assignable_v<mailbox>);
static_assert(std::is_nothrow_constructible_v<mailbox, std::uint32_t, bool>);

struct node : mailbox_node {
    explicit node(int v, lane l = lane::user) : value(v) { lane_kind = l; }
    int value;
};

int value_of(mailbox_node* n) { return n == nullptr ? -1 : static_cast<node*>(n)->value; }

std::vector<int> drain_user(mailbox& mb) {
    std::vector<int> out;
    mb.fetch();
    while (mailbox_node* n = mb.pop_user()) {
        out.push_back(value_of(n));
    }
    return out;
}

class MailboxTest : public ::testing::Test {};

TEST_F(MailboxTest, UserLaneIsFifo) {
    mailbox mb(16, false);
    std::vector<node> nodes;
    nodes.reserve(5);
    for (int i = 0; i < 5; ++i) {
        nodes.emplace_back(i);
    }
    for (auto& n : nodes) {
        ASSERT_NE(mb.push(&n), push_result::full);
    }
    EXPECT_EQ(mb.size(), 5u);
    EXPECT_EQ(drain_user(mb), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(mb.size(), 0u);
}

TEST_F(MailboxTest, FifoAcrossSeveralFetches) {
    mailbox mb(16, false);
    node a(1), b(2), c(3), d(4);
    (void)mb.push(&a);
    (void)mb.push(&b);
    ASSERT_TRUE(mb.fetch());
    (void)mb.push(&c);
    (void)mb.push(&d);
    // a and b are already in the consumer's list; c and d must come after them.
    std::vector<int> out;
    out.push_back(value_of(mb.pop_user()));
    mb.fetch();
    while (mailbox_node* n = mb.pop_user()) {
        out.push_back(value_of(n));
    }
    EXPECT_EQ(out, (std::vector<int>{1, 2, 3, 4}));
}

TEST_F(MailboxTest, SystemLaneIsFifoAndServedFirst) {
    mailbox mb(16, false);
    node u1(1), s1(101, lane::system), u2(2), s2(102, lane::system);
    (void)mb.push(&u1);
    (void)mb.push(&s1);
    (void)mb.push(&u2);
    (void)mb.push(&s2);
    EXPECT_EQ(mb.size(), 2u) << "only user messages count against capacity";
    ASSERT_TRUE(mb.fetch());
    EXPECT_EQ(value_of(mb.pop_system()), 101);
    EXPECT_EQ(value_of(mb.pop_system()), 102);
    EXPECT_EQ(mb.pop_system(), nullptr);
    EXPECT_EQ(value_of(mb.pop_user()), 1);
    EXPECT_EQ(value_of(mb.pop_user()), 2);
    EXPECT_EQ(mb.pop_user(), nullptr);
}

TEST_F(MailboxTest, PushFailsWithFullAtCapacity) {
    mailbox mb(3, false);
    node a(1), b(2), c(3), d(4), s(9, lane::system);
    EXPECT_NE(mb.push(&a), push_result::full);
    EXPECT_NE(mb.push(&b), push_result::full);
    EXPECT_NE(mb.push(&c), push_result::full);
    EXPECT_EQ(mb.push(&d), push_result::full);
    EXPECT_EQ(mb.size(), 3u);
    // The system lane is never refused for capacity.
    EXPECT_EQ(mb.push(&s), push_result::accepted);
    mb.fetch();
    EXPECT_EQ(value_of(mb.pop_system()), 9);
    EXPECT_EQ(value_of(mb.pop_user()), 1);
    // One slot freed: exactly one more fits.
    EXPECT_NE(mb.push(&d), push_result::full);
    node e(5);
    EXPECT_EQ(mb.push(&e), push_result::full);
    EXPECT_EQ(drain_user(mb), (std::vector<int>{2, 3, 4}));
}

TEST_F(MailboxTest, UnblockedOnlyOnIdleToBusyTransition) {
    mailbox mb(16, false);
    node a(1), b(2), c(3), d(4), s(5, lane::system);
    // A new mailbox's consumer is idle.
    EXPECT_EQ(mb.push(&a), push_result::accepted_unblocked);
    EXPECT_EQ(mb.push(&b), push_result::accepted);
    mb.fetch();
    // Pending messages: the consumer may not go idle.
    EXPECT_FALSE(mb.try_block());
    EXPECT_EQ(value_of(mb.pop_user()), 1);
    EXPECT_EQ(value_of(mb.pop_user()), 2);
    EXPECT_TRUE(mb.try_block());
    EXPECT_EQ(mb.push(&c), push_result::accepted_unblocked);
    EXPECT_EQ(mb.push(&d), push_result::accepted);
    // An arrival after fetch keeps the consumer busy.
    EXPECT_FALSE(mb.try_block());
    (void)drain_user(mb);
    ASSERT_TRUE(mb.try_block());
    // System messages wake an idle consumer too.
    EXPECT_EQ(mb.push(&s), push_result::accepted_unblocked);
    mb.fetch();
    EXPECT_EQ(value_of(mb.pop_system()), 5);
    EXPECT_TRUE(mb.try_block());
}

TEST_F(MailboxTest, TryUnblockReportsIdleOnce) {
    mailbox mb(4, false);
    EXPECT_TRUE(mb.try_unblock());
    EXPECT_FALSE(mb.try_unblock());
    node a(1);
    EXPECT_EQ(mb.push(&a), push_result::accepted) << "consumer already marked active";
}

TEST_F(MailboxTest, PausedUserLaneLetsConsumerIdle) {
    mailbox mb(4, false);
    node a(1), s(2, lane::system);
    (void)mb.push(&a);
    mb.fetch();
    EXPECT_FALSE(mb.try_block(false));
    EXPECT_TRUE(mb.try_block(true)) << "queued user messages do not count while paused";
    EXPECT_EQ(mb.push(&s), push_result::accepted_unblocked);
    mb.fetch();
    EXPECT_EQ(value_of(mb.pop_system()), 2);
    EXPECT_EQ(value_of(mb.pop_user()), 1);
}

TEST_F(MailboxTest, CloseReturnsEverythingAndRefusesLaterPushes) {
    mailbox mb(8, false);
    node u1(1), u2(2), u3(3), s1(11, lane::system), s2(12, lane::system);
    (void)mb.push(&u1);
    (void)mb.push(&s1);
    (void)mb.push(&u2);
    mb.fetch(); // some in the consumer's lists ...
    (void)mb.push(&u3);
    (void)mb.push(&s2); // ... and some still in the inbox
    std::vector<int> got;
    for (mailbox_node* n = mb.close(); n != nullptr; n = n->next) {
        got.push_back(value_of(n));
    }
    EXPECT_EQ(got, (std::vector<int>{11, 12, 1, 2, 3}));
    EXPECT_TRUE(mb.is_closed());
    node late(4), late_sys(13, lane::system);
    EXPECT_EQ(mb.push(&late), push_result::closed);
    EXPECT_EQ(mb.push(&late_sys), push_result::closed);
    EXPECT_EQ(mb.size(), 0u);
}

// Two-phase close: after close_user_lane() user pushes are refused while
// system pushes are kept (FIFO) for close(); afterwards everything is refused.
TEST_F(MailboxTest, UserLaneClosesFirstSystemMessagesWaitForTheFinalClose) {
    mailbox mb(8, false);
    node u1(1), s1(11, lane::system);
    (void)mb.push(&u1);
    (void)mb.push(&s1);
    std::vector<int> first;
    for (mailbox_node* n = mb.close_user_lane(); n != nullptr; n = n->next) {
        first.push_back(value_of(n));
    }
    EXPECT_EQ(first, (std::vector<int>{11, 1}));
    EXPECT_EQ(mb.size(), 0u);
    EXPECT_FALSE(mb.is_closed());
    EXPECT_FALSE(mb.has_arrivals());
    node u2(2), s2(12, lane::system), s3(13, lane::system);
    EXPECT_EQ(mb.push(&u2), push_result::closed);
    EXPECT_EQ(mb.push(&s2), push_result::accepted);
    EXPECT_EQ(mb.push(&s3), push_result::accepted);
    EXPECT_EQ(mb.size(), 0u) << "a refused user push returns its slot";
    std::vector<int> rest;
    for (mailbox_node* n = mb.close(); n != nullptr; n = n->next) {
        rest.push_back(value_of(n));
    }
    EXPECT_EQ(rest, (std::vector<int>{12, 13}));
    EXPECT_TRUE(mb.is_closed());
    node s4(14, lane::system);
    EXPECT_EQ(mb.push(&s4), push_result::closed);
}

// A closing mailbox holds no user messages for an evicting producer.
TEST_F(MailboxTest, EvictFindsNothingWhileClosing) {
    mailbox mb(1, true);
    node u1(1), s1(11, lane::system);
    (void)mb.push(&u1);
    (void)mb.close_user_lane();
    (void)mb.push(&s1);
    EXPECT_EQ(mb.evict_oldest(), nullptr);
    mailbox_node* rest = mb.close();
    ASSERT_NE(rest, nullptr);
    EXPECT_EQ(value_of(rest), 11);
    EXPECT_EQ(rest->next, nullptr);
}

TEST_F(MailboxTest, EvictOldestTakesTheOldestQueuedUserMessage) {
    mailbox mb(3, true);
    node a(1), b(2), c(3), d(4), e(5), s(9, lane::system);
    (void)mb.push(&a);
    (void)mb.push(&s);
    (void)mb.push(&b);
    (void)mb.push(&c);
    ASSERT_EQ(mb.push(&d), push_result::full);
    // Still in the inbox (no fetch yet).
    EXPECT_EQ(value_of(mb.evict_oldest()), 1);
    EXPECT_NE(mb.push(&d), push_result::full);
    mb.fetch();
    // Now from the consumer's list.
    EXPECT_EQ(value_of(mb.evict_oldest()), 2);
    EXPECT_NE(mb.push(&e), push_result::full);
    EXPECT_EQ(mb.size(), 3u);
    mb.fetch();
    EXPECT_EQ(value_of(mb.pop_system()), 9) << "eviction never touches the system lane";
    EXPECT_EQ(drain_user(mb), (std::vector<int>{3, 4, 5}));
    EXPECT_EQ(mb.evict_oldest(), nullptr);
}

TEST_F(MailboxTest, CapacityIsNotAPreallocation) {
    static_assert(sizeof(mailbox) <= 128, "a mailbox is a few words, whatever its capacity");
    g_allocations = 0;
    g_counting = true;
    auto* small = new mailbox(16, false);
    auto* huge = new mailbox(1'000'000'000, true);
    g_counting = false;
    EXPECT_EQ(g_allocations, 2u) << "only the two mailbox objects themselves";
    EXPECT_EQ(huge->capacity(), 1'000'000'000u);
    node a(1);
    g_counting = true;
    (void)huge->push(&a);
    huge->fetch();
    (void)huge->pop_user();
    g_counting = false;
    EXPECT_EQ(g_allocations, 2u) << "push/fetch/pop never allocate";
    delete small;
    delete huge;
}

} // namespace
} // namespace troupe
