// Part of troupe. See LICENSE at the repository root.
// OTP parity on real threads: a child stuck in a handler overruns its
// shutdown timeout. Synchronisation is by latches, asks and wait_for_exit;
// the 20 ms timeout only bounds the supervisor's wait, nothing is timed.

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <latch>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using namespace sup_test;

struct block_msg {};
struct note_msg {};
using stuck_proto = std::variant<block_msg, note_msg>;
/// Blocks in its first handler until the test releases it.
class stuck : public actor<stuck_proto> {
public:
    stuck(std::latch* entered, std::latch* release, log_ptr log)
        : entered_(entered), release_(release), log_(std::move(log)) {}
    void on(block_msg&) {
        entered_->count_down();
        release_->wait();
    }
    void on(note_msg&) { log_->add("note"); }
    void on_stop(const error&) override { log_->add("stop:stuck"); }

private:
    std::latch* entered_;
    std::latch* release_;
    log_ptr log_;
};

TEST(OtpSemanticsStressTest, ShutdownOverrunEndsKilledByTimeoutEvenWithMessagesQueued) {
    troupe::system sys(system_config{.workers = 2});
    std::latch entered(1);
    std::latch release(1);
    auto log = std::make_shared<event_log>();
    auto s = sys.spawn<supervisor>(
        supervisor_options{},
        std::vector<child_spec>{worker_spec("first", log),
                                make_child<stuck>("stuck", &entered, &release, log)
                                    .with_shutdown(shutdown_policy::timeout(20ms))});
    ASSERT_TRUE(s.ask(which_children{}, 60s).get()); // children started
    auto st = sys.find<stuck_proto>(s.addr().path() + "/stuck");
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->tell(block_msg{}));
    entered.wait();
    constexpr int queued = 10;
    for (int i = 0; i < queued; ++i) {
        ASSERT_TRUE(st->tell(note_msg{})); // still queued when the stop comes
    }
    ASSERT_TRUE(s.stop(error{errc::stopped, "bye"}));
    auto sup_exit = sys.wait_for_exit(s.addr(), 60s);
    ASSERT_TRUE(sup_exit) << "the supervisor moved on without the stuck child";
    EXPECT_EQ(log->count("stop:first"), 1);
    EXPECT_FALSE(st->addr().is_terminated()) << "its handler still runs";
    release.count_down();
    auto stuck_exit = sys.wait_for_exit(st->addr(), 60s);
    ASSERT_TRUE(stuck_exit);
    EXPECT_EQ(stuck_exit->code(), errc::killed) << stuck_exit->to_string();
    ASSERT_NE(stuck_exit->cause(), nullptr) << stuck_exit->to_string();
    EXPECT_EQ(stuck_exit->cause()->code(), errc::timeout) << stuck_exit->to_string();
    EXPECT_EQ(log->count("note"), 0) << "the kill overtakes the queued messages";
    EXPECT_EQ(log->count("stop:stuck"), 0) << "a kill runs no on_stop";
    auto c = sys.counters(st->addr()).value();
    EXPECT_EQ(c.processed, 1u);
    EXPECT_EQ(c.dead_lettered, std::uint64_t{queued});
    EXPECT_EQ(c.accounted(), std::uint64_t{queued} + 1);
}

TEST(OtpSemanticsStressTest, GivingUpStopsChildrenPerTheirShutdownPolicyBeforeFailing) {
    troupe::system sys(system_config{.workers = 2});
    std::latch entered(1);
    std::latch release(1);
    auto log = std::make_shared<event_log>();
    event_sink ev;
    supervisor_options o{.max_restarts = 0, .within = 10s};
    o.on_event = ev.sink();
    auto s = sys.spawn<supervisor>(
        o, std::vector<child_spec>{worker_spec("first", log),
                                   make_child<stuck>("stuck", &entered, &release, log)
                                       .with_shutdown(shutdown_policy::timeout(20ms)),
                                   worker_spec("last", log)});
    ASSERT_TRUE(s.ask(which_children{}, 60s).get()); // children started
    auto st = sys.find<stuck_proto>(s.addr().path() + "/stuck");
    auto last = sys.find<wproto>(s.addr().path() + "/last");
    ASSERT_TRUE(st);
    ASSERT_TRUE(last);
    ASSERT_TRUE(st->tell(block_msg{}));
    entered.wait();
    ASSERT_TRUE(last->tell(crash_msg{})); // gives up at the first failure
    auto sup_exit = sys.wait_for_exit(s.addr(), 60s);
    ASSERT_TRUE(sup_exit) << "the supervisor moved on without the stuck child";
    EXPECT_EQ(sup_exit->code(), errc::escalated) << sup_exit->to_string();
    EXPECT_EQ(ev.count(supervision_event::kind::give_up), 1);
    EXPECT_EQ(ev.count(supervision_event::kind::shutdown_kill), 1) << "stuck overran: killed";
    EXPECT_EQ(log->count("stop:last"), 1);
    EXPECT_EQ(log->count("stop:first"), 1) << "the stop went on after the kill";
    const auto events = log->get();
    EXPECT_EQ(events.back(), "stop:first") << "first started first, stops last";
    release.count_down();
    auto stuck_exit = sys.wait_for_exit(st->addr(), 60s);
    ASSERT_TRUE(stuck_exit);
    EXPECT_EQ(stuck_exit->code(), errc::killed) << stuck_exit->to_string();
}

} // namespace
} // namespace troupe
