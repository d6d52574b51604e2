// Part of troupe. See LICENSE at the repository root.
// The cell's leaf classes on their own, and the cell's cache-line layout.

#include <troupe/actors/detail/child_list.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>

#include "actor_timers.hpp"
#include "continuation_table.hpp"
#include "exit_observers.hpp"
#include "json.hpp"
#include "sender_waitlist.hpp"
#include "task_slot.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe {
namespace {

using namespace std::chrono_literals;

// ---- layout ---------------------------------------------------------------------------

// What an idle actor costs before its behaviour (bench: bytes_per_actor).
static_assert(sizeof(detail::cell) <= 200);

// ---- json -----------------------------------------------------------------------------

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
    std::string out;
    internal::append_json_string(out, std::string_view("a\"b\\c\n\t\x01\x1f/\xc3\xa9", 12));
    EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xc3\xa9\"");
    out.clear();
    internal::append_json_string(out, "");
    EXPECT_EQ(out, "\"\"");
}

// ---- child_list -----------------------------------------------------------------------

struct node {
    int id = 0;
    detail::sibling_links<node> siblings;
};

std::vector<int> ids(const detail::child_list<node>& l) {
    std::vector<int> out;
    l.for_each([&](node& n) { out.push_back(n.id); });
    return out;
}

TEST(ChildList, NewestFirstRemoveAnywhereClearHandsEachOnce) {
    node a{1}, b{2}, c{3}, d{4};
    detail::child_list<node> l;
    EXPECT_TRUE(l.empty());
    for (node* n : {&a, &b, &c, &d}) {
        l.add_newest(*n);
    }
    EXPECT_EQ(ids(l), (std::vector<int>{4, 3, 2, 1}));
    EXPECT_TRUE(l.contains(a));
    EXPECT_TRUE(l.contains(d));
    EXPECT_TRUE(l.remove(c)); // middle
    EXPECT_FALSE(l.remove(c)) << "removing twice is refused";
    EXPECT_FALSE(l.contains(c));
    EXPECT_TRUE(l.remove(d)); // newest
    EXPECT_TRUE(l.remove(a)); // oldest
    EXPECT_EQ(ids(l), (std::vector<int>{2}));
    EXPECT_EQ(l.newest(), &b);
    l.add_newest(a);
    std::vector<int> cleared;
    l.clear([&](node& n) { cleared.push_back(n.id); });
    EXPECT_EQ(cleared, (std::vector<int>{1, 2}));
    EXPECT_TRUE(l.empty());
    EXPECT_FALSE(l.contains(a));
    EXPECT_FALSE(l.contains(b));
}

// ---- sender_waitlist ------------------------------------------------------------------------

TEST(SenderWaitlist, WakePolicyBatchesByFreeSpaceWithHysteresis) {
    using w = internal::sender_waitlist;
    using wp = internal::wake_policy;
    EXPECT_EQ(w::wake_count(100, 600, 1024, wp::by_free_space), 0U) << "more than half full: wait";
    EXPECT_EQ(w::wake_count(100, 512, 1024, wp::by_free_space), 16U) << "one per 32 free slots";
    EXPECT_EQ(w::wake_count(100, 0, 1024, wp::by_free_space), 32U);
    EXPECT_EQ(w::wake_count(3, 0, 1024, wp::by_free_space), 3U) << "never more than wait";
    EXPECT_EQ(w::wake_count(5, 0, 8, wp::by_free_space), 1U) << "at least one";
    EXPECT_EQ(w::wake_count(100, 1000, 1024, wp::all), 100U) << "all: everyone";
}

TEST(SenderWaitlist, SuspendedSendersAreWokenInArrivalOrder) {
    using wp = internal::wake_policy;
    internal::sender_waitlist wl;
    EXPECT_FALSE(wl.any());
    for (std::uint64_t gen = 1; gen <= 40; ++gen) {
        wl.add_suspended(detail::cell_ptr{}, gen);
    }
    EXPECT_TRUE(wl.any());
    auto first = wl.take_to_wake(0, 64, wp::by_free_space); // 64 free: 2 woken
    ASSERT_EQ(first.size(), 2U);
    EXPECT_EQ(first[0].second, 1U);
    EXPECT_EQ(first[1].second, 2U);
    EXPECT_TRUE(wl.take_to_wake(60, 64, wp::by_free_space).empty()) << "nearly full: nobody";
    auto rest = wl.take_to_wake(60, 64, wp::all);
    ASSERT_EQ(rest.size(), 38U);
    EXPECT_EQ(rest.front().second, 3U);
    EXPECT_EQ(rest.back().second, 40U);
    EXPECT_FALSE(wl.any());
}

TEST(SenderWaitlist, BlockedThreadTimesOutAfterOneLastTry) {
    internal::sender_waitlist wl;
    int tries = 0;
    const bool pushed = wl.block_until(
        [&] {
            ++tries;
            return false;
        },
        std::chrono::steady_clock::now());
    EXPECT_FALSE(pushed);
    EXPECT_EQ(tries, 2) << "one try before waiting, one after the deadline";
    EXPECT_FALSE(wl.any());
}

// ---- task_slot -------------------------------------------------------------------------------

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
struct null_awaiter final : detail::awaiter_base {
    void on_wake() override {}
    void on_cancel(const error&) override {}
};

TEST(TaskSlot, OnlyTheCurrentGenerationTakesTheAwaiter) {
    internal::task_slot slot;
    EXPECT_FALSE(slot.is_active());
    null_awaiter a;
    null_awaiter b;
    const std::uint64_t g1 = slot.set_awaiter(&a);
    const std::uint64_t g2 = slot.set_awaiter(&b);
    EXPECT_NE(g1, g2);
    EXPECT_EQ(slot.take_awaiter(g1), nullptr) << "a stale wake";
    EXPECT_EQ(slot.take_awaiter(g2), &b);
    EXPECT_EQ(slot.take_awaiter(g2), nullptr) << "taken once";
    (void)slot.set_awaiter(&a);
    EXPECT_EQ(slot.take_awaiter(), &a) << "a cancel takes whatever is there";
}

// ---- exit_observers -----------------------------------------------------------------------

TEST(ExitObservers, NotifyTellsEveryCallbackOnceInOrder) {
    internal::exit_observers obs;
    std::vector<std::string> seen;
    for (const char* tag : {"a", "b", "c"}) {
        obs.add({internal::exit_observers::kind::callback, {}, [&seen, tag](const error& e) {
                     seen.push_back(tag + e.message());
                 }});
    }
    EXPECT_EQ(obs.size(), 3U);
    obs.notify(detail::cell_ptr{}, error{errc::stopped, "!"});
    EXPECT_EQ(seen, (std::vector<std::string>{"a!", "b!", "c!"}));
    EXPECT_EQ(obs.size(), 0U);
    obs.notify(detail::cell_ptr{}, error{});
    EXPECT_EQ(seen.size(), 3U) << "notified once";
}

TEST(ExitObservers, AnswerDeadGivesALateMonitorTheExitCause) {
    std::vector<error> seen;
    detail::system_envelope request(detail::sys_kind::monitor);
    request.callback = [&](const error& e) { seen.push_back(e); };
    internal::exit_observers::answer_dead(request, detail::cell_ptr{},
                                          error{errc::exception, "boom"});
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].code(), errc::exception);
}

// ---- actor_timers ----------------------------------------------------------------------------

TEST(ActorTimers, TrackingPrunesFinishedTimersSoTheListStaysSmall) {
    testing::manual_clock clk;
    internal::actor_timers timers;
    for (int i = 0; i < 10'000; ++i) {
        auto t = std::make_shared<detail::timer_control>(clk, detail::cell_ptr{});
        t->cancel(); // finished at once
        timers.track(std::move(t));
    }
    EXPECT_LE(timers.tracked(), 16U) << "amortized pruning keeps only the live ones";
    auto live = std::make_shared<detail::timer_control>(clk, detail::cell_ptr{});
    {
        std::lock_guard lock(live->mutex);
        live->id = clk.schedule_at(clk.now() + 1h, [] {});
    }
    timers.track(live);
    EXPECT_TRUE(live->is_active());
    timers.cancel_all();
    EXPECT_FALSE(live->is_active());
    EXPECT_EQ(timers.tracked(), 0U);
    EXPECT_EQ(clk.pending(), 0U);
}

TEST(ActorTimers, IdleTimeoutFiresOnlyAfterAWholeQuietPeriod) {
    testing::manual_clock clk;
    internal::actor_timers timers;
    timers.set_idle(clk, detail::cell_ptr{}, 10s);
    EXPECT_TRUE(timers.has_idle());
    EXPECT_EQ(clk.pending(), 1U);
    const time_point start = clk.now();
    timers.stamp_activity(start + 5s); // a message halfway through
    EXPECT_FALSE(timers.on_idle_timeout(clk, detail::cell_ptr{}, 1, start + 10s))
        << "not quiet for the whole period: re-armed for the rest";
    EXPECT_TRUE(timers.on_idle_timeout(clk, detail::cell_ptr{}, 1, start + 15s));
    EXPECT_FALSE(timers.on_idle_timeout(clk, detail::cell_ptr{}, 0, start + 99s)) << "stale";
    timers.set_idle(clk, detail::cell_ptr{}, duration::zero());
    EXPECT_FALSE(timers.has_idle());
    timers.cancel_idle(clk);
    clk.shutdown(); // the armed timers hold null targets: drop them unrun
}

// ---- continuation_table ------------------------------------------------------------

TEST(ContinuationTable, RunsEachContinuationOnceByItsId) {
    internal::continuation_table table;
    std::vector<int> ran;
    const auto a = table.add(detail::unique_function([&] { ran.push_back(1); }));
    const auto b = table.add(detail::unique_function([&] { ran.push_back(2); }));
    EXPECT_NE(a, b);
    EXPECT_EQ(table.size(), 2u);
    auto fb = table.take(b);
    ASSERT_TRUE(fb);
    fb();
    EXPECT_FALSE(table.take(b)) << "taken once";
    auto fa = table.take(a);
    ASSERT_TRUE(fa);
    fa();
    EXPECT_EQ(ran, (std::vector<int>{2, 1}));
    EXPECT_EQ(table.size(), 0u);
}

TEST(ContinuationTable, ClearDropsThePendingOnesAndIdsNeverRepeat) {
    internal::continuation_table table;
    auto owned = std::make_shared<int>(7);
    std::weak_ptr<int> watch = owned;
    const auto first = table.add(detail::unique_function([p = std::move(owned)] { (void)p; }));
    table.clear();
    EXPECT_TRUE(watch.expired()) << "the captures are destroyed with the table's entry";
    EXPECT_FALSE(table.take(first));
    const auto second = table.add(detail::unique_function([] {}));
    EXPECT_GT(second, first) << "a stale continuation(id) can never match a new entry";
}

} // namespace
} // namespace troupe
