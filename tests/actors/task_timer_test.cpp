// Part of troupe. See LICENSE at the repository root.
// Coroutine handlers (suspension, cancellation, sleep) and timers, all under
// the manual executor and clock.

#include "test_support.hpp"

namespace troupe {
namespace {

using namespace test_support;

// ---- coroutine handlers ------------------------------------------------------

struct nap {
    duration d;
};
using nap_proto = std::variant<nap, ping>;

class napper : public actor<nap_proto> {
public:
    explicit napper(record* r) : r_(r) {}
    task<> on(nap& n) {
        r_->events.emplace_back("nap start");
        auto woke = co_await sleep(n.d);
        r_->events.push_back(woke ? std::string("nap done")
                                  : "nap " + std::string(to_string(woke.error().code())));
    }
    void on(ping& p) { r_->events.push_back("ping " + std::to_string(p.n)); }
    void on_stop(const error& cause) override {
        r_->events.emplace_back("stop");
        r_->stop_code = cause.code();
    }

private:
    record* r_;
};

class TaskTest : public ManualSystemTest {};

TEST_F(TaskTest, SuspendedHandlerPausesUserMessages) {
    record& rec = new_record();
    auto a = sys_->spawn<napper>(&rec);
    EXPECT_TRUE(a.tell(nap{10s}));
    run();
    EXPECT_TRUE(a.tell(ping{1}));
    run();
    EXPECT_EQ(rec.events, (std::vector<std::string>{"nap start"}))
        << "the ping must wait for the suspended task";
    advance(9s);
    EXPECT_EQ(rec.events.size(), 1u) << "sleep(10s) woke after 9 s";
    advance(1s);
    EXPECT_EQ(rec.events, (std::vector<std::string>{"nap start", "nap done", "ping 1"}));
    auto c = sys_->counters(a.addr()).value();
    EXPECT_EQ(c.processed, 2u);
    EXPECT_EQ(c.accounted(), 2u);
}

TEST_F(TaskTest, SystemMessagesAreHandledWhileSuspended) {
    record& rec = new_record();
    auto a = sys_->spawn<napper>(&rec);
    EXPECT_TRUE(a.tell(nap{1h}));
    run();
    bool exited = false;
    sys_->on_exit(a.addr(), [&](const error&) { exited = true; });
    run(); // the monitor request is taken while the task is suspended
    EXPECT_FALSE(exited);
    a.stop();
    run();
    EXPECT_TRUE(exited);
}

TEST_F(TaskTest, StopWhileSuspendedCancelsTheAwaitAndRunsOnStop) {
    record& rec = new_record();
    auto a = sys_->spawn<napper>(&rec);
    EXPECT_TRUE(a.tell(nap{1h}));
    run();
    EXPECT_TRUE(a.tell(ping{1})); // queued behind the task
    a.stop(error{errc::stopped, "test"});
    run();
    EXPECT_EQ(rec.events, (std::vector<std::string>{"nap start", "nap cancelled", "stop"}));
    EXPECT_EQ(rec.stop_code, errc::stopped);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::receiver_down), 1u)
        << "the queued ping";
    EXPECT_EQ(clk_.pending(), 0u) << "the sleep's timer was cancelled";
    auto c = sys_->counters(a.addr()).value();
    EXPECT_EQ(c.accounted(), 2u);
}

// ---- timers ------------------------------------------------------------------

struct arm_delayed {
    duration d;
    int n;
};
struct arm_periodic {
    duration interval;
    int n;
};
struct cancel_periodic {};
using timer_proto = std::variant<arm_delayed, arm_periodic, cancel_periodic>;

class timer_owner : public actor<timer_proto> {
public:
    explicit timer_owner(actor_ref<rec_proto> to) : to_(std::move(to)) {}
    void on(arm_delayed& m) { (void)delayed_tell(to_, m.d, ping{m.n}); }
    void on(arm_periodic& m) {
        periodic_ = periodic_tell(to_, m.interval, ping{m.n}).value_or(timer_handle{});
    }
    void on(cancel_periodic&) { periodic_.cancel(); }

private:
    actor_ref<rec_proto> to_;
    timer_handle periodic_;
};

class TimerTest : public ManualSystemTest {};

TEST_F(TimerTest, DelayedTellFiresOnceAfterTheDelay) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto t = sys_->spawn<timer_owner>(r);
    EXPECT_TRUE(t.tell(arm_delayed{5s, 7}));
    run();
    advance(4s);
    EXPECT_TRUE(rec.values.empty());
    advance(1s);
    EXPECT_EQ(rec.values, (std::vector<int>{7}));
    advance(1h);
    EXPECT_EQ(rec.values, (std::vector<int>{7}));
    EXPECT_EQ(clk_.pending(), 0u);
}

TEST_F(TimerTest, PeriodicTellFiresEveryIntervalUntilCancelled) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto t = sys_->spawn<timer_owner>(r);
    EXPECT_TRUE(t.tell(arm_periodic{2s, 1}));
    run();
    advance(1s);
    EXPECT_TRUE(rec.values.empty());
    advance(1s);
    EXPECT_EQ(rec.values.size(), 1u);
    advance(2s);
    advance(2s);
    EXPECT_EQ(rec.values.size(), 3u);
    EXPECT_TRUE(t.tell(cancel_periodic{}));
    run();
    advance(10s);
    EXPECT_EQ(rec.values.size(), 3u);
    EXPECT_EQ(clk_.pending(), 0u);
}

TEST_F(TimerTest, TimersAreCancelledWhenTheOwnerStops) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto t = sys_->spawn<timer_owner>(r);
    EXPECT_TRUE(t.tell(arm_periodic{1s, 1}));
    EXPECT_TRUE(t.tell(arm_delayed{5s, 2}));
    run();
    advance(1s);
    advance(1s);
    EXPECT_EQ(rec.values, (std::vector<int>{1, 1}));
    t.stop();
    run();
    ASSERT_TRUE(t.addr().is_terminated());
    EXPECT_EQ(clk_.pending(), 0u);
    advance(10s);
    EXPECT_EQ(rec.values, (std::vector<int>{1, 1})) << "no message after the owner stopped";
}

struct touch {};
class idler : public actor<touch> {
public:
    idler(int* idles, duration d) : idles_(idles), d_(d) {}
    void on_start() override { set_idle_timeout(d_); }
    void on(touch&) {}
    void on_idle() override { ++*idles_; }

private:
    int* idles_;
    duration d_;
};

TEST_F(TimerTest, IdleTimeoutCallsOnIdleExactlyAfterTheTimeout) {
    int idles = 0;
    auto a = sys_->spawn<idler>(&idles, duration(5s));
    run();
    advance(4s);
    EXPECT_EQ(idles, 0);
    advance(1s);
    EXPECT_EQ(idles, 1) << "t=5";
    advance(2s);
    EXPECT_TRUE(a.tell(touch{})); // t=7: activity pushes the next idle to t=12
    run();
    advance(3s); // t=10
    EXPECT_EQ(idles, 1);
    advance(1s); // t=11
    EXPECT_EQ(idles, 1);
    advance(1s); // t=12
    EXPECT_EQ(idles, 2);
    advance(5s); // t=17
    EXPECT_EQ(idles, 3);
    a.stop();
    run();
    EXPECT_EQ(clk_.pending(), 0u);
    advance(1h);
    EXPECT_EQ(idles, 3);
}

} // namespace
} // namespace troupe
