// Part of troupe. See LICENSE at the repository root.
// The cell's leaf classes on their own, and the cell's cache-line layout.

#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/detail/child_list.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>

#include "actor_timers.hpp"
#include "ask_deadlines.hpp"
#include "continuation_table.hpp"
#include "exit_observers.hpp"
#include "json.hpp"
#include "message_stash.hpp"
#include "sender_waitlist.hpp"
#include "task_slot.hpp"

#include <gtest/gtest.h>

#include <array>
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
    EXPECT_NE(a.seq, b.seq);
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
    bool second_ran = false;
    const auto second = table.add(detail::unique_function([&] { second_ran = true; }));
    EXPECT_EQ(second.slot, first.slot) << "the slot is reused";
    EXPECT_GT(second.seq, first.seq);
    EXPECT_FALSE(table.take(first)) << "a stale ticket never matches the slot's new entry";
    auto f = table.take(second);
    ASSERT_TRUE(f);
    f();
    EXPECT_TRUE(second_ran);
}

TEST(ContinuationTable, ReusesFreedSlotsAndKeepsTicketsDistinct) {
    internal::continuation_table table;
    std::vector<detail::continuation_ticket> live;
    for (int i = 0; i < 100; ++i) {
        live.push_back(table.add(detail::unique_function([] {})));
    }
    for (int i = 0; i < 100; i += 2) {
        ASSERT_TRUE(table.take(live[static_cast<std::size_t>(i)]));
    }
    const auto reused = table.add(detail::unique_function([] {}));
    EXPECT_LT(reused.slot, 100u) << "a freed slot is taken before the slab grows";
    EXPECT_FALSE(table.take(live[0])) << "taken already";
    EXPECT_EQ(table.size(), 51u);
}

TEST(UniqueFunction, SmallCallablesLiveInlineAndLargeOnesOnTheHeap) {
    auto owned = std::make_shared<int>(1);
    std::weak_ptr<int> watch = owned;
    int calls = 0;
    detail::unique_function small([p = std::move(owned), &calls] { calls += *p; });
    detail::unique_function moved(std::move(small));
    EXPECT_FALSE(small); // NOLINT(bugprone-use-after-move): a moved-from function is empty
    moved();
    std::array<std::int64_t, 16> big{};
    big[15] = 2;
    detail::unique_function large([big, &calls] { calls += static_cast<int>(big[15]); });
    detail::unique_function other;
    other = std::move(large);
    other();
    EXPECT_EQ(calls, 3);
    moved = std::move(other);
    EXPECT_TRUE(watch.expired()) << "assigning over a function destroys its callable";
    moved();
    EXPECT_EQ(calls, 5);
}

// ---- ask_deadlines ------------------------------------------------------------------

using int_ask = boost::intrusive_ptr<detail::ask_state<int>>;
int_ask unsent_ask() { return int_ask(new detail::ask_state<int>(nullptr), false); }

bool timed_out(const int_ask& a) {
    return a->ready() && a->failed() && a->failure() == errc::timeout;
}

TEST(AskDeadlines, AsksWithOneTimeoutShareOneClockTimerAndFailAtTheirOwnDeadlines) {
    testing::manual_clock clk;
    {
        internal::ask_deadlines deadlines(clk);
        auto first = unsent_ask();
        auto second = unsent_ask();
        deadlines.arm(*first, 100ms);
        clk.advance(30ms);
        deadlines.arm(*second, 100ms);
        EXPECT_EQ(clk.pending(), 1u) << "one timer for the list, not one per ask";
        EXPECT_EQ(deadlines.lists(), 1u);
        clk.advance(69ms);
        EXPECT_FALSE(first->ready()) << "1 ms before its deadline";
        clk.advance(1ms);
        EXPECT_TRUE(timed_out(first)) << "at its deadline";
        EXPECT_FALSE(second->ready());
        EXPECT_EQ(clk.pending(), 1u) << "the timer was set again, for the next head";
        clk.advance(30ms);
        EXPECT_TRUE(timed_out(second));
        EXPECT_EQ(clk.pending(), 0u);
        EXPECT_EQ(deadlines.lists(), 0u) << "an emptied list goes with its last timer";
    }
    clk.shutdown();
}

TEST(AskDeadlines, ADisarmedAskNeverTimesOutAndItsListOutlivesItByOneTimeoutAtMost) {
    testing::manual_clock clk;
    {
        internal::ask_deadlines deadlines(clk);
        auto answered = unsent_ask();
        deadlines.arm(*answered, 100ms);
        deadlines.disarm(*answered);
        deadlines.disarm(*answered); // twice: a no-op
        auto later = unsent_ask();
        clk.advance(50ms);
        deadlines.arm(*later, 100ms);
        deadlines.disarm(*later);
        EXPECT_EQ(clk.pending(), 1u) << "the list keeps its timer while asks come and go";
        clk.advance(50ms);
        EXPECT_FALSE(answered->ready());
        EXPECT_FALSE(later->ready());
        EXPECT_EQ(deadlines.lists(), 0u) << "the timer found the list empty and dropped it";
        EXPECT_EQ(clk.pending(), 0u);
    }
    clk.shutdown();
}

TEST(AskDeadlines, DistinctTimeoutsKeepSeparateListsAndTheShorterFiresFirst) {
    testing::manual_clock clk;
    {
        internal::ask_deadlines deadlines(clk);
        auto slow = unsent_ask();
        auto fast = unsent_ask();
        deadlines.arm(*slow, 100ms);
        deadlines.arm(*fast, 40ms);
        EXPECT_EQ(deadlines.lists(), 2u);
        clk.advance(40ms);
        EXPECT_TRUE(timed_out(fast));
        EXPECT_FALSE(slow->ready());
        clk.advance(60ms);
        EXPECT_TRUE(timed_out(slow));
    }
    clk.shutdown();
}

TEST(AskDeadlines, ADeadlinePastTheEndOfTimeIsNeverLinkedAndLinkedAsksAreReleasedAtTheEnd) {
    testing::manual_clock clk;
    clk.advance(1h);
    auto never = unsent_ask();
    auto pending = unsent_ask();
    {
        internal::ask_deadlines deadlines(clk);
        deadlines.arm(*never, duration::max() - 1min);
        EXPECT_EQ(deadlines.lists(), 0u) << "saturates to time_point::max(): no deadline";
        deadlines.arm(*pending, 1s);
        clk.shutdown(); // as a system does: its timers are dropped unrun
    } // the destructor releases the reference the list held (LeakSanitizer checks)
    EXPECT_FALSE(pending->ready());
}

// ---- message_stash ------------------------------------------------------------------

struct tagged_envelope final : detail::envelope {
    explicit tagged_envelope(int t) : tag(t) {}
    [[nodiscard]] std::string_view type_name() const noexcept override { return "tagged"; }
    int tag;
};

int tag_of(detail::envelope* e) {
    std::unique_ptr<detail::envelope> owned(e);
    return e == nullptr ? -1 : static_cast<tagged_envelope*>(e)->tag;
}

TEST(MessageStash, UnstashPutsTheStashInOrderBeforeWhatIsLeftToReplay) {
    internal::message_stash s;
    EXPECT_TRUE(s.push(new tagged_envelope(1), 3));
    EXPECT_TRUE(s.push(new tagged_envelope(2), 3));
    s.unstash_all();
    EXPECT_EQ(tag_of(s.take_replayed()), 1);
    EXPECT_TRUE(s.push(new tagged_envelope(3), 3)); // stashed again while 2 waits
    s.unstash_all();
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(tag_of(s.take_replayed()), 3);
    EXPECT_EQ(tag_of(s.take_replayed()), 2);
    EXPECT_EQ(s.take_replayed(), nullptr);
    EXPECT_FALSE(s.replaying());
}

TEST(MessageStash, CapacityRefusesAndTakeAllKeepsHandlingOrder) {
    internal::message_stash s;
    EXPECT_TRUE(s.push(new tagged_envelope(1), 2));
    EXPECT_TRUE(s.push(new tagged_envelope(2), 2));
    tagged_envelope refused(9);
    EXPECT_FALSE(s.push(&refused, 2)); // left with the caller
    EXPECT_EQ(tag_of(s.take_newest()), 2);
    s.unstash_all();
    EXPECT_TRUE(s.push(new tagged_envelope(3), 2));
    std::vector<int> order;
    for (auto& e : s.take_all()) {
        order.push_back(tag_of(e.release()));
    }
    EXPECT_EQ(order, (std::vector<int>{1, 3}));
    EXPECT_EQ(s.size(), 0u);
}

} // namespace
} // namespace troupe
