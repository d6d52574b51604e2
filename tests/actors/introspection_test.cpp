// Part of troupe. See LICENSE at the repository root.
// What a user can observe: enumerator names, error texts, counters, the tree
// walk and its dumps, lookups by path and id (deterministic: manual executor
// and clock).

#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/mailbox/mailbox.hpp>
#include <troupe/mailbox/overflow_policy.hpp>

#include "test_support.hpp"

#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace troupe {
namespace {

using namespace test_support;

template <class E>
std::string streamed(E e) {
    std::ostringstream os;
    os << e;
    return os.str();
}

// ---- enumerator names ------------------------------------------------------------

TEST(EnumNames, EveryErrcHasItsOwnName) {
    std::set<std::string_view> seen;
    for (int v = 0; v <= static_cast<int>(errc::already_replied); ++v) {
        const auto name = to_string(static_cast<errc>(v));
        EXPECT_NE(name, "unknown") << v;
        EXPECT_TRUE(seen.insert(name).second) << name;
    }
    EXPECT_EQ(to_string(errc::receiver_down), "receiver_down");
    EXPECT_EQ(streamed(errc::timeout), "timeout");
}

TEST(EnumNames, DeadLetterReasons) {
    EXPECT_EQ(to_string(dead_letter_reason::receiver_down), "receiver_down");
    EXPECT_EQ(to_string(dead_letter_reason::dropped_newest), "dropped_newest");
    EXPECT_EQ(to_string(dead_letter_reason::dropped_oldest), "dropped_oldest");
    EXPECT_EQ(to_string(dead_letter_reason::handler_failed), "handler_failed");
    EXPECT_EQ(to_string(dead_letter_reason::late_reply), "late_reply");
    EXPECT_EQ(to_string(dead_letter_reason::redirect_failed), "redirect_failed");
    EXPECT_EQ(to_string(dead_letter_reason::injected_drop), "injected_drop");
    EXPECT_EQ(streamed(dead_letter_reason::late_reply), "late_reply");
    for (std::size_t v = 0; v < dead_letter_reason_count; ++v) {
        EXPECT_NE(to_string(static_cast<dead_letter_reason>(v)), "unknown") << v;
    }
}

TEST(EnumNames, ChildDecisions) {
    static_assert(to_string(child_decision::stop) == "stop");
    EXPECT_EQ(to_string(child_decision::restart), "restart");
    EXPECT_EQ(to_string(child_decision::resume), "resume");
    EXPECT_EQ(to_string(child_decision::escalate), "escalate");
    EXPECT_EQ(to_string(child_decision::defer), "defer");
    EXPECT_EQ(streamed(child_decision::defer), "defer");
}

TEST(EnumNames, MailboxEnums) {
    static_assert(to_string(overflow_policy::reject) == "reject");
    EXPECT_EQ(to_string(overflow_policy::drop_newest), "drop_newest");
    EXPECT_EQ(to_string(overflow_policy::drop_oldest), "drop_oldest");
    EXPECT_EQ(to_string(overflow_policy::block), "block");
    EXPECT_EQ(to_string(overflow_policy::suspend), "suspend");
    EXPECT_EQ(to_string(overflow_policy::redirect), "redirect");
    EXPECT_EQ(streamed(overflow_policy::suspend), "suspend");
    EXPECT_EQ(to_string(lane::user), "user");
    EXPECT_EQ(to_string(lane::system), "system");
    EXPECT_EQ(to_string(mailbox_eviction::none), "none");
    EXPECT_EQ(to_string(mailbox_eviction::allowed), "allowed");
    EXPECT_EQ(to_string(push_result::accepted), "accepted");
    EXPECT_EQ(to_string(push_result::accepted_unblocked), "accepted_unblocked");
    EXPECT_EQ(to_string(push_result::full), "full");
    EXPECT_EQ(to_string(push_result::closed), "closed");
}

// ---- error texts -------------------------------------------------------------------

TEST(ErrorText, PrintsTheMessageOnlyWhenItAddsSomething) {
    EXPECT_EQ(error{errc::timeout}.to_string(), "timeout");
    EXPECT_EQ(error(errc::timeout, "timeout").to_string(), "timeout");
    EXPECT_EQ(error(errc::timeout, "no reply in 5 ms").to_string(), "timeout: no reply in 5 ms");
    EXPECT_EQ(error(errc::killed, "", error{errc::timeout}).to_string(), "killed <- timeout");
    EXPECT_EQ(streamed(error(errc::stopped, "stopped", error(errc::cancelled, "by hand"))),
              "stopped <- cancelled: by hand");
}

class ErrorTextTest : public ManualSystemTest {};

TEST_F(ErrorTextTest, ADeadLetterSaysWhyWithoutRepeatingItsCode) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    run();
    (void)r.addr().stop();
    run();
    auto sent = r.tell(ping{1});
    ASSERT_FALSE(sent);
    auto asked = r.ask(get_values{}, std::chrono::seconds(1));
    run();
    auto reply = asked.get();
    ASSERT_FALSE(reply);
    for (const error& e : {sent.error(), reply.error()}) {
        const std::string text = e.to_string();
        EXPECT_EQ(e.code(), errc::receiver_down) << text;
        EXPECT_EQ(text.find("receiver_down: receiver_down"), std::string::npos) << text;
        EXPECT_GT(text.size(), std::string_view("receiver_down: ").size()) << text;
    }
}

// ---- counters: sent and in_flight ------------------------------------------------

struct nap {
    duration d;
};
struct boom {};
using nap_proto = std::variant<nap, ping, boom>;

/// A coroutine handler that stays in flight while it sleeps.
class napper : public actor<nap_proto> {
public:
    task<> on(nap& n) { (void)co_await sleep(n.d); }
    void on(ping&) {}
    void on(boom&) { throw std::runtime_error("boom"); }
};

class CountersTest : public ManualSystemTest {
protected:
    actor_counters counters_of(const actor_addr& a) {
        auto c = sys_->counters(a).value();
        EXPECT_EQ(c.sent, c.accounted()) << "the identity holds in every snapshot";
        return c;
    }
};

TEST_F(CountersTest, TellsAreSentQueuedThenProcessed) {
    auto a = sys_->spawn<napper>();
    EXPECT_TRUE(a.tell(ping{}));
    EXPECT_TRUE(a.tell(ping{}));
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 2u);
    EXPECT_EQ(c.queued, 2u);
    run();
    c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 2u);
    EXPECT_EQ(c.processed, 2u);
    EXPECT_EQ(c.queued + c.in_flight, 0u);
}

TEST_F(CountersTest, ASuspendedCoroutineHandlerIsInFlightUntilItFinishes) {
    auto a = sys_->spawn<napper>();
    EXPECT_TRUE(a.tell(nap{10s}));
    EXPECT_TRUE(a.tell(ping{}));
    run();
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.in_flight, 1u);
    EXPECT_EQ(c.queued, 1u) << "the ping waits behind the task";
    EXPECT_EQ(c.processed, 0u);
    advance(10s);
    c = counters_of(a.addr());
    EXPECT_EQ(c.in_flight, 0u);
    EXPECT_EQ(c.processed, 2u);
}

TEST_F(CountersTest, AFailingHandlerLeavesFlightAsADeadLetter) {
    auto a = sys_->spawn<napper>();
    EXPECT_TRUE(a.tell(boom{}));
    run();
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.in_flight, 0u);
    EXPECT_EQ(c.dead_lettered, 1u);
    EXPECT_EQ(c.sent, 1u);
}

TEST_F(CountersTest, StopDuringATaskDeadLettersWhatWasQueued) {
    auto a = sys_->spawn<napper>();
    EXPECT_TRUE(a.tell(nap{1h}));
    EXPECT_TRUE(a.tell(ping{}));
    run();
    a.stop();
    run();
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.processed, 1u) << "the cancelled nap finished";
    EXPECT_EQ(c.dead_lettered, 1u) << "the queued ping";
    EXPECT_EQ(c.in_flight + c.queued, 0u);
    EXPECT_FALSE(a.tell(ping{}));
    c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 3u) << "a send to a dead actor is sent, then dead-lettered";
    EXPECT_EQ(c.dead_lettered, 2u);
}

TEST_F(CountersTest, KillDuringATaskDeadLettersTheMessageInFlight) {
    auto a = sys_->spawn<napper>();
    EXPECT_TRUE(a.tell(nap{1h}));
    run();
    EXPECT_EQ(counters_of(a.addr()).in_flight, 1u);
    (void)a.addr().kill();
    run();
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.in_flight, 0u);
    EXPECT_EQ(c.dead_lettered, 1u) << "the task was abandoned with its message";
}

TEST_F(CountersTest, OverflowPoliciesBalance) {
    for (overflow_policy p :
         {overflow_policy::reject, overflow_policy::drop_newest, overflow_policy::drop_oldest,
          overflow_policy::block, overflow_policy::suspend}) {
        spawn_options o = options(2, p);
        o.block_timeout = 1ms; // block, suspend: this plain thread gives up at once
        auto a = sys_->spawn_with<napper>(o);
        for (int i = 0; i < 5; ++i) {
            (void)a.tell(ping{});
        }
        auto c = counters_of(a.addr());
        EXPECT_EQ(c.sent, 5u) << to_string(p);
        EXPECT_EQ(c.queued, 2u) << to_string(p);
        EXPECT_EQ(c.rejected + c.dropped, 3u) << to_string(p);
        run();
        c = counters_of(a.addr());
        EXPECT_EQ(c.processed, 2u) << to_string(p);
    }
}

TEST_F(CountersTest, RedirectCountsAtBothEnds) {
    auto target = sys_->spawn<napper>();
    spawn_options o = options(1, overflow_policy::redirect);
    o.redirect_to = target.addr();
    auto a = sys_->spawn_with<napper>(o);
    EXPECT_TRUE(a.tell(ping{}));
    EXPECT_TRUE(a.tell(ping{}));
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 2u);
    EXPECT_EQ(c.redirected, 1u);
    EXPECT_EQ(counters_of(target.addr()).sent, 1u);
}

TEST_F(CountersTest, AnAskIsSentOnce) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto h = r.ask(get_values{}, 1s);
    run();
    EXPECT_TRUE(h.get());
    auto c = counters_of(r.addr());
    EXPECT_EQ(c.sent, 1u);
    EXPECT_EQ(c.processed, 1u);
}

TEST_F(CountersTest, ABlockedThreadSenderIsSentOnceWhenItGivesUp) {
    spawn_options o = options(1, overflow_policy::block);
    o.block_timeout = 1ms; // real time: the sender gives up without a consumer
    auto a = sys_->spawn_with<napper>(o);
    EXPECT_TRUE(a.tell(ping{}));
    auto refused = a.tell(ping{});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), errc::timeout);
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 2u);
    EXPECT_EQ(c.rejected, 1u);
    EXPECT_EQ(c.queued, 1u);
}

struct push_n {
    using reply_type = int;
    int count = 0;
};
/// A coroutine sender: `co_await send` suspends while the receiver is full.
class pusher : public actor<push_n> {
public:
    explicit pusher(actor_ref<nap_proto> to) : to_(std::move(to)) {}
    task<int> on(push_n& m) {
        int failures = 0;
        for (int i = 0; i < m.count; ++i) {
            if (!co_await send(to_, ping{})) {
                ++failures;
            }
        }
        co_return failures;
    }

private:
    actor_ref<nap_proto> to_;
};

TEST_F(CountersTest, ASuspendedSenderCountsItsMessageWhenItIsPlaced) {
    auto target = sys_->spawn_with<napper>(options(2, overflow_policy::suspend));
    auto p = sys_->spawn<pusher>(target);
    run();
    auto h = p.ask(push_n{5}, 1h);
    ASSERT_TRUE(ex_.run_once()); // sends two, then suspends on the third
    auto c = counters_of(target.addr());
    EXPECT_EQ(c.sent, 2u) << "the waiting sender still holds its message";
    EXPECT_EQ(c.queued, 2u);
    run();
    EXPECT_EQ(h.get().value_or(-1), 0);
    c = counters_of(target.addr());
    EXPECT_EQ(c.sent, 5u);
    EXPECT_EQ(c.processed, 5u);
}

TEST_F(CountersTest, ACancelledSuspendedSenderIsCountedRejected) {
    auto target = sys_->spawn_with<napper>(options(1, overflow_policy::suspend));
    EXPECT_TRUE(target.tell(nap{1h})); // keeps the target busy
    run();
    EXPECT_TRUE(target.tell(ping{})); // fills it
    auto p = sys_->spawn<pusher>(target);
    run();
    auto h = p.ask(push_n{1}, 1h);
    run(); // the pusher suspends
    p.stop();
    run();
    auto c = counters_of(target.addr());
    EXPECT_EQ(c.sent, 3u);
    EXPECT_EQ(c.rejected, 1u) << "the cancelled send";
}

struct tick {};
using tick_proto = std::variant<tick, ping>;
class self_timer : public actor<tick_proto> {
public:
    void on_start() override { (void)delayed_tell(self(), 5s, tick{}); }
    void on(tick&) {}
    void on(ping&) {}
};

TEST_F(CountersTest, TimerTellsAreSent) {
    auto a = sys_->spawn<self_timer>();
    run();
    EXPECT_EQ(counters_of(a.addr()).sent, 0u);
    advance(5s);
    auto c = counters_of(a.addr());
    EXPECT_EQ(c.sent, 1u);
    EXPECT_EQ(c.processed, 1u);
}

} // namespace
} // namespace troupe
