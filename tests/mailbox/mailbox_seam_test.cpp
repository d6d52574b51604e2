// Part of troupe. See LICENSE at the repository root.
//
// Deterministic tests of mailbox::reserve()'s worst interleavings, built
// against a copy of mailbox.cpp compiled with TROUPE_MAILBOX_TEST_SEAM: the
// pause hook below runs inside reserve() and plays the other threads.

#include "mailbox_seam.hpp"

#include <troupe/mailbox/mailbox.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace troupe::detail {

struct mailbox_test_seam {
    /// Starts both slot counters (and the hint) at `origin`, as if that many
    /// messages had passed through an empty mailbox.
    static void start_counters_at(mailbox& mb, std::uint32_t origin) {
        mb.reserved_.store(origin, std::memory_order_relaxed);
        mb.released_.store(origin, std::memory_order_relaxed);
        mb.released_hint_.store(origin, std::memory_order_relaxed);
    }
    static std::uint32_t reserved(const mailbox& mb) {
        return mb.reserved_.load(std::memory_order_relaxed);
    }
    static std::uint32_t released(const mailbox& mb) {
        return mb.released_.load(std::memory_order_relaxed);
    }
    static constexpr bool has_room(std::uint32_t reserved, std::uint32_t released,
                                   std::uint32_t capacity) {
        return mailbox::has_room(reserved, released, capacity);
    }
};

namespace {
struct pause_plan {
    mailbox_pause_point at;
    std::function<void()> act;
};
std::vector<pause_plan> plans; // this test binary's only thread touches it
} // namespace

void mailbox_pause(mailbox& /*mb*/, mailbox_pause_point at) noexcept {
    // One-shot per plan: the plan's own pushes pass through here too.
    for (auto it = plans.begin(); it != plans.end(); ++it) {
        if (it->at == at) {
            auto act = std::move(it->act);
            plans.erase(it);
            act();
            return;
        }
    }
}

} // namespace troupe::detail

namespace troupe {
namespace {

using detail::mailbox_pause_point;
using seam = detail::mailbox_test_seam;

// The signed gap: a released count newer than the snapshot means room, across
// the wrap as well; a real gap of `capacity` means full, across the wrap too.
static_assert(seam::has_room(5, 7, 4));
static_assert(seam::has_room(0xFFFF'FFFFU, 3, 4));
static_assert(seam::has_room(2, 0xFFFF'FFFFU, 4));
static_assert(!seam::has_room(3, 0xFFFF'FFFFU, 4));
static_assert(!seam::has_room(8, 4, 4));
static_assert(seam::has_room(7, 4, 4));

class MailboxSeamTest : public ::testing::TestWithParam<std::uint32_t> {
protected:
    void SetUp() override {
        detail::plans.clear();
        seam::start_counters_at(mb_, GetParam());
    }
    void TearDown() override {
        EXPECT_TRUE(detail::plans.empty()) << "a planned interleaving never happened";
        (void)mb_.close();
    }
    void pop_all() {
        (void)mb_.fetch();
        while (mb_.pop_user() != nullptr) {
        }
    }
    static constexpr std::uint32_t capacity = 4;
    mailbox mb_{capacity, mailbox_eviction::none};
    std::vector<mailbox_node> nodes_ = std::vector<mailbox_node>(16);
};

// The reported bug, pre-check side: a producer reads reserved_ while the lane
// is full; before it reads released_, the consumer drains the lane and
// another producer's message passes through, so released_ is newer than the
// snapshot. The lane is empty: the push must be accepted.
TEST_P(MailboxSeamTest, SnapshotOlderThanReleasedStillFindsRoom) {
    for (std::uint32_t i = 0; i < capacity; ++i) {
        ASSERT_NE(mb_.push(&nodes_[i]), push_result::full);
    }
    detail::plans.push_back({mailbox_pause_point::after_snapshot, [&] {
                                 pop_all();
                                 ASSERT_NE(mb_.push(&nodes_[capacity + 1]), push_result::full);
                                 pop_all();
                             }});
    EXPECT_NE(mb_.push(&nodes_[capacity + 2]), push_result::full);
    EXPECT_EQ(mb_.size(), 1U);
    EXPECT_EQ(seam::reserved(mb_) - seam::released(mb_), 1U);
}

// The same, after the increment: the hint said full, and before released_ is
// read the lane drains and a younger reservation is released.
TEST_P(MailboxSeamTest, ReservationOlderThanReleasedStillFindsRoom) {
    for (std::uint32_t i = 0; i + 1 < capacity; ++i) {
        ASSERT_NE(mb_.push(&nodes_[i]), push_result::full);
    }
    // Passes the pre-check with 3 queued; another producer takes the last
    // slot before the increment, so the hint then says full.
    detail::plans.push_back({mailbox_pause_point::before_increment, [&] {
                                 ASSERT_NE(mb_.push(&nodes_[8]), push_result::full);
                                 detail::plans.push_back(
                                     {mailbox_pause_point::after_increment, [&] {
                                          pop_all();
                                          ASSERT_NE(mb_.push(&nodes_[9]), push_result::full);
                                          pop_all();
                                      }});
                             }});
    EXPECT_NE(mb_.push(&nodes_[10]), push_result::full);
    EXPECT_EQ(mb_.size(), 1U);
}

// The bound stays exact when the staleness runs the other way: the snapshot
// saw room, then other producers filled the lane before the increment.
TEST_P(MailboxSeamTest, LaneFilledBeforeTheIncrementIsFull) {
    detail::plans.push_back({mailbox_pause_point::before_increment, [&] {
                                 for (std::uint32_t i = 0; i < capacity; ++i) {
                                     ASSERT_NE(mb_.push(&nodes_[i]), push_result::full);
                                 }
                             }});
    EXPECT_EQ(mb_.push(&nodes_[8]), push_result::full);
    EXPECT_EQ(mb_.size(), capacity);
    EXPECT_EQ(seam::reserved(mb_) - seam::released(mb_), capacity); // refused slot returned
}

// Counters running across 2^32: the bound holds on every step.
TEST_P(MailboxSeamTest, BoundIsExactAcrossTheCounterWrap) {
    for (int round = 0; round < 64; ++round) {
        for (std::uint32_t i = 0; i < capacity; ++i) {
            ASSERT_NE(mb_.push(&nodes_[i]), push_result::full) << "round " << round;
        }
        ASSERT_EQ(mb_.size(), capacity);
        ASSERT_EQ(mb_.push(&nodes_[capacity]), push_result::full) << "round " << round;
        (void)mb_.fetch();
        ASSERT_NE(mb_.pop_user(), nullptr);
        ASSERT_NE(mb_.push(&nodes_[capacity]), push_result::full) << "round " << round;
        ASSERT_EQ(mb_.push(&nodes_[capacity + 1]), push_result::full) << "round " << round;
        pop_all();
        ASSERT_EQ(mb_.size(), 0U);
    }
}

// Origins: an ordinary start, and counters a few messages short of 2^32 and
// of 2^31 (where a signed reading of the raw counters would flip).
INSTANTIATE_TEST_SUITE_P(Origins, MailboxSeamTest,
                         ::testing::Values(0U, 0xFFFF'FFFDU, 0x7FFF'FFFEU, 0xFFFF'FFFFU));

} // namespace
} // namespace troupe
