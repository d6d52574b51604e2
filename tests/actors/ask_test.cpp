// Part of troupe. See LICENSE at the repository root.
// ask: every error kind and the success path from a coroutine (deterministic).

#include "test_support.hpp"

namespace troupe {
namespace {

using namespace test_support;

class AskTest : public ManualSystemTest {};

template <class R>
errc code_of(std::optional<expected<R>> r) {
    if (!r) {
        return errc::unsupported; // not ready: never a valid answer here
    }
    return *r ? errc::none : r->error().code();
}

TEST_F(AskTest, ReplyArrivesThroughTryGet) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    EXPECT_TRUE(r.tell(ping{5}));
    auto h = r.ask(get_values{}, 1s);
    EXPECT_FALSE(h.ready());
    run();
    ASSERT_TRUE(h.ready());
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, (std::vector<int>{5}));
}

TEST_F(AskTest, TimeoutUnderTheManualClockAndLateReplyCounted) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto h = r.ask(get_values{}, 5s);
    clk_.advance(4s);
    EXPECT_FALSE(h.ready()) << "4 s of a 5 s timeout";
    clk_.advance(1s);
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::timeout);
    EXPECT_EQ(sys_->late_replies(), 0u);
    run(); // the actor now answers: too late
    EXPECT_EQ(sys_->late_replies(), 1u);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::late_reply), 1u);
    EXPECT_EQ(sys_->counters(r.addr()).value().processed, 1u);
}

TEST_F(AskTest, MailboxFullFailsAtOnce) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::reject), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    auto h = r.ask(get_values{}, 1s);
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::mailbox_full);
    EXPECT_EQ(sys_->counters(r.addr()).value().rejected, 1u);
}

TEST_F(AskTest, DroppedByDropNewest) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::drop_newest), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    auto h = r.ask(get_values{}, 1s);
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::dropped);
}

TEST_F(AskTest, DroppedWhenEvictedByDropOldest) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::drop_oldest), &rec);
    auto h = r.ask(get_values{}, 1s);
    EXPECT_FALSE(h.ready());
    EXPECT_TRUE(r.tell(ping{1})); // evicts the ask
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::dropped);
}

TEST_F(AskTest, ReceiverDownForAStoppedActor) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    r.stop();
    run();
    ASSERT_TRUE(r.addr().is_terminated());
    auto h = r.ask(get_values{}, 1s);
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::receiver_down);
}

TEST_F(AskTest, ReceiverDownWhenStoppedWithTheAskQueued) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto h = r.ask(get_values{}, 1s);
    r.stop(); // system lane first: the ask is still queued at termination
    run();
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h.try_get()), errc::receiver_down);
}

struct explode {
    using reply_type = int;
};
TEST_F(AskTest, HandlerFailedWhenTheHandlerThrows) {
    auto r = sys_->spawn_fn<explode>([](explode&) -> int { throw std::runtime_error("boom"); });
    auto h = r.ask(explode{}, 1s);
    run();
    EXPECT_EQ(code_of(h.try_get()), errc::handler_failed);
}

// An actor that asks another from a coroutine handler and reports the outcome.
struct slow_query {
    using reply_type = int;
};
/// Answers after `delay` (a coroutine sleeping on the manual clock).
class slow_answerer : public actor<slow_query> {
public:
    explicit slow_answerer(duration delay) : delay_(delay) {}
    task<int> on(slow_query&) {
        (void)co_await sleep(delay_);
        co_return 42;
    }

private:
    duration delay_;
};

struct outcome {
    errc code = errc::unsupported;
    int value = -1;
    bool stopped = false;
};
struct start_asking {
    using reply_type = int;
};
class asker : public actor<start_asking> {
public:
    asker(actor_ref<slow_query> to, outcome* out, duration timeout)
        : to_(std::move(to)), out_(out), timeout_(timeout) {}
    task<int> on(start_asking&) {
        auto r = co_await to_.ask(slow_query{}, timeout_);
        out_->code = r ? errc::none : r.error().code();
        out_->value = r ? *r : -1;
        co_return out_->value;
    }
    void on_stop(const error&) override { out_->stopped = true; }

private:
    actor_ref<slow_query> to_;
    outcome* out_;
    duration timeout_;
};

TEST_F(AskTest, SuccessFromACoroutine) {
    outcome out;
    auto b = sys_->spawn<slow_answerer>(duration(2s));
    auto a = sys_->spawn<asker>(b, &out, duration(10s));
    auto h = a.ask(start_asking{}, 1h);
    run();
    EXPECT_EQ(out.code, errc::unsupported) << "still waiting for the sleeping answerer";
    EXPECT_FALSE(h.ready());
    advance(2s);
    EXPECT_EQ(out.code, errc::none);
    EXPECT_EQ(out.value, 42);
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, 42);
    a.stop();
    run();
}

TEST_F(AskTest, TimeoutInsideACoroutine) {
    outcome out;
    auto b = sys_->spawn<slow_answerer>(duration(1h));
    auto a = sys_->spawn<asker>(b, &out, duration(3s));
    auto h = a.ask(start_asking{}, 1h);
    run();
    advance(3s);
    EXPECT_EQ(out.code, errc::timeout);
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, -1);
    a.stop();
    run();
}

TEST_F(AskTest, CancelledWhenTheAskingActorStops) {
    outcome out;
    auto b = sys_->spawn<slow_answerer>(duration(1h));
    auto a = sys_->spawn<asker>(b, &out, duration(2h));
    auto h = a.ask(start_asking{}, 3h);
    run();
    ASSERT_EQ(out.code, errc::unsupported);
    a.stop();
    run();
    EXPECT_EQ(out.code, errc::cancelled);
    EXPECT_TRUE(out.stopped);
    EXPECT_TRUE(a.addr().is_terminated());
    // The outer ask completed one way or another; it must not hang.
    EXPECT_TRUE(h.ready());
}

// ---- on_complete: the outcome on the completing thread, from anywhere ---------------

// What an on_complete callback saw: how often it ran and the last outcome.
struct seen {
    int runs = 0;
    std::optional<expected<std::vector<int>>> outcome;
};

auto into(seen& s) {
    return [&s](expected<std::vector<int>> r) noexcept {
        ++s.runs;
        s.outcome = std::move(r);
    };
}

TEST_F(AskTest, OnCompleteRunsWhenTheReplyArrives) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    EXPECT_TRUE(r.tell(ping{7}));
    seen s;
    r.ask(get_values{}, 1s).on_complete(into(s));
    EXPECT_EQ(s.runs, 0) << "nothing runs before the reply";
    run();
    ASSERT_EQ(s.runs, 1);
    ASSERT_TRUE(*s.outcome);
    EXPECT_EQ(**s.outcome, (std::vector<int>{7}));
}

TEST_F(AskTest, OnCompleteOfAKnownOutcomeRunsAtOnce) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::reject), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    seen s;
    r.ask(get_values{}, 1s).on_complete(into(s));
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::mailbox_full);
}

TEST_F(AskTest, OnCompleteGetsTheTimeoutOnceAndTheLateReplyIsCounted) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    seen s;
    r.ask(get_values{}, 5s).on_complete(into(s));
    clk_.advance(5s);
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::timeout);
    run(); // the actor answers: too late, and the callback does not run again
    EXPECT_EQ(s.runs, 1);
    EXPECT_EQ(sys_->late_replies(), 1u);
}

TEST_F(AskTest, OnCompleteOfADeadReceiverRunsAtOnce) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    r.stop();
    run();
    seen s;
    r.ask(get_values{}, 1s).on_complete(into(s));
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::receiver_down);
}

TEST_F(AskTest, AskIfRoomSendsNothingToAFullReceiverAndNeverBlocks) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::block), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    seen s;
    // A plain ask here would block this thread for room (nothing runs the actor).
    EXPECT_FALSE(r.ask_if_room(get_values{}, 1s, 42, into(s)));
    clk_.advance(2s); // its deadline was disarmed: nothing fires
    EXPECT_EQ(s.runs, 0) << "a refusal for room is the caller's, not the callback's";
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.sent, 1u) << "an ask refused for room is not a send";
    EXPECT_EQ(c.rejected + c.dropped + c.dead_lettered, 0u);
    run();
    seen later;
    EXPECT_TRUE(r.ask_if_room(get_values{}, 1s, 43, into(later))); // room now
    EXPECT_EQ(later.runs, 0);
    run();
    ASSERT_EQ(later.runs, 1);
    ASSERT_TRUE(*later.outcome);
    EXPECT_EQ(**later.outcome, (std::vector<int>{1}));
}

TEST_F(AskTest, AskIfRoomOfADeadReceiverReportsReceiverDownToTheCallback) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    r.stop();
    run();
    seen s;
    EXPECT_TRUE(r.ask_if_room(get_values{}, 1s, 0, into(s)));
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::receiver_down);
}

// Fills the receiver (capacity 1) with a tell, then asks it through
// ask_awaiting_room: the ask waits for room per the receiver's policy.
struct fill_then_ask {
    using reply_type = int;
};
class room_asker : public actor<fill_then_ask> {
public:
    room_asker(actor_ref<rec_proto> to, seen* s, duration timeout)
        : to_(std::move(to)), seen_(s), timeout_(timeout) {}
    task<int> on(fill_then_ask&) {
        (void)to_.tell(ping{1});
        auto sent = co_await to_.ask_awaiting_room(get_values{}, timeout_, 7, into(*seen_));
        co_return sent ? 0 : static_cast<int>(sent.error().code());
    }

private:
    actor_ref<rec_proto> to_;
    seen* seen_;
    duration timeout_;
};

class AskAwaitingRoomTest : public AskTest {
protected:
    /// A recorder of capacity 1 under `policy`, and a room_asker told to
    /// fill it and then ask it (what `seen_` records); `asked_` is that order.
    actor_ref<rec_proto> start(overflow_policy policy, duration timeout = 1h) {
        rec_ = &new_record();
        auto target = sys_->spawn_with<recorder>(options(1, policy), rec_);
        auto a = sys_->spawn<room_asker>(target, &seen_, timeout);
        run();
        asked_.emplace(a.ask(fill_then_ask{}, 1h));
        return target;
    }
    record* rec_ = nullptr;
    seen seen_;
    std::optional<ask_handle<int>> asked_;
};

TEST_F(AskAwaitingRoomTest, TheWaitForRoomEndsAtTheAsksDeadline) {
    auto target = start(overflow_policy::suspend, 5s);
    seen& s = seen_;
    auto& h = *asked_;
    ASSERT_TRUE(ex_.run_once()); // the asker fills the mailbox, then suspends
    clk_.advance(4s);
    EXPECT_EQ(s.runs, 0) << "4 s of a 5 s deadline";
    clk_.advance(1s);
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::timeout);
    run(); // the receiver makes room too, but the deadline has passed: not sent
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, static_cast<int>(errc::timeout)) << "the send fails with the ask";
    EXPECT_EQ(rec_->values, (std::vector<int>{1}));
    const auto c = sys_->counters(target.addr()).value();
    EXPECT_EQ(c.processed, 1u) << "the ask never reached the receiver";
    EXPECT_EQ(c.rejected, 1u);
    EXPECT_EQ(sys_->late_replies(), 0u);
}

TEST_F(AskAwaitingRoomTest, TheAskingActorSuspendsUntilThereIsRoom) {
    auto target = start(overflow_policy::suspend);
    seen& s = seen_;
    auto& h = *asked_;
    ASSERT_TRUE(ex_.run_once()); // the asker fills the mailbox, then suspends
    EXPECT_FALSE(h.ready());
    EXPECT_EQ(sys_->counters(target.addr()).value().queued, 1u);
    EXPECT_EQ(s.runs, 0);
    run();
    ASSERT_EQ(s.runs, 1);
    ASSERT_TRUE(*s.outcome) << s.outcome->error();
    EXPECT_EQ(**s.outcome, (std::vector<int>{1})) << "answered behind the tell";
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, 0);
    EXPECT_EQ(sys_->counters(target.addr()).value().rejected, 0u);
}

TEST_F(AskAwaitingRoomTest, ARejectPoliciesRefusalGoesToTheCallback) {
    auto target = start(overflow_policy::reject);
    seen& s = seen_;
    auto& h = *asked_;
    run();
    ASSERT_EQ(s.runs, 1);
    EXPECT_EQ(code_of(std::move(s.outcome)), errc::mailbox_full);
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, static_cast<int>(errc::mailbox_full)) << "the awaiter sees it too";
    EXPECT_EQ(sys_->counters(target.addr()).value().rejected, 1u);
}

TEST_F(AskTest, PostIfRoomQueuesOnlyWhileThereIsRoom) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::drop_oldest), &rec);
    auto first = r.post_if_room(ping{1}, 0);
    ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(*first);
    // Full: refused without the policy (drop_oldest would have evicted ping{1}).
    EXPECT_FALSE(r.post_if_room(ping{2}, 0).has_value());
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1}));
    const auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.sent, 1u) << "a push refused for room is not a send";
    EXPECT_EQ(c.dropped + c.rejected + c.dead_lettered, 0u);
}

} // namespace
} // namespace troupe
