// Part of troupe. See LICENSE at the repository root.
// Erlang/OTP parity of supervisors and task groups: restart strategies and
// their order, restart types, exits the supervisor did not ask for,
// escalation and failure reports (deterministic: manual executor and clock).

#include <troupe/actors/task.hpp>

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using namespace sup_test;

using sup_ref = actor_ref<supervisor_protocol>;
using strings = std::vector<std::string>;

/// Only the entries of `all` that start with `prefix`, in order.
strings with_prefix(const strings& all, const std::string& prefix) {
    strings out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out),
                 [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    return out;
}

struct link_cmd {
    actor_addr who;
};
using lproto = std::variant<link_cmd, get_msg>;
/// A child that links to whatever it is told to.
class linker : public actor<lproto> {
public:
    linker(std::string name, log_ptr log) : name_(std::move(name)), log_(std::move(log)) {}
    void on_start() override { log_->add("start:" + name_); }
    void on_stop(const error&) override { log_->add("stop:" + name_); }
    void on(link_cmd& m) { link(m.who); }
    int on(get_msg&) { return 0; }

private:
    std::string name_;
    log_ptr log_;
};

struct OtpSemanticsTest : ::testing::Test, manual_fixture {
    void run() { ex.run_until_idle(); }
    void advance(duration d) {
        clk.advance(d);
        run();
    }
    sup_ref start(supervisor_options o, std::vector<child_spec> specs) {
        auto s = sys.spawn<supervisor>(std::move(o), std::move(specs));
        run();
        return s;
    }
    std::vector<child_spec> specs(const strings& names) {
        std::vector<child_spec> out;
        for (const auto& n : names) {
            out.push_back(worker_spec(n, log));
        }
        return out;
    }
    std::vector<child_info> children(const sup_ref& s) {
        auto h = s.ask(which_children{}, 1s);
        run();
        auto r = h.try_get();
        if (!r || !*r) {
            ADD_FAILURE() << "which_children: no reply";
            return {};
        }
        return **r;
    }
    strings names(const sup_ref& s) {
        strings out;
        for (const auto& c : children(s)) {
            out.push_back(c.name);
        }
        return out;
    }
    int get(const actor_ref<wproto>& w) {
        auto h = w.ask(get_msg{}, 1s);
        run();
        auto r = h.try_get();
        return r && *r ? **r : -1;
    }
    /// The log entries after the first `mark` ones.
    strings since(std::size_t mark) {
        auto all = log->get();
        return {all.begin() + static_cast<std::ptrdiff_t>(std::min(mark, all.size())), all.end()};
    }
    std::size_t mark() { return log->get().size(); }
    event_sink ev;
};

// ---- restart strategies ---------------------------------------------------------------

TEST_F(OtpSemanticsTest, OneForAllStopsTheOthersNewestFirstThenStartsAllInStartOrder) {
    auto s = start({.strategy = restart_strategy::one_for_all, .max_restarts = 5},
                   specs({"a", "b", "c", "d"}));
    std::vector<actor_ref<wproto>> refs;
    for (const auto* n : {"a", "b", "c", "d"}) {
        refs.push_back(child(s, n));
        (void)refs.back().tell(add_msg{1});
    }
    run();
    const auto m = mark();
    (void)refs[2].tell(crash_msg{}); // c fails
    run();
    const strings after = since(m);
    const strings stops = with_prefix(after, "stop:");
    strings others;
    std::copy_if(stops.begin(), stops.end(), std::back_inserter(others),
                 [](const std::string& e) { return e != "stop:c"; });
    EXPECT_EQ(others, (strings{"stop:d", "stop:b", "stop:a"})) << ::testing::PrintToString(after);
    EXPECT_EQ(std::count(stops.begin(), stops.end(), "stop:c"), 1);
    EXPECT_EQ(with_prefix(after, "start:"), (strings{"start:a", "start:b", "start:c", "start:d"}))
        << ::testing::PrintToString(after);
    ASSERT_EQ(after.size(), 8u) << ::testing::PrintToString(after);
    EXPECT_TRUE(std::all_of(after.begin(), after.begin() + 4,
                            [](const std::string& e) { return e.rfind("stop:", 0) == 0; }))
        << "every stop comes before the first start: " << ::testing::PrintToString(after);
    // In place: same actors, refs held before still deliver, fresh state.
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const std::string n(1, static_cast<char>('a' + i));
        EXPECT_EQ(child(s, n).addr(), refs[i].addr()) << n;
        EXPECT_FALSE(refs[i].addr().is_terminated()) << n;
        EXPECT_EQ(get(refs[i]), 0) << n;
        EXPECT_TRUE(refs[i].tell(add_msg{2}));
        EXPECT_EQ(get(refs[i]), 2) << n;
    }
    for (const auto& c : children(s)) {
        EXPECT_EQ(c.restarts, 1u) << c.name;
    }
}

TEST_F(OtpSemanticsTest, RestForOneRestartsTheFailedChildAndItsYoungerSiblings) {
    auto s = start({.strategy = restart_strategy::rest_for_one, .max_restarts = 5},
                   specs({"a", "b", "c", "d"}));
    auto a = child(s, "a");
    auto b = child(s, "b");
    (void)a.tell(add_msg{7});
    run();
    const auto m = mark();
    (void)b.tell(crash_msg{});
    run();
    const strings after = since(m);
    const strings stops = with_prefix(after, "stop:");
    strings younger;
    std::copy_if(stops.begin(), stops.end(), std::back_inserter(younger),
                 [](const std::string& e) { return e != "stop:b"; });
    EXPECT_EQ(younger, (strings{"stop:d", "stop:c"})) << ::testing::PrintToString(after);
    EXPECT_EQ(std::count(stops.begin(), stops.end(), "stop:b"), 1);
    EXPECT_EQ(with_prefix(after, "start:"), (strings{"start:b", "start:c", "start:d"}))
        << ::testing::PrintToString(after);
    ASSERT_EQ(after.size(), 6u) << ::testing::PrintToString(after);
    EXPECT_TRUE(std::all_of(after.begin(), after.begin() + 3, [](const std::string& e) {
        return e.rfind("stop:", 0) == 0;
    })) << ::testing::PrintToString(after);
    EXPECT_EQ(get(a), 7) << "the older sibling is untouched";
    for (const auto& c : children(s)) {
        EXPECT_EQ(c.restarts, c.name == "a" ? 0u : 1u) << c.name;
    }
}

// ---- restart types ---------------------------------------------------------------

TEST_F(OtpSemanticsTest, PermanentChildStoppingItselfRestartsInPlace) {
    supervisor_options o;
    o.on_event = ev.sink();
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    (void)w.tell(add_msg{5});
    (void)w.tell(stop_msg{}); // a normal stop by itself
    (void)w.tell(add_msg{1}); // queued behind it: kept
    run();
    EXPECT_EQ(log->count("start:w"), 2);
    EXPECT_EQ(log->count("stop:w"), 1);
    ASSERT_FALSE(w.addr().is_terminated()) << "in place: the same actor";
    EXPECT_EQ(child(s, "w").addr(), w.addr());
    EXPECT_EQ(get(w), 1) << "a fresh state handled the queued message";
    (void)w.tell(add_msg{3});
    EXPECT_EQ(get(w), 4) << "a ref held before delivers";
    EXPECT_EQ(ev.of(supervision_event::kind::respawn).size(), 1u);
    EXPECT_TRUE(ev.of(supervision_event::kind::failure).empty()) << "a normal exit is no failure";
    // A normal stop from outside: the same.
    EXPECT_TRUE(w.addr().stop());
    run();
    EXPECT_EQ(log->count("start:w"), 3);
    ASSERT_FALSE(w.addr().is_terminated());
    EXPECT_EQ(get(w), 0);
    EXPECT_EQ(ev.of(supervision_event::kind::respawn).size(), 2u);
    EXPECT_EQ(names(s), (strings{"w"}));
}

TEST_F(OtpSemanticsTest, TransientRestartsAfterAFailureOrAbnormalStopButNotANormalOne) {
    std::vector<child_spec> kids;
    for (const auto* n : {"crashes", "stopped", "self", "outside"}) {
        kids.push_back(worker_spec(n, log).with_restart(restart_type::transient));
    }
    auto s = start({.max_restarts = 10}, std::move(kids));
    auto crashes = child(s, "crashes");
    auto stopped = child(s, "stopped");
    auto self = child(s, "self");
    auto outside = child(s, "outside");
    (void)crashes.tell(crash_msg{});
    EXPECT_TRUE(stopped.addr().stop(error{errc::stopped, "from outside"}));
    (void)self.tell(stop_msg{});
    EXPECT_TRUE(outside.addr().stop()); // normal, from outside
    run();
    EXPECT_EQ(log->count("start:crashes"), 2);
    EXPECT_EQ(log->count("start:stopped"), 2) << "a non-normal stop is a failure";
    EXPECT_EQ(log->count("start:self"), 1);
    EXPECT_EQ(log->count("start:outside"), 1);
    EXPECT_FALSE(crashes.addr().is_terminated());
    EXPECT_FALSE(stopped.addr().is_terminated());
    ASSERT_TRUE(self.addr().is_terminated());
    ASSERT_TRUE(outside.addr().is_terminated());
    EXPECT_FALSE(*self.addr().exit_cause());
    EXPECT_FALSE(*outside.addr().exit_cause());
    EXPECT_EQ(names(s), (strings{"crashes", "stopped"})) << "normal exits are removed";
}

TEST_F(OtpSemanticsTest, TemporaryIsNeverRestarted) {
    std::vector<child_spec> kids;
    for (const auto* n : {"crashes", "stopped", "self"}) {
        kids.push_back(worker_spec(n, log).with_restart(restart_type::temporary));
    }
    auto s = start({.max_restarts = 10}, std::move(kids));
    auto crashes = child(s, "crashes");
    auto stopped = child(s, "stopped");
    auto self = child(s, "self");
    (void)crashes.tell(crash_msg{});
    EXPECT_TRUE(stopped.addr().stop(error{errc::stopped, "from outside"}));
    (void)self.tell(stop_msg{});
    run();
    for (const auto* n : {"crashes", "stopped", "self"}) {
        EXPECT_EQ(log->count(std::string("start:") + n), 1) << n;
    }
    ASSERT_TRUE(crashes.addr().is_terminated());
    ASSERT_TRUE(stopped.addr().is_terminated());
    ASSERT_TRUE(self.addr().is_terminated());
    EXPECT_EQ(crashes.addr().exit_cause()->code(), errc::exception);
    EXPECT_EQ(stopped.addr().exit_cause()->code(), errc::stopped);
    EXPECT_FALSE(*self.addr().exit_cause());
    EXPECT_TRUE(names(s).empty());
    EXPECT_FALSE(s.addr().is_terminated());
}

// ---- exits the supervisor did not ask for ------------------------------------------

// A supervised child killed from outside is a failure its supervisor rules on:
// a permanent one is restarted in place.
TEST_F(OtpSemanticsTest, KilledChildIsAFailureAndIsRestarted) {
    supervisor_options o{.max_restarts = 5};
    o.on_event = ev.sink();
    auto s = start(o, specs({"w", "other"}));
    auto w = child(s, "w");
    (void)w.tell(add_msg{5});
    run();
    EXPECT_TRUE(w.addr().kill(error{errc::stopped, "from outside"}));
    run();
    EXPECT_EQ(log->count("start:w"), 2) << ::testing::PrintToString(log->get());
    EXPECT_EQ(log->count("stop:w"), 0) << "a kill runs no on_stop";
    const auto failures = ev.of(supervision_event::kind::failure);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].cause.code(), errc::killed);
    const auto kids = children(s);
    ASSERT_EQ(kids.size(), 2u);
    EXPECT_EQ(kids[0].name, "w");
    EXPECT_EQ(kids[0].restarts, 1u);
    EXPECT_FALSE(kids[0].addr.is_terminated());
    auto now = child(s, "w");
    EXPECT_EQ(get(now), 0);
    EXPECT_EQ(log->count("start:other"), 1);
}

TEST_F(OtpSemanticsTest, ChildWhoseLinkedPeerDiesAbnormallyIsRestarted) {
    supervisor_options o{.max_restarts = 5};
    o.on_event = ev.sink();
    auto s = start(o, {make_child<linker>("l", std::string("l"), log)});
    auto l = sys.find<lproto>(s.addr().path() + "/l");
    ASSERT_TRUE(l);
    auto peer = sys.spawn_fn<crash_msg>([](crash_msg&) { throw std::runtime_error("peer broke"); });
    (void)l->tell(link_cmd{peer.addr()});
    run();
    (void)peer.tell(crash_msg{});
    run();
    ASSERT_TRUE(peer.addr().is_terminated());
    EXPECT_EQ(log->count("start:l"), 2);
    EXPECT_FALSE(l->addr().is_terminated()) << "restarted in place";
    const auto failures = ev.of(supervision_event::kind::failure);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].child, l->addr());
    EXPECT_EQ(failures[0].cause.code(), errc::linked_exit);
    ASSERT_NE(failures[0].cause.cause(), nullptr);
    EXPECT_EQ(failures[0].cause.cause()->message(), "peer broke");
}

// ---- giving up, escalation, failure reports ----------------------------------------

TEST_F(OtpSemanticsTest, SubSupervisorGivingUpOnFailuresFailsToItsParentWithEscalated) {
    supervisor_options mid_opts{.max_restarts = 1, .within = 10s};
    mid_opts.on_event = ev.sink();
    supervisor_options top_opts{.max_restarts = 10, .within = 10s};
    top_opts.on_event = ev.sink();
    auto top = start(top_opts, {make_child<supervisor>("mid", mid_opts, specs({"w"}))});
    auto mid = sys.find<supervisor_protocol>(top.addr().path() + "/mid");
    ASSERT_TRUE(mid);
    const std::string w_path = mid->addr().path() + "/w";
    for (int i = 0; i < 2; ++i) {
        auto w = sys.find<wproto>(w_path);
        ASSERT_TRUE(w);
        (void)w->tell(crash_msg{});
        run();
    }
    ASSERT_EQ(ev.of(supervision_event::kind::give_up, mid->addr()).size(), 1u);
    const auto failures = ev.of(supervision_event::kind::failure, top.addr());
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].child, mid->addr());
    EXPECT_EQ(failures[0].cause.code(), errc::escalated);
    ASSERT_NE(failures[0].cause.cause(), nullptr);
    EXPECT_EQ(failures[0].cause.cause()->code(), errc::exception);
    // top restarted mid in place; mid started its child again.
    EXPECT_FALSE(mid->addr().is_terminated());
    EXPECT_EQ(log->count("start:w"), 3);
    EXPECT_TRUE(sys.find<wproto>(w_path));
    auto report = failure_report(mid->addr());
    ASSERT_TRUE(report) << "still queryable after top absorbed it";
    EXPECT_EQ(report->summary().code(), errc::escalated);
    EXPECT_EQ(report->size(), 2u);
    EXPECT_FALSE(top.addr().is_terminated());
}

TEST_F(OtpSemanticsTest, SubSupervisorGivingUpOnNormalExitsFailsWithEscalatedAndNests) {
    supervisor_options mid_opts{.max_restarts = 2, .within = 10s};
    mid_opts.on_event = ev.sink();
    supervisor_options top_opts{.max_restarts = 0, .within = 10s};
    top_opts.on_event = ev.sink();
    auto top = start(top_opts, {make_child<supervisor>("mid", mid_opts, specs({"w"})),
                                worker_spec("sibling", log)});
    auto mid = sys.find<supervisor_protocol>(top.addr().path() + "/mid");
    ASSERT_TRUE(mid);
    auto w = sys.find<wproto>(mid->addr().path() + "/w");
    ASSERT_TRUE(w);
    for (int i = 0; i < 3; ++i) { // a permanent child that keeps exiting normally
        ASSERT_FALSE(w->addr().is_terminated()) << i;
        (void)w->tell(stop_msg{});
        run();
    }
    EXPECT_EQ(ev.of(supervision_event::kind::respawn, mid->addr()).size(), 2u);
    ASSERT_EQ(ev.of(supervision_event::kind::give_up, mid->addr()).size(), 1u)
        << "normal exits beyond max_restarts give up too";
    const auto failures = ev.of(supervision_event::kind::failure, top.addr());
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].child, mid->addr());
    EXPECT_EQ(failures[0].cause.code(), errc::escalated);
    // top (max_restarts 0) gave up in turn and failed to /user.
    ASSERT_EQ(ev.of(supervision_event::kind::give_up, top.addr()).size(), 1u);
    ASSERT_TRUE(top.addr().is_terminated());
    EXPECT_EQ(top.addr().exit_cause()->code(), errc::escalated);
    ASSERT_TRUE(mid->addr().is_terminated());
    EXPECT_EQ(mid->addr().exit_cause()->code(), errc::escalated);
    EXPECT_EQ(log->count("stop:sibling"), 1);

    auto mid_report = failure_report(mid->addr());
    ASSERT_TRUE(mid_report) << "still queryable after top nested it";
    EXPECT_EQ(mid_report->summary().code(), errc::escalated);
    auto top_report = failure_report(top.addr());
    ASSERT_TRUE(top_report);
    ASSERT_EQ(top_report->size(), 1u);
    const child_failure& f = top_report->failures()[0];
    EXPECT_EQ(f.path, mid->addr().path());
    EXPECT_EQ(f.cause.code(), errc::escalated);
    ASSERT_TRUE(f.nested);
    EXPECT_EQ(f.nested, mid_report) << "the parent nests the child's own report";
    EXPECT_EQ(ev.of(supervision_event::kind::give_up, top.addr())[0].aggregate, top_report);
}

TEST_F(OtpSemanticsTest, GivingUpStopsEveryChildNewestFirstBeforeTheParentHearsOfIt) {
    // As an Erlang/OTP supervisor that reaches its restart intensity: it
    // terminates all its children in reverse start order, and only then does
    // its exit reach its own supervisor.
    supervisor_options mid_opts{.max_restarts = 0, .within = 10s};
    supervisor_options top_opts{.max_restarts = 10, .within = 10s};
    top_opts.on_event = [l = log](const supervision_event& e) {
        if (e.what == supervision_event::kind::failure) {
            l->add("top hears: " + e.cause.to_string().substr(0, 9));
        }
    };
    auto top =
        start(top_opts, {make_child<supervisor>("mid", mid_opts, specs({"a", "b", "c", "d"}))});
    auto mid = sys.find<supervisor_protocol>(top.addr().path() + "/mid");
    ASSERT_TRUE(mid);
    const std::size_t before = log->get().size();
    (void)child(*mid, "b").tell(crash_msg{}); // the first failure gives up
    run();
    const strings all = log->get();
    const strings after(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
    EXPECT_EQ(after, (strings{"stop:b", "stop:d", "stop:c", "stop:a", "top hears: escalated",
                              "start:a", "start:b", "start:c", "start:d"}))
        << "the failed child, then the others newest first, then the parent decides (restart)";
    EXPECT_FALSE(mid->addr().is_terminated());
}

TEST_F(OtpSemanticsTest, SubSupervisorGivesUpWithEscalatedUnderEveryStrategyAndBackoff) {
    struct variant_case {
        std::string name;
        restart_strategy strategy;
        backoff_policy backoff;
    };
    const backoff_policy none{};
    const backoff_policy delayed{.min = 100ms, .max = 100ms, .multiplier = 1.0, .jitter = 0.0};
    const std::vector<variant_case> cases{
        {"one_for_one", restart_strategy::one_for_one, none},
        {"one_for_all", restart_strategy::one_for_all, none},
        {"rest_for_one", restart_strategy::rest_for_one, none},
        {"one_for_one_backoff", restart_strategy::one_for_one, delayed},
        {"one_for_all_backoff", restart_strategy::one_for_all, delayed},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        supervisor_options mid_opts{.strategy = c.strategy, .max_restarts = 1, .within = 10s};
        mid_opts.backoff = c.backoff;
        mid_opts.on_event = ev.sink();
        supervisor_options top_opts{.max_restarts = 10, .within = 10s};
        top_opts.on_event = ev.sink();
        auto top = start(top_opts, {make_child<supervisor>("mid", mid_opts, specs({"a", "b"}))});
        auto mid = sys.find<supervisor_protocol>(top.addr().path() + "/mid");
        ASSERT_TRUE(mid);
        auto b = sys.find<wproto>(mid->addr().path() + "/b");
        ASSERT_TRUE(b);
        for (int i = 0; i < 2; ++i) {
            ASSERT_FALSE(b->addr().is_terminated()) << i;
            (void)b->tell(crash_msg{});
            run();
            advance(100ms); // a pending backoff elapses
        }
        EXPECT_EQ(ev.of(supervision_event::kind::give_up, mid->addr()).size(), 1u);
        const auto failures = ev.of(supervision_event::kind::failure, top.addr());
        ASSERT_EQ(failures.size(), 1u);
        EXPECT_EQ(failures[0].child, mid->addr());
        EXPECT_EQ(failures[0].cause.code(), errc::escalated);
        EXPECT_TRUE(failure_report(mid->addr()));
        (void)top.stop();
        run();
        ASSERT_TRUE(top.addr().is_terminated());
    }
}

TEST_F(OtpSemanticsTest, FailureHistoryIsBoundedByMaxRestarts) {
    supervisor_options o{.max_restarts = 1000, .within = 24h};
    o.on_event = ev.sink();
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    for (int i = 0; i < 1000; ++i) {
        (void)w.tell(crash_msg{});
        run();
    }
    ASSERT_FALSE(s.addr().is_terminated());
    ASSERT_EQ(children(s).at(0).restarts, 1000u);
    (void)w.tell(crash_msg{}); // the 1001st failure in the window: give up
    run();
    ASSERT_TRUE(s.addr().is_terminated());
    EXPECT_EQ(s.addr().exit_cause()->code(), errc::escalated);
    const auto give_ups = ev.of(supervision_event::kind::give_up);
    ASSERT_EQ(give_ups.size(), 1u);
    ASSERT_TRUE(give_ups[0].aggregate);
    EXPECT_LE(give_ups[0].aggregate->size(), std::size_t{o.max_restarts} + 1);
    EXPECT_GE(give_ups[0].aggregate->size(), 1u);
    auto report = failure_report(s.addr());
    ASSERT_TRUE(report);
    EXPECT_LE(report->size(), std::size_t{o.max_restarts} + 1);
}

TEST_F(OtpSemanticsTest, FailureHistoryKeepsOnlyTheIntensityWindow) {
    supervisor_options o{.max_restarts = 3, .within = 1s};
    o.on_event = ev.sink();
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    for (int i = 0; i < 1000; ++i) { // 1,000 failures, each alone in its window
        (void)w.tell(crash_msg{});
        run();
        advance(2s);
    }
    ASSERT_FALSE(s.addr().is_terminated());
    EXPECT_EQ(ev.of(supervision_event::kind::restart).size(), 1000u);
    for (int i = 0; i < 4; ++i) { // then a burst: the 4th gives up
        (void)w.tell(crash_msg{});
        run();
    }
    ASSERT_TRUE(s.addr().is_terminated());
    auto report = failure_report(s.addr());
    ASSERT_TRUE(report);
    EXPECT_LE(report->size(), std::size_t{o.max_restarts} + 1);
    EXPECT_GE(report->size(), 1u);
    const time_point now = clk.now();
    for (const auto& f : report->failures()) {
        EXPECT_LE(now - f.when, o.within) << "only failures inside the window";
    }
}

TEST_F(OtpSemanticsTest, IntensityWindowSlidesWithEveryRestart) {
    supervisor_options o{.max_restarts = 3, .within = 1s};
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    const time_point t0 = clk.now();
    const auto fail_at = [&](duration since_t0) {
        advance(t0 + since_t0 - clk.now());
        (void)w.tell(crash_msg{});
        run();
    };
    fail_at(0ms);
    fail_at(400ms);
    fail_at(800ms);
    fail_at(1100ms); // the first restart left the window: 3 in it again
    ASSERT_FALSE(s.addr().is_terminated());
    ASSERT_EQ(children(s).at(0).restarts, 4u);
    fail_at(1400ms); // 400ms is exactly 1s old: still inside, a 4th restart
    ASSERT_TRUE(s.addr().is_terminated());
    EXPECT_EQ(s.addr().exit_cause()->code(), errc::escalated);
}

TEST_F(OtpSemanticsTest, GiveUpReportKeepsTheLatestFailuresAndCountsTheRest) {
    supervisor_options o{.max_restarts = 1000, .within = 24h};
    ASSERT_EQ(o.max_reported_failures, 16u);
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    for (int i = 0; i < 1001; ++i) { // the 1001st failure in the window gives up
        (void)w.tell(crash_msg{});
        run();
    }
    ASSERT_TRUE(s.addr().is_terminated());
    auto report = failure_report(s.addr());
    ASSERT_TRUE(report);
    ASSERT_EQ(report->size(), 16u) << "a fixed number of failures per supervisor";
    EXPECT_EQ(report->omitted(), 985u) << "the others in the window are counted";
    EXPECT_EQ(report->failures().front().restart_count, 985u) << "the latest ones, in order";
    EXPECT_EQ(report->failures().back().restart_count, 1000u);
    EXPECT_NE(report->to_tree_string().find("16 failure(s) (and 985 earlier, not kept)"),
              std::string::npos)
        << report->to_tree_string();
}

TEST_F(OtpSemanticsTest, GiveUpReportCountsOnlyOmittedFailuresOfTheWindow) {
    supervisor_options o{.max_restarts = 4, .within = 1s, .max_reported_failures = 2};
    auto s = start(o, specs({"w"}));
    auto w = child(s, "w");
    for (int i = 0; i < 3; ++i) { // 3 restarts: one failure let go while in the window
        (void)w.tell(crash_msg{});
        run();
    }
    advance(2s);                  // the window moves past all of them
    for (int i = 0; i < 5; ++i) { // the 5th restart in the window gives up
        ASSERT_FALSE(s.addr().is_terminated()) << i;
        (void)w.tell(crash_msg{});
        run();
    }
    ASSERT_TRUE(s.addr().is_terminated());
    auto report = failure_report(s.addr());
    ASSERT_TRUE(report);
    EXPECT_EQ(report->size(), 2u);
    EXPECT_EQ(report->omitted(), 3u) << "the first burst left the window: not counted";
}

TEST_F(OtpSemanticsTest, FailureReportsOfTerminatedSupervisorsAreBoundedPerSystem) {
    // A live supervisor's report (mid gave up, top restarted it in place)...
    supervisor_options top_opts{.max_restarts = 10, .within = 10s};
    supervisor_options quick{.max_restarts = 0, .within = 10s};
    auto top = start(top_opts, {make_child<supervisor>("mid", quick, specs({"w"}))});
    auto mid = sys.find<supervisor_protocol>(top.addr().path() + "/mid");
    ASSERT_TRUE(mid);
    (void)child(*mid, "w").tell(crash_msg{});
    run();
    ASSERT_FALSE(mid->addr().is_terminated());
    ASSERT_TRUE(failure_report(mid->addr()));
    // ...then a storm of short-lived supervisors that each give up once.
    constexpr std::size_t extra = 8;
    std::vector<actor_addr> storm;
    for (std::size_t i = 0; i < failure_report_limit + extra; ++i) {
        auto s = start(quick, specs({"w"}));
        (void)child(s, "w").tell(crash_msg{});
        run();
        ASSERT_TRUE(s.addr().is_terminated()) << i;
        storm.push_back(s.addr());
    }
    const auto kept =
        static_cast<std::size_t>(std::count_if(storm.begin(), storm.end(), [](const actor_addr& a) {
            return failure_report(a) != nullptr;
        }));
    EXPECT_EQ(kept + 1, failure_report_limit) << "the live one counts towards the limit";
    for (std::size_t i = 0; i <= extra; ++i) {
        EXPECT_FALSE(failure_report(storm[i])) << "the oldest are forgotten first: " << i;
    }
    EXPECT_TRUE(failure_report(storm[extra + 1]));
    EXPECT_TRUE(failure_report(storm.back()));
    EXPECT_TRUE(failure_report(mid->addr())) << "a live supervisor's report is never forgotten";
}

// ---- task groups ---------------------------------------------------------------------

struct nap_msg {};
using gproto = std::variant<crash_msg, nap_msg>;
/// A group member the test can reach (it registers on start).
class group_member : public actor<gproto> {
public:
    group_member(std::string name, std::vector<actor_ref<gproto>>* reg, log_ptr log)
        : name_(std::move(name)), reg_(reg), log_(std::move(log)) {}
    void on_start() override { reg_->push_back(self()); }
    void on_stop(const error& cause) override {
        log_->add("stop:" + name_ + ":" + std::string(to_string(cause.code())));
    }
    void on(crash_msg&) { throw std::runtime_error("boom " + name_); }
    /// Sleeps; if cancelled, throws instead of going quietly.
    task<> on(nap_msg&) {
        auto woke = co_await sleep(1h);
        if (!woke) {
            throw std::runtime_error("refused to be cancelled: " + name_);
        }
    }

private:
    std::string name_;
    std::vector<actor_ref<gproto>>* reg_;
    log_ptr log_;
};

struct TaskGroupSemanticsTest : ::testing::Test, manual_fixture {
    std::vector<actor_ref<gproto>> reg;
};

TEST_F(TaskGroupSemanticsTest, MemberFailingAsTheGroupCancelsItIsReportedAsAFailure) {
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn<group_member>(std::string("m1"), &reg, log);
    g.spawn<group_member>(std::string("m2"), &reg, log);
    ex.run_until_idle();
    ASSERT_EQ(reg.size(), 2u);
    (void)reg[0].tell(crash_msg{});
    ASSERT_TRUE(ex.run_once()); // m1 fails; its parent has not decided yet
    ASSERT_FALSE(reg[0].addr().is_terminated());
    g.cancel();
    ex.run_until_idle();
    aggregate_error errors = g.join();
    ASSERT_EQ(errors.size(), 1u) << errors.to_tree_string();
    EXPECT_EQ(errors.failures()[0].path, reg[0].path());
    EXPECT_EQ(errors.failures()[0].cause.code(), errc::exception);
    EXPECT_EQ(errors.failures()[0].cause.message(), "boom m1");
    EXPECT_EQ(g.cancelled(), 1u) << "only m2";
}

TEST_F(TaskGroupSemanticsTest, TaskMemberThrowingAfterItsGroupIsCancelledIsAFailure) {
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn_task([&g](const std::stop_token& token) {
        g.cancel(); // the group cancels this very member
        if (token.stop_requested()) {
            throw std::runtime_error("thrown while cancelled");
        }
    });
    ex.run_until_idle();
    aggregate_error errors = g.join();
    ASSERT_EQ(errors.size(), 1u) << errors.to_tree_string();
    EXPECT_EQ(errors.failures()[0].cause.code(), errc::exception);
    EXPECT_EQ(errors.failures()[0].cause.message(), "thrown while cancelled");
    EXPECT_EQ(g.cancelled(), 0u);
}

// A member whose handler throws in answer to the cancellation ends with that
// failure: reported, not counted as cancelled.
TEST_F(TaskGroupSemanticsTest, MemberThrowingFromItsCancellationIsReportedAsAFailure) {
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn<group_member>(std::string("m1"), &reg, log);
    g.spawn<group_member>(std::string("m2"), &reg, log);
    ex.run_until_idle();
    ASSERT_EQ(reg.size(), 2u);
    (void)reg[0].tell(nap_msg{});
    ex.run_until_idle();
    g.cancel();
    ex.run_until_idle();
    aggregate_error errors = g.join();
    ASSERT_EQ(errors.size(), 1u) << errors.to_tree_string();
    EXPECT_EQ(errors.failures()[0].cause.code(), errc::exception);
    EXPECT_EQ(errors.failures()[0].cause.message(), "refused to be cancelled: m1");
    EXPECT_EQ(g.cancelled(), 1u);
}

TEST_F(TaskGroupSemanticsTest, TwoMembersFailingInTheSameRunAreBothReported) {
    task_group g(sys, {.mode = group_mode::cancel_on_first_error});
    for (const auto* n : {"m1", "m2", "m3"}) {
        g.spawn<group_member>(std::string(n), &reg, log);
    }
    ex.run_until_idle();
    ASSERT_EQ(reg.size(), 3u);
    (void)reg[0].tell(crash_msg{});
    (void)reg[1].tell(crash_msg{});
    ex.run_until_idle(); // both fail before either exit is known
    aggregate_error errors = g.join();
    ASSERT_EQ(errors.size(), 2u) << errors.to_tree_string();
    strings paths;
    for (const auto& f : errors.failures()) {
        EXPECT_EQ(f.cause.code(), errc::exception);
        paths.push_back(f.path);
    }
    std::sort(paths.begin(), paths.end());
    strings expected{reg[0].path(), reg[1].path()};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(paths, expected);
    EXPECT_EQ(g.cancelled(), 1u) << "m3, stopped by the group";
}

} // namespace
} // namespace troupe
