// Part of troupe. See LICENSE at the repository root.
// Overflow policies, counters and system messages on a full mailbox
// (deterministic: manual executor and clock).

#include "test_support.hpp"

namespace troupe {
namespace {

using namespace test_support;

static_assert(std::is_nothrow_move_constructible_v<actor_ref<rec_proto>>);
static_assert(std::is_nothrow_move_constructible_v<actor_addr>);
static_assert(std::is_copy_constructible_v<actor_ref<rec_proto>>);

class OverflowPolicyTest : public ManualSystemTest {
protected:
    std::uint64_t dead(dead_letter_reason r) { return sys_->dead_letters().count(r); }
};

TEST_F(OverflowPolicyTest, RejectReturnsMailboxFullAndCountsRejected) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(2, overflow_policy::reject), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    auto refused = r.tell(ping{3});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), errc::mailbox_full);
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.rejected, 1u);
    EXPECT_EQ(c.queued, 2u);
    EXPECT_EQ(c.accounted(), 3u);
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1, 2}));
    c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.processed, 2u);
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.accounted(), 3u);
    EXPECT_EQ(sys_->dead_letters().total(), 0u) << "a rejected message is not a dead letter";
    // Room again after draining.
    EXPECT_TRUE(r.tell(ping{4}));
}

TEST_F(OverflowPolicyTest, DropNewestDropsTheIncomingMessage) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(2, overflow_policy::drop_newest), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    auto dropped = r.tell(ping{3});
    ASSERT_FALSE(dropped);
    EXPECT_EQ(dropped.error().code(), errc::dropped);
    EXPECT_EQ(dead(dead_letter_reason::dropped_newest), 1u);
    EXPECT_EQ(dead(dead_letter_reason::dropped_oldest), 0u);
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1, 2}));
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.processed, 2u);
    EXPECT_EQ(c.dropped, 1u);
    EXPECT_EQ(c.rejected, 0u);
    EXPECT_EQ(c.accounted(), 3u);
}

TEST_F(OverflowPolicyTest, DropOldestAcceptsAndEvictsTheOldest) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(3, overflow_policy::drop_oldest), &rec);
    for (int i = 1; i <= 5; ++i) {
        EXPECT_TRUE(r.tell(ping{i})) << i;
    }
    EXPECT_EQ(dead(dead_letter_reason::dropped_oldest), 2u);
    EXPECT_EQ(dead(dead_letter_reason::dropped_newest), 0u);
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{3, 4, 5})) << "1 and 2 were the oldest";
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.processed, 3u);
    EXPECT_EQ(c.dropped, 2u);
    EXPECT_EQ(c.accounted(), 5u);
}

TEST_F(OverflowPolicyTest, DropOldestAfterPartialProcessing) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(2, overflow_policy::drop_oldest), &rec);
    run();
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    ASSERT_TRUE(ex_.run_once()); // handles 1 only
    EXPECT_EQ(rec.values, (std::vector<int>{1}));
    EXPECT_TRUE(r.tell(ping{3}));
    EXPECT_TRUE(r.tell(ping{4})); // evicts 2
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1, 3, 4}));
    EXPECT_EQ(dead(dead_letter_reason::dropped_oldest), 1u);
    EXPECT_EQ(sys_->counters(r.addr()).value().accounted(), 4u);
}

TEST_F(OverflowPolicyTest, RedirectSendsOverflowToTheTarget) {
    record& main_rec = new_record();
    record& spill_rec = new_record();
    auto spill = sys_->spawn_with<recorder>(options(10, overflow_policy::reject), &spill_rec);
    auto opts = options(1, overflow_policy::redirect);
    opts.redirect_to = spill.addr();
    auto r = sys_->spawn_with<recorder>(opts, &main_rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    EXPECT_TRUE(r.tell(ping{3}));
    EXPECT_EQ(sys_->counters(r.addr()).value().redirected, 2u);
    run();
    EXPECT_EQ(main_rec.values, (std::vector<int>{1}));
    EXPECT_EQ(spill_rec.values, (std::vector<int>{2, 3}));
    auto c = sys_->counters(r.addr()).value();
    auto s = sys_->counters(spill.addr()).value();
    EXPECT_EQ(c.processed, 1u);
    EXPECT_EQ(c.accounted(), 3u);
    EXPECT_EQ(s.processed, 2u);
    EXPECT_EQ(s.accounted(), c.redirected);
    EXPECT_EQ(sys_->dead_letters().total(), 0u);
}

TEST_F(OverflowPolicyTest, RedirectReturnsTheTargetsRefusal) {
    record& main_rec = new_record();
    record& spill_rec = new_record();
    auto spill = sys_->spawn_with<recorder>(options(1, overflow_policy::reject), &spill_rec);
    auto opts = options(1, overflow_policy::redirect);
    opts.redirect_to = spill.addr();
    auto r = sys_->spawn_with<recorder>(opts, &main_rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    auto refused = r.tell(ping{3});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), errc::mailbox_full);
    EXPECT_EQ(sys_->counters(r.addr()).value().redirected, 2u);
    EXPECT_EQ(sys_->counters(spill.addr()).value().rejected, 1u);
}

TEST_F(OverflowPolicyTest, RedirectWithoutTargetIsRefusedAtSpawn) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(1, overflow_policy::redirect), &rec);
    ASSERT_TRUE(r.addr().is_terminated());
    EXPECT_EQ(r.addr().exit_cause()->code(), errc::invalid_argument);
    auto res = r.tell(ping{1});
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), errc::receiver_down);
    EXPECT_EQ(dead(dead_letter_reason::receiver_down), 1u);
}

TEST_F(OverflowPolicyTest, RedirectToAnotherProtocolIsADeadLetter) {
    record& rec = new_record();
    auto other = sys_->spawn_fn<int>([](int&) {});
    spawn_options o = options(1, overflow_policy::redirect);
    o.redirect_to = other.addr();
    auto r = sys_->spawn_with<recorder>(o, &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    auto res = r.tell(ping{2});
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), errc::dropped);
    EXPECT_EQ(dead(dead_letter_reason::redirect_failed), 1u);
    EXPECT_EQ(sys_->counters(r.addr()).value().accounted(), 2u);
}

// A coroutine sender under `suspend` waits for room instead of losing messages:
// its task suspends while the receiver is full and resumes once it drains.
struct push_all {
    using reply_type = int;
    int count = 0;
};
class pusher : public actor<push_all> {
public:
    explicit pusher(actor_ref<rec_proto> to) : to_(std::move(to)) {}
    task<int> on(push_all& m) {
        int failures = 0;
        for (int i = 0; i < m.count; ++i) {
            auto r = co_await send(to_, ping{i});
            if (!r) {
                ++failures;
            }
        }
        co_return failures;
    }

private:
    actor_ref<rec_proto> to_;
};

TEST_F(OverflowPolicyTest, SuspendPolicySuspendsACoroutineSender) {
    record& rec = new_record();
    auto target = sys_->spawn_with<recorder>(options(2, overflow_policy::suspend), &rec);
    auto p = sys_->spawn<pusher>(target);
    run();
    auto h = p.ask(push_all{7}, 1h);
    ASSERT_TRUE(ex_.run_once()); // the pusher sends 0 and 1, then suspends on 2
    EXPECT_FALSE(h.ready());
    EXPECT_EQ(sys_->counters(target.addr()).value().queued, 2u);
    EXPECT_TRUE(rec.values.empty());
    run();
    auto result = h.try_get();
    ASSERT_TRUE(result.has_value());
    ASSERT_TRUE(*result) << result->error();
    EXPECT_EQ(**result, 0) << "no send failed";
    EXPECT_EQ(rec.values, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
    auto c = sys_->counters(target.addr()).value();
    EXPECT_EQ(c.processed, 7u);
    EXPECT_EQ(c.rejected + c.dropped + c.dead_lettered, 0u);
    EXPECT_EQ(sys_->dead_letters().total(), 0u);
}

TEST_F(OverflowPolicyTest, BlockPolicyAlsoSuspendsACoroutineSender) {
    record& rec = new_record();
    auto target = sys_->spawn_with<recorder>(options(1, overflow_policy::block), &rec);
    auto p = sys_->spawn<pusher>(target);
    run();
    auto h = p.ask(push_all{4}, 1h);
    ASSERT_TRUE(ex_.run_once());
    EXPECT_FALSE(h.ready());
    run();
    auto result = h.try_get();
    ASSERT_TRUE(result.has_value());
    ASSERT_TRUE(*result);
    EXPECT_EQ(**result, 0);
    EXPECT_EQ(rec.values, (std::vector<int>{0, 1, 2, 3}));
}

// ---- system messages reach a full actor ---------------------------------------

TEST_F(OverflowPolicyTest, StopReachesAFullActor) {
    record& rec = new_record();
    auto r = sys_->spawn_with<recorder>(options(2, overflow_policy::reject), &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    ASSERT_FALSE(r.tell(ping{3}));
    error seen{errc::unsupported};
    sys_->on_exit(r.addr(), [&](const error& e) { seen = e; }); // a system message too
    r.stop();
    run();
    EXPECT_EQ(rec.stops, 1);
    EXPECT_TRUE(rec.values.empty()) << "the system lane is served before queued user messages";
    EXPECT_EQ(seen.code(), errc::none);
    EXPECT_TRUE(r.addr().is_terminated());
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.dead_lettered, 2u) << "still queued at termination";
    EXPECT_EQ(c.accounted(), 3u);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::receiver_down), 2u);
}

struct watch_msg {
    actor_addr who;
};
class down_watcher : public actor<watch_msg> {
public:
    explicit down_watcher(std::vector<error>* downs) : downs_(downs) {}
    void on(watch_msg& m) { monitor(m.who); }
    void on_down(const down_msg& d) override { downs_->push_back(d.cause); }

private:
    std::vector<error>* downs_;
};

TEST_F(OverflowPolicyTest, MonitorAndDownReachFullActors) {
    std::vector<error> downs;
    auto w = sys_->spawn_with<down_watcher>(options(1, overflow_policy::reject), &downs);
    record& rec = new_record();
    auto target = sys_->spawn_with<recorder>(options(1, overflow_policy::reject), &rec);
    run();
    EXPECT_TRUE(w.tell(watch_msg{target.addr()}));
    ASSERT_TRUE(ex_.run_once()); // the watcher posts the monitor request
    EXPECT_TRUE(target.tell(ping{1}));
    ASSERT_FALSE(target.tell(ping{2})) << "target full";
    // Fill the watcher's user lane too, so the down must use the system lane.
    // (The queued watch_msg{} monitors no actor: it yields a `noproc` down.)
    EXPECT_TRUE(w.tell(watch_msg{}));
    ASSERT_FALSE(w.tell(watch_msg{}));
    (void)target.stop(error{errc::stopped, "by test"});
    run();
    ASSERT_EQ(downs.size(), 2u);
    EXPECT_EQ(downs[0].code(), errc::stopped) << "system lane first";
    EXPECT_EQ(downs[1].code(), errc::noproc);
    EXPECT_TRUE(rec.values.empty());
}

} // namespace
} // namespace troupe
