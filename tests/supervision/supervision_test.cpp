// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell.hpp>

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <latch>

using namespace std::chrono_literals;
using namespace troupe;
using namespace sup_test;

namespace {

using sup_ref = actor_ref<supervisor_protocol>;

struct SupervisionTest : ::testing::Test, manual_fixture {
    sup_ref start(supervisor_options o, std::vector<child_spec> specs) {
        auto s = sys.spawn<supervisor>(std::move(o), std::move(specs));
        ex.run_until_idle();
        return s;
    }
    std::vector<child_spec> abc() {
        return {worker_spec("a", log), worker_spec("b", log), worker_spec("c", log)};
    }
    int get(const actor_ref<wproto>& w) {
        auto h = w.ask(get_msg{}, 1s);
        ex.run_until_idle();
        auto r = h.get();
        return r ? *r : -1;
    }
};

TEST_F(SupervisionTest, OneForOneRestartsOnlyTheFailedChildKeepingRefAndMailbox) {
    auto s = start({}, abc());
    auto b = child(s, "b");
    (void)b.tell(add_msg{5});
    (void)b.tell(crash_msg{});
    (void)b.tell(add_msg{1}); // queued behind the crash: kept across the restart
    (void)b.tell(add_msg{2});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:a"), 1);
    EXPECT_EQ(log->count("start:b"), 2);
    EXPECT_EQ(log->count("start:c"), 1);
    EXPECT_EQ(get(b), 3); // fresh state, old ref, queued messages handled
    EXPECT_FALSE(b.addr().is_terminated());
}

TEST_F(SupervisionTest, OneForAllRestartsEveryChild) {
    auto s = start({.strategy = restart_strategy::one_for_all}, abc());
    auto a = child(s, "a");
    (void)a.tell(add_msg{7});
    (void)child(s, "b").tell(crash_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:a"), 2);
    EXPECT_EQ(log->count("start:b"), 2);
    EXPECT_EQ(log->count("start:c"), 2);
    EXPECT_EQ(get(a), 0); // rebuilt in place
}

TEST_F(SupervisionTest, RestForOneRestartsFailedAndYoungerChildren) {
    auto s = start({.strategy = restart_strategy::rest_for_one},
                   {worker_spec("a", log), worker_spec("b", log), worker_spec("c", log),
                    worker_spec("d", log)});
    (void)child(s, "b").tell(crash_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:a"), 1);
    EXPECT_EQ(log->count("start:b"), 2);
    EXPECT_EQ(log->count("start:c"), 2);
    EXPECT_EQ(log->count("start:d"), 2);
}

TEST_F(SupervisionTest, RestartTypesAfterFailureAndNormalStop) {
    auto s = start({.max_restarts = 10},
                   {worker_spec("perm", log).with_restart(restart_type::permanent),
                    worker_spec("trans", log).with_restart(restart_type::transient),
                    worker_spec("temp", log).with_restart(restart_type::temporary),
                    worker_spec("trans2", log).with_restart(restart_type::transient),
                    worker_spec("temp2", log).with_restart(restart_type::temporary)});
    // Failures: permanent and transient restart, temporary does not.
    (void)child(s, "trans").tell(crash_msg{});
    (void)child(s, "temp").tell(crash_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:trans"), 2);
    EXPECT_EQ(log->count("start:temp"), 1);
    // Normal stops: only permanent comes back.
    auto perm_before = child(s, "perm");
    (void)perm_before.tell(stop_msg{});
    (void)child(s, "trans2").tell(stop_msg{});
    (void)child(s, "temp2").tell(stop_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:perm"), 2);
    EXPECT_EQ(log->count("start:trans2"), 1);
    EXPECT_EQ(log->count("start:temp2"), 1);
    auto h = s.ask(which_children{}, 1s);
    ex.run_until_idle();
    auto kids = h.get();
    ASSERT_TRUE(kids);
    std::vector<std::string> names;
    for (auto& k : *kids) {
        names.push_back(k.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"perm", "trans"}));
    // Restarted in place: the same actor, so refs held elsewhere stay valid.
    EXPECT_EQ(child(s, "perm").addr(), perm_before.addr());
    EXPECT_FALSE(perm_before.addr().is_terminated());
    EXPECT_TRUE(perm_before.tell(add_msg{1}));
}

TEST_F(SupervisionTest, IntensityExceededEscalatesTwoLevelsWithNestedAggregate) {
    event_sink ev;
    supervisor_options mid_opts{.max_restarts = 1, .within = 10s};
    mid_opts.on_event = ev.sink();
    supervisor_options top_opts{.max_restarts = 0, .within = 10s};
    top_opts.on_event = ev.sink();
    child_spec mid =
        make_child<supervisor>("mid", mid_opts, std::vector<child_spec>{worker_spec("w", log)});
    auto top = start(top_opts, {mid, worker_spec("sibling", log)});
    auto w = *sys.find<wproto>(top.addr().path() + "/mid/w");
    (void)w.tell(crash_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 2); // one restart allowed
    (void)w.tell(crash_msg{});
    ex.run_until_idle();
    // mid gave up -> top gave up -> top failed to /user and was stopped.
    EXPECT_TRUE(top.addr().is_terminated());
    EXPECT_EQ(top.addr().exit_cause()->code(), errc::escalated);
    EXPECT_EQ(log->count("stop:sibling"), 1);
    EXPECT_EQ(ev.count(supervision_event::kind::give_up), 2);

    auto report = failure_report(top.addr());
    ASSERT_TRUE(report);
    ASSERT_EQ(report->size(), 1u);
    const auto& mid_failure = report->failures()[0];
    EXPECT_NE(mid_failure.path.find("/mid"), std::string::npos);
    EXPECT_EQ(mid_failure.cause.code(), errc::escalated);
    ASSERT_TRUE(mid_failure.nested);
    EXPECT_EQ(mid_failure.nested->size(), 2u);
    for (const auto& f : mid_failure.nested->failures()) {
        EXPECT_NE(f.path.find("/mid/w"), std::string::npos);
        EXPECT_EQ(f.cause.code(), errc::exception);
    }
    EXPECT_EQ(mid_failure.nested->failures()[1].restart_count, 1u);
    EXPECT_EQ(report->total(), 3u);
    int max_depth = 0;
    report->walk([&](const child_failure&, int d) { max_depth = std::max(max_depth, d); });
    EXPECT_EQ(max_depth, 1);
    std::string tree = report->to_tree_string();
    EXPECT_NE(tree.find("    aggregate of"), std::string::npos) << tree; // indented nesting
    (void)take_failure_report(top.addr());
}

TEST_F(SupervisionTest, BackoffDelaysRestartsAndKeepsMessages) {
    supervisor_options o{.max_restarts = 10, .within = 100s};
    o.backoff = backoff_policy{
        .min = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.0, .reset_after = 60s};
    auto s = start(o, {worker_spec("w", log)});
    auto w = child(s, "w");
    (void)w.tell(crash_msg{});
    ex.run_until_idle();
    (void)w.tell(add_msg{4}); // waits in the mailbox during the backoff
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 1);
    clk.advance(99ms);
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 1);
    clk.advance(1ms);
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 2);
    EXPECT_EQ(get(w), 4);
    // Second consecutive failure: 200 ms.
    (void)w.tell(crash_msg{});
    ex.run_until_idle();
    clk.advance(199ms);
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 2);
    clk.advance(1ms);
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 3);
    // After a quiet period the backoff resets to min.
    clk.advance(61s);
    (void)w.tell(crash_msg{});
    ex.run_until_idle();
    clk.advance(100ms);
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:w"), 4);
}

TEST(Backoff, JitterStaysWithinBounds) {
    backoff_policy p{.min = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.5};
    std::mt19937_64 rng(7);
    for (std::uint32_t k = 0; k < 10; ++k) {
        for (int i = 0; i < 50; ++i) {
            auto d = p.delay(k, rng);
            EXPECT_LE(d, duration(1s));
            EXPECT_GE(d, duration(50ms));
        }
    }
    EXPECT_EQ(backoff_policy{}.delay(3, rng), duration::zero());
}

// A grandchild that records what it saw when stopped.
struct probe_msg {};
class grandchild : public actor<probe_msg> {
public:
    explicit grandchild(log_ptr log) : log_(std::move(log)) {}
    void on(probe_msg&) {}
    void on_stop(const error& cause) override {
        log_->add("grandchild token=" + std::to_string(stop_token().stop_requested()) +
                  " cause=" + cause.message() + " stop_cause=" + stop_cause().message());
    }

private:
    log_ptr log_;
};
class parent_worker : public worker {
public:
    parent_worker(std::string name, log_ptr log)
        : worker(std::move(name), log), log_(std::move(log)) {}
    void on_start() override {
        worker::on_start();
        (void)spawn<grandchild>(log_);
    }

private:
    log_ptr log_;
};

TEST_F(SupervisionTest, OrderedShutdownReverseStartOrderAndCauseReachesGrandchild) {
    auto s = start({}, {make_child<parent_worker>("a", std::string("a"), log),
                        worker_spec("b", log), worker_spec("c", log)});
    (void)s.stop(error{errc::stopped, "maintenance"});
    ex.run_until_idle();
    auto all = log->get();
    std::vector<std::string> stops;
    for (auto& e : all) {
        if (e.rfind("stop:", 0) == 0 || e.rfind("grandchild", 0) == 0) {
            stops.push_back(e);
        }
    }
    ASSERT_EQ(stops.size(), 4u);
    EXPECT_EQ(stops[0], "stop:c");
    EXPECT_EQ(stops[1], "stop:b");
    EXPECT_EQ(stops[2], "grandchild token=1 cause=maintenance stop_cause=maintenance");
    EXPECT_EQ(stops[3], "stop:a");
}

TEST_F(SupervisionTest, BrutalKillSkipsOnStop) {
    auto s = start({}, {worker_spec("a", log),
                        worker_spec("k", log).with_shutdown(shutdown_policy::brutal_kill())});
    auto k = child(s, "k");
    (void)s.stop();
    ex.run_until_idle();
    EXPECT_EQ(log->count("stop:k"), 0);
    EXPECT_EQ(log->count("stop:a"), 1);
    EXPECT_EQ(k.addr().exit_cause()->code(), errc::killed);
}

TEST_F(SupervisionTest, DynamicChildrenAddAndRemove) {
    auto s = start({}, {worker_spec("a", log)});
    auto h = s.ask(add_child{worker_spec("dyn", log)}, 1s);
    ex.run_until_idle();
    auto added = h.get();
    ASSERT_TRUE(added && *added);
    EXPECT_EQ(log->count("start:dyn"), 1);
    auto dup = s.ask(add_child{worker_spec("dyn", log)}, 1s);
    ex.run_until_idle();
    EXPECT_FALSE(*dup.get()); // name taken
    auto rm = s.ask(remove_child{"dyn"}, 1s);
    ex.run_until_idle();
    EXPECT_TRUE(*rm.get());
    EXPECT_EQ(log->count("stop:dyn"), 1);
    EXPECT_EQ(log->count("start:dyn"), 1); // not respawned
}

TEST_F(SupervisionTest, FaultInjectionCrashOnNthRestarts) {
    event_sink ev;
    supervisor_options o{.max_restarts = 5};
    o.on_event = ev.sink();
    auto spec = worker_spec("f", log);
    spec.options = with_faults(spec.options, fault_plan{.crash_on_nth = 3});
    auto s = start(o, {spec});
    auto f = child(s, "f");
    for (int i = 0; i < 5; ++i) {
        (void)f.tell(add_msg{1});
    }
    ex.run_until_idle();
    EXPECT_EQ(ev.count(supervision_event::kind::restart), 1);
    EXPECT_EQ(get(f), 2); // messages 4 and 5 after the restart
}

int processed_with_drops(std::uint64_t seed) {
    manual_fixture fx;
    auto w = fx.sys.spawn_with<worker>(
        with_faults({}, fault_plan{.seed = seed, .drop_probability = 0.5}), std::string("d"),
        fx.log);
    for (int i = 0; i < 200; ++i) {
        (void)w.tell(add_msg{1});
    }
    fx.ex.run_until_idle();
    auto h = w.ask(get_msg{}, 1s);
    fx.ex.run_until_idle();
    auto r = h.get();
    return r ? *r : -1;
}

TEST(FaultInjection, SeededDropsAreReproducible) {
    int a = processed_with_drops(11);
    int b = processed_with_drops(11);
    EXPECT_EQ(a, b);
    EXPECT_GT(a, 40);
    EXPECT_LT(a, 160);
}

// Real threads: a child stuck in a handler overruns its shutdown timeout.
struct block_msg {};
class stuck : public actor<block_msg> {
public:
    stuck(std::latch* entered, std::latch* release) : entered_(entered), release_(release) {}
    void on(block_msg&) {
        entered_->count_down();
        release_->wait();
    }

private:
    std::latch* entered_;
    std::latch* release_;
};

TEST(SupervisionThreads, ChildOverrunningShutdownTimeoutIsKilledAndRecorded) {
    troupe::system sys(system_config{.workers = 2});
    std::latch entered(1), release(1);
    event_sink ev;
    auto log = std::make_shared<event_log>();
    supervisor_options o;
    o.on_event = ev.sink();
    auto s = sys.spawn<supervisor>(
        o, std::vector<child_spec>{worker_spec("first", log),
                                   make_child<stuck>("stuck", &entered, &release)
                                       .with_shutdown(shutdown_policy::timeout(20ms))});
    ASSERT_TRUE(s.ask(which_children{}, 30s).get()); // children started
    auto st = sys.find<block_msg>(s.addr().path() + "/stuck");
    ASSERT_TRUE(st);
    (void)st->tell(block_msg{});
    entered.wait();
    (void)s.stop(error{errc::stopped, "bye"});
    auto sup_exit = sys.wait_for_exit(s.addr(), 30s);
    ASSERT_TRUE(sup_exit);
    EXPECT_EQ(ev.count(supervision_event::kind::shutdown_kill), 1);
    EXPECT_EQ(log->count("stop:first"), 1); // the stop went on after the kill
    release.count_down();
    auto stuck_exit = sys.wait_for_exit(st->addr(), 30s);
    // It terminates once its handler returns (the stop queued before the
    // kill wins); the supervisor did not wait for it.
    ASSERT_TRUE(stuck_exit);
    EXPECT_TRUE(*stuck_exit);
    std::lock_guard l(ev.m);
    auto it = std::find_if(ev.list.begin(), ev.list.end(), [](const auto& e) {
        return e.what == supervision_event::kind::shutdown_kill;
    });
    ASSERT_NE(it, ev.list.end());
    EXPECT_EQ(it->child, st->addr());
    EXPECT_EQ(it->cause.code(), errc::killed);
}

} // namespace
