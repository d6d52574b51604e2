// Part of troupe. See LICENSE at the repository root.
// Misuse of the supervision API: fault plans out of range, injected drops
// told apart from overflow drops, supervisors with bad child specs
// (deterministic: manual executor and clock).

#include <troupe/supervision/fault_injection.hpp>

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using namespace sup_test;

struct SupervisionMisuseTest : ::testing::Test, manual_fixture {};

struct bad_plan {
    std::string what;
    fault_plan plan;
};

std::vector<bad_plan> bad_plans() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    return {
        {"drop < 0", fault_plan{.drop_probability = -0.1}},
        {"drop > 1", fault_plan{.drop_probability = 1.5}},
        {"drop NaN", fault_plan{.drop_probability = nan}},
        {"delay < 0", fault_plan{.delay_probability = -1.0}},
        {"delay inf", fault_plan{.delay_probability = inf}},
        {"duplicate > 1", fault_plan{.duplicate_probability = 2.0}},
        {"duplicate NaN", fault_plan{.duplicate_probability = nan}},
        {"reorder < 0", fault_plan{.reorder_probability = -std::numeric_limits<double>::min()}},
        {"reorder NaN", fault_plan{.reorder_probability = nan}},
        {"negative delay", fault_plan{.delay_every_nth = 1, .delay = -1ms}},
        {"negative delay, unused", fault_plan{.delay = -1ns}},
    };
}

TEST_F(SupervisionMisuseTest, FaultPlanOutOfRangeRefusesTheSpawn) {
    for (const auto& c : bad_plans()) {
        SCOPED_TRACE(c.what);
        auto w = sys.spawn_with<worker>(with_faults({}, c.plan), std::string("w"), log);
        ASSERT_TRUE(w.addr().is_terminated());
        auto cause = w.addr().exit_cause();
        ASSERT_TRUE(cause);
        EXPECT_EQ(cause->code(), errc::invalid_argument);
        auto named =
            sys.spawn_named<worker>("named", with_faults({}, c.plan), std::string("n"), log);
        ASSERT_FALSE(named);
        EXPECT_EQ(named.error().code(), errc::invalid_argument);
    }
    ex.run_until_idle();
    EXPECT_EQ(sys.live_actors(), 0);
    EXPECT_TRUE(log->get().empty()) << "no refused actor ever started";
}

TEST_F(SupervisionMisuseTest, FaultPlanBoundsAreInclusive) {
    auto w = sys.spawn_with<worker>(with_faults({}, fault_plan{.drop_probability = 0.0,
                                                               .delay_probability = 1.0,
                                                               .delay = 0ms,
                                                               .duplicate_probability = 1.0,
                                                               .reorder_probability = 0.0}),
                                    std::string("w"), log);
    EXPECT_FALSE(w.addr().is_terminated());
    auto d = sys.spawn_with<worker>(with_faults({}, fault_plan{.drop_probability = 1.0}),
                                    std::string("d"), log);
    EXPECT_FALSE(d.addr().is_terminated());
}

TEST_F(SupervisionMisuseTest, AddChildWithABadFaultPlanIsRefused) {
    auto s = sys.spawn<supervisor>(supervisor_options{}, std::vector<child_spec>{});
    ex.run_until_idle();
    auto spec = worker_spec("bad", log);
    spec.options = with_faults(spec.options, fault_plan{.drop_probability = 7.0});
    auto h = s.ask(add_child{spec}, 1s);
    ex.run_until_idle();
    auto added = h.try_get();
    ASSERT_TRUE(added && *added);
    EXPECT_FALSE(**added) << "null: the spawn failed";
    auto kids = s.ask(which_children{}, 1s);
    ex.run_until_idle();
    auto list = kids.try_get();
    ASSERT_TRUE(list && *list);
    EXPECT_TRUE((*list)->empty());
    EXPECT_FALSE(s.addr().is_terminated());
}

TEST_F(SupervisionMisuseTest, InjectedDropsAreDeadLettersNotOverflowDrops) {
    std::vector<dead_letter_reason> reasons;
    (void)sys.dead_letters().hooks().add(
        [&](const dead_letter& d) { reasons.push_back(d.reason); });
    auto opts = with_faults({}, fault_plan{.drop_probability = 1.0});
    auto w = sys.spawn_with<worker>(opts, std::string("w"), log);
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(w.tell(add_msg{1}));
    }
    auto h = w.ask(get_msg{}, 1s);
    ex.run_until_idle();
    auto r = h.try_get();
    ASSERT_TRUE(r);
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code(), errc::dropped);
    EXPECT_EQ(sys.dead_letters().count(dead_letter_reason::injected_drop), 6u);
    EXPECT_EQ(sys.dead_letters().count(dead_letter_reason::dropped_newest), 0u);
    EXPECT_EQ(sys.dead_letters().count(dead_letter_reason::dropped_oldest), 0u);
    EXPECT_EQ(reasons, (std::vector<dead_letter_reason>(6, dead_letter_reason::injected_drop)));
    EXPECT_EQ(injected_faults(opts.interceptor.get()).dropped, 6u);
    auto c = sys.counters(w.addr()).value();
    EXPECT_EQ(c.dropped, 6u);
    EXPECT_EQ(c.processed, 0u);
    EXPECT_EQ(c.accounted(), 6u);
}

TEST_F(SupervisionMisuseTest, SupervisorWithDuplicateChildNamesFailsWithInvalidArgument) {
    auto s = sys.spawn<supervisor>(
        supervisor_options{}, std::vector<child_spec>{worker_spec("a", log), worker_spec("b", log),
                                                      worker_spec("a", log)});
    ex.run_until_idle();
    ASSERT_TRUE(s.addr().is_terminated());
    auto cause = s.addr().exit_cause();
    ASSERT_TRUE(cause);
    EXPECT_EQ(cause->code(), errc::invalid_argument);
    EXPECT_TRUE(log->get().empty())
        << "no child was started: " << ::testing::PrintToString(log->get());
}

TEST_F(SupervisionMisuseTest, SupervisorWithAnUnnamedOrUnstartableChildFailsWithInvalidArgument) {
    child_spec no_start;
    no_start.name = "x";
    for (const auto& spec : {worker_spec("", log), no_start}) {
        auto s = sys.spawn<supervisor>(supervisor_options{}, std::vector<child_spec>{spec});
        ex.run_until_idle();
        ASSERT_TRUE(s.addr().is_terminated());
        EXPECT_EQ(s.addr().exit_cause()->code(), errc::invalid_argument);
    }
}

} // namespace
} // namespace troupe
