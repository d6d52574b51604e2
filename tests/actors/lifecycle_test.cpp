// Part of troupe. See LICENSE at the repository root.
// Failures, monitors, links, stop tokens, names, refs and ordered shutdown
// (deterministic: manual executor and clock).

#include "test_support.hpp"

#include <unordered_set>

namespace troupe {
namespace {

using namespace test_support;

class LifecycleTest : public ManualSystemTest {};

// ---- exception isolation --------------------------------------------------------

TEST_F(LifecycleTest, ThrowingHandlerStopsOnlyThatActor) {
    auto bad = sys_->spawn_fn<ping>([](ping& p) {
        if (p.n < 0) {
            throw std::runtime_error("negative ping");
        }
    });
    record& rec = new_record();
    auto good = sys_->spawn<recorder>(&rec);
    std::optional<error> cause;
    sys_->on_exit(bad.addr(), [&](const error& e) { cause = e; });
    EXPECT_TRUE(bad.tell(ping{-1}));
    EXPECT_TRUE(bad.tell(ping{2})); // behind the failing one
    run();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::exception);
    EXPECT_EQ(cause->message(), "negative ping");
    EXPECT_TRUE(bad.addr().is_terminated());
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::handler_failed), 1u);
    auto c = sys_->counters(bad.addr()).value();
    EXPECT_EQ(c.processed, 0u);
    EXPECT_EQ(c.accounted(), 2u) << "failed message + the one queued behind it";
    // The rest of the system is unaffected.
    EXPECT_TRUE(good.tell(ping{1}));
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1}));
    EXPECT_FALSE(good.addr().is_terminated());
    EXPECT_EQ(sys_->live_actors(), 1);
}

TEST_F(LifecycleTest, ThrowingOnStartFailsTheActor) {
    struct bad_start : actor<ping> {
        void on_start() override { throw std::logic_error("no start"); }
        void on(ping&) {}
    };
    auto a = sys_->spawn<bad_start>();
    std::optional<error> cause;
    sys_->on_exit(a.addr(), [&](const error& e) { cause = e; });
    run();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::exception);
    EXPECT_EQ(cause->message(), "no start");
}

// A parent whose child fails: on_child_failed sees the child and the cause.
struct spawn_kid {};
struct kid_fail {};
struct failure_seen {
    actor_addr child;
    error cause;
    int calls = 0;
};
class failing_kid : public actor<kid_fail> {
public:
    void on(kid_fail&) { throw std::runtime_error("kid broke"); }
};
class parent_actor : public actor<spawn_kid> {
public:
    parent_actor(failure_seen* seen, actor_ref<kid_fail>* kid) : seen_(seen), kid_(kid) {}
    void on(spawn_kid&) { *kid_ = spawn_child<failing_kid>(*this, "kid"); }
    child_decision on_child_failed(const actor_addr& child, const error& cause) override {
        ++seen_->calls;
        seen_->child = child;
        seen_->cause = cause;
        return child_decision::stop;
    }

private:
    failure_seen* seen_;
    actor_ref<kid_fail>* kid_;
};

TEST_F(LifecycleTest, ParentIsToldOfAChildFailure) {
    failure_seen seen;
    actor_ref<kid_fail> kid;
    auto p = sys_->spawn<parent_actor>(&seen, &kid);
    EXPECT_TRUE(p.tell(spawn_kid{}));
    run();
    ASSERT_TRUE(kid);
    EXPECT_TRUE(kid.tell(kid_fail{}));
    run();
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.child, kid.addr());
    EXPECT_EQ(seen.cause.code(), errc::exception);
    EXPECT_EQ(seen.cause.message(), "kid broke");
    EXPECT_TRUE(kid.addr().is_terminated());
    EXPECT_FALSE(p.addr().is_terminated()) << "the default decision stops only the child";
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::handler_failed), 1u);
}

// ---- monitors, links, stop tokens ------------------------------------------------

struct monitor_cmd {
    actor_addr who;
};
struct link_cmd {
    actor_addr who;
};
using ctl_proto = std::variant<monitor_cmd, link_cmd, ping>;
struct watch_log {
    std::vector<std::pair<actor_addr, error>> downs;
    std::vector<std::pair<actor_addr, error>> exits;
    std::optional<error> stopped;
};
class watcher : public actor<ctl_proto> {
public:
    explicit watcher(watch_log* log) : log_(log) {}
    void on(monitor_cmd& m) { monitor(m.who); }
    void on(link_cmd& m) { link(m.who); }
    void on(ping& p) {
        if (p.n < 0) {
            throw std::runtime_error("watcher fails");
        }
    }
    void on_down(const down_msg& d) override { log_->downs.emplace_back(d.source, d.cause); }
    void on_exit(const exit_msg& e) override { log_->exits.emplace_back(e.source, e.cause); }
    void on_stop(const error& cause) override { log_->stopped = cause; }

private:
    watch_log* log_;
};

class LinkMonitorTest : public ManualSystemTest {
protected:
    std::deque<watch_log> logs_;
    watch_log& new_log() { return logs_.emplace_back(); }
};

TEST_F(LinkMonitorTest, DownCarriesTheCause) {
    watch_log& log = new_log();
    auto w = sys_->spawn<watcher>(&log);
    auto victim = sys_->spawn_fn<ping>([](ping&) { throw std::runtime_error("victim"); });
    EXPECT_TRUE(w.tell(monitor_cmd{victim.addr()}));
    run();
    EXPECT_TRUE(log.downs.empty());
    EXPECT_TRUE(victim.tell(ping{}));
    run();
    ASSERT_EQ(log.downs.size(), 1u);
    EXPECT_EQ(log.downs[0].first, victim.addr());
    EXPECT_EQ(log.downs[0].second.code(), errc::exception);
    EXPECT_EQ(log.downs[0].second.message(), "victim");
}

TEST_F(LinkMonitorTest, MonitoringADeadActorGivesAnImmediateDown) {
    watch_log& log = new_log();
    auto w = sys_->spawn<watcher>(&log);
    record& rec = new_record();
    auto dead = sys_->spawn<recorder>(&rec);
    dead.stop(error{errc::stopped, "gone"});
    run();
    ASSERT_TRUE(dead.addr().is_terminated());
    EXPECT_TRUE(w.tell(monitor_cmd{dead.addr()}));
    run();
    ASSERT_EQ(log.downs.size(), 1u);
    EXPECT_EQ(log.downs[0].first, dead.addr());
    EXPECT_EQ(log.downs[0].second.code(), errc::stopped);
    // system::on_exit on a dead actor runs at once too.
    std::optional<error> seen;
    sys_->on_exit(dead.addr(), [&](const error& e) { seen = e; });
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->code(), errc::stopped);
}

TEST_F(LinkMonitorTest, AbnormalExitStopsTheLinkedActor) {
    watch_log& a_log = new_log();
    watch_log& b_log = new_log();
    auto a = sys_->spawn<watcher>(&a_log);
    auto b = sys_->spawn<watcher>(&b_log);
    EXPECT_TRUE(a.tell(link_cmd{b.addr()}));
    run();
    EXPECT_TRUE(b.tell(ping{-1})); // b fails
    run();
    ASSERT_TRUE(b.addr().is_terminated());
    ASSERT_TRUE(a.addr().is_terminated());
    ASSERT_TRUE(a_log.stopped.has_value());
    EXPECT_EQ(a_log.stopped->code(), errc::linked_exit);
    ASSERT_NE(a_log.stopped->cause(), nullptr);
    EXPECT_EQ(a_log.stopped->cause()->code(), errc::exception);
    EXPECT_TRUE(a_log.exits.empty());
}

TEST_F(LinkMonitorTest, LinkWorksInBothDirections) {
    watch_log& a_log = new_log();
    watch_log& b_log = new_log();
    auto a = sys_->spawn<watcher>(&a_log);
    auto b = sys_->spawn<watcher>(&b_log);
    EXPECT_TRUE(a.tell(link_cmd{b.addr()}));
    run();
    EXPECT_TRUE(a.tell(ping{-1})); // the linking side fails this time
    run();
    ASSERT_TRUE(b_log.stopped.has_value());
    EXPECT_EQ(b_log.stopped->code(), errc::linked_exit);
}

TEST_F(LinkMonitorTest, TrapExitsDeliversOnExitInstead) {
    watch_log& a_log = new_log();
    watch_log& b_log = new_log();
    spawn_options trap;
    trap.trap_exits = true;
    auto a = sys_->spawn_with<watcher>(trap, &a_log);
    auto b = sys_->spawn<watcher>(&b_log);
    EXPECT_TRUE(a.tell(link_cmd{b.addr()}));
    run();
    EXPECT_TRUE(b.tell(ping{-1}));
    run();
    EXPECT_FALSE(a.addr().is_terminated());
    EXPECT_FALSE(a_log.stopped.has_value());
    ASSERT_EQ(a_log.exits.size(), 1u);
    EXPECT_EQ(a_log.exits[0].first, b.addr());
    EXPECT_EQ(a_log.exits[0].second.code(), errc::exception);
}

// OTP: a normal exit stops no linked actor; one that traps exits is told.
TEST_F(LinkMonitorTest, NormalExitStopsNoOneAndReachesTrappers) {
    watch_log& a_log = new_log();
    watch_log& b_log = new_log();
    spawn_options trap;
    trap.trap_exits = true;
    auto a = sys_->spawn<watcher>(&a_log);
    auto t = sys_->spawn_with<watcher>(trap, &b_log);
    record& rec = new_record();
    auto peer = sys_->spawn<recorder>(&rec);
    EXPECT_TRUE(a.tell(link_cmd{peer.addr()}));
    EXPECT_TRUE(t.tell(link_cmd{peer.addr()}));
    run();
    peer.stop(); // a normal stop
    run();
    EXPECT_TRUE(peer.addr().is_terminated());
    EXPECT_FALSE(a.addr().is_terminated());
    EXPECT_FALSE(a_log.stopped.has_value());
    EXPECT_TRUE(a_log.exits.empty());
    ASSERT_EQ(b_log.exits.size(), 1u) << "a trapping actor sees normal exits too";
    EXPECT_EQ(b_log.exits[0].first, peer.addr());
    EXPECT_FALSE(b_log.exits[0].second);
}

// An exit signal from a linked actor with no address here (net: a remote
// one) acts as a linked actor's exit: trapped, it reaches on_exit with an
// empty source; else an abnormal one stops the actor and a normal one does not.
TEST_F(LinkMonitorTest, AnExitSignalFromNoAddressActsAsALinkedExit) {
    watch_log& trap_log = new_log();
    watch_log& plain_log = new_log();
    spawn_options trap;
    trap.trap_exits = true;
    auto t = sys_->spawn_with<watcher>(trap, &trap_log);
    auto p = sys_->spawn<watcher>(&plain_log);
    run();
    ASSERT_TRUE(t.addr().signal_exit({}));
    ASSERT_TRUE(p.addr().signal_exit({}));
    run();
    EXPECT_FALSE(p.addr().is_terminated()) << "a normal exit stops no one";
    ASSERT_TRUE(t.addr().signal_exit(error{errc::exception, "far away"}));
    ASSERT_TRUE(p.addr().signal_exit(error{errc::exception, "far away"}));
    run();
    EXPECT_FALSE(t.addr().is_terminated());
    ASSERT_EQ(trap_log.exits.size(), 2u);
    EXPECT_FALSE(trap_log.exits[0].first) << "the linked actor has no address here";
    EXPECT_FALSE(trap_log.exits[0].second);
    EXPECT_EQ(trap_log.exits[1].second.code(), errc::exception);
    EXPECT_TRUE(p.addr().is_terminated());
    ASSERT_TRUE(plain_log.stopped.has_value());
    EXPECT_EQ(plain_log.stopped->code(), errc::linked_exit);
    ASSERT_NE(plain_log.stopped->cause(), nullptr);
    EXPECT_EQ(plain_log.stopped->cause()->code(), errc::exception);
    EXPECT_EQ(actor_addr{}.signal_exit({}).error().code(), errc::invalid_argument);
}

struct token_probe {
    std::stop_token token;
    bool requested_in_on_stop = false;
    errc cause_in_on_stop = errc::unsupported;
    errc cause_before = errc::unsupported;
};
class token_actor : public actor<ping> {
public:
    explicit token_actor(token_probe* p) : p_(p) {}
    void on_start() override {
        p_->token = stop_token();
        p_->cause_before = stop_cause().code();
    }
    void on(ping&) {}
    void on_stop(const error&) override {
        p_->requested_in_on_stop = stop_token().stop_requested();
        p_->cause_in_on_stop = stop_cause().code();
    }

private:
    token_probe* p_;
};

TEST_F(LifecycleTest, StopTokenIsSignalledWithTheCause) {
    token_probe probe;
    auto a = sys_->spawn<token_actor>(&probe);
    run();
    ASSERT_TRUE(probe.token.stop_possible());
    EXPECT_FALSE(probe.token.stop_requested());
    EXPECT_EQ(probe.cause_before, errc::none);
    a.stop(error{errc::stopped, "enough"});
    run();
    EXPECT_TRUE(probe.token.stop_requested());
    EXPECT_TRUE(probe.requested_in_on_stop);
    EXPECT_EQ(probe.cause_in_on_stop, errc::stopped);
}

// ---- names and paths ---------------------------------------------------------------

TEST_F(LifecycleTest, NamedActorsAndLookup) {
    record& rec = new_record();
    auto named = sys_->spawn_named<recorder>("alpha", spawn_options{}, &rec);
    ASSERT_TRUE(named) << named.error();
    EXPECT_EQ(named->path(), "/user/alpha");
    auto found = sys_->find<rec_proto>("/user/alpha");
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, *named);
    auto wrong = sys_->find<ping>("/user/alpha");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code(), errc::type_mismatch);
    auto missing = sys_->find<rec_proto>("/user/beta");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), errc::receiver_down);
    auto taken = sys_->spawn_named<recorder>("alpha", spawn_options{}, &rec);
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code(), errc::name_taken);
    for (std::string bad : {"", "a/b", "$x"}) {
        auto r = sys_->spawn_named<recorder>(bad, spawn_options{}, &rec);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code(), errc::invalid_argument) << bad;
    }
    EXPECT_EQ(sys_->live_actors(), 1) << "refused spawns are not live";
    // An unnamed actor's path shows its id.
    auto anon = sys_->spawn<recorder>(&rec);
    EXPECT_EQ(anon.path(), "/user/$" + std::to_string(anon.addr().id()));
    // The name is free again once its owner terminated.
    named->stop();
    run();
    EXPECT_FALSE(sys_->find<rec_proto>("/user/alpha"));
    auto again = sys_->spawn_named<recorder>("alpha", spawn_options{}, &rec);
    ASSERT_TRUE(again);
    EXPECT_NE(again->addr(), named->addr());
}

struct make_named_child {
    std::string name;
};
class named_parent : public actor<make_named_child> {
public:
    explicit named_parent(record* r) : r_(r) {}
    void on(make_named_child& m) { (void)spawn_child<recorder>(*this, m.name, r_); }

private:
    record* r_;
};

TEST_F(LifecycleTest, ChildPathsAreNested) {
    record& rec = new_record();
    auto a = sys_->spawn_named<named_parent>("a", spawn_options{}, &rec);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->tell(make_named_child{"b"}));
    run();
    auto b = sys_->find<rec_proto>("/user/a/b");
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ(b->path(), "/user/a/b");
    EXPECT_EQ(sys_->live_actors(), 2);
    // Stopping the parent stops the child first and frees both names.
    a->stop();
    run();
    EXPECT_TRUE(b->addr().is_terminated());
    EXPECT_FALSE(sys_->find<rec_proto>("/user/a/b"));
    EXPECT_EQ(sys_->live_actors(), 0);
}

// ---- refs ----------------------------------------------------------------------

TEST_F(LifecycleTest, RefsCopyCompareAndHash) {
    record& rec = new_record();
    auto a = sys_->spawn<recorder>(&rec);
    auto b = sys_->spawn<recorder>(&rec);
    auto a2 = a; // NOLINT(performance-unnecessary-copy-initialization): the copy is tested
    EXPECT_EQ(a, a2);
    EXPECT_FALSE(a == b);
    EXPECT_EQ(std::hash<actor_ref<rec_proto>>{}(a), std::hash<actor_ref<rec_proto>>{}(a2));
    EXPECT_EQ(a.addr(), a2.addr());
    EXPECT_NE(a.addr(), b.addr());
    EXPECT_NE(a.addr().id(), b.addr().id());
    EXPECT_TRUE(a.addr() < b.addr() || b.addr() < a.addr());
    std::unordered_set<actor_ref<rec_proto>> refs{a, a2, b};
    EXPECT_EQ(refs.size(), 2u);
    std::unordered_set<actor_addr> addrs{a.addr(), a2.addr(), b.addr()};
    EXPECT_EQ(addrs.size(), 2u);
    actor_ref<rec_proto> empty;
    EXPECT_FALSE(empty);
    EXPECT_TRUE(a);
    EXPECT_FALSE(actor_addr{});
}

TEST_F(LifecycleTest, RefStaysValidAfterDeath) {
    record& rec = new_record();
    auto a = sys_->spawn<recorder>(&rec);
    auto copy = a; // NOLINT(performance-unnecessary-copy-initialization): the copy is tested
    a.stop();
    run();
    ASSERT_TRUE(copy.addr().is_terminated());
    EXPECT_EQ(copy, a);
    auto r = copy.tell(ping{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::receiver_down);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::receiver_down), 1u);
    auto c = sys_->counters(copy.addr()).value();
    EXPECT_EQ(c.dead_lettered, 1u);
    EXPECT_EQ(c.accounted(), 1u);
    EXPECT_NE(copy.path().find('$'), std::string::npos) << "path still printable";
}

// ---- shutdown ------------------------------------------------------------------

struct spawn_kids {
    int n;
};
class tagged_parent : public actor<spawn_kids> {
public:
    tagged_parent(record* r, std::string tag) : r_(r), tag_(std::move(tag)) {}
    void on(spawn_kids& m) {
        for (int i = 0; i < m.n; ++i) {
            (void)spawn_child<recorder>(*this, "", r_, tag_ + "/" + std::to_string(i));
        }
    }
    void on_stop(const error&) override { r_->events.push_back("stop " + tag_); }

private:
    record* r_;
    std::string tag_;
};

TEST_F(LifecycleTest, ShutdownIsOrderedChildrenFirstNewestFirst) {
    record& rec = new_record();
    auto p1 = sys_->spawn<tagged_parent>(&rec, std::string("p1"));
    auto p2 = sys_->spawn<tagged_parent>(&rec, std::string("p2"));
    auto solo = sys_->spawn<recorder>(&rec, std::string("solo"));
    EXPECT_TRUE(p1.tell(spawn_kids{2}));
    EXPECT_TRUE(p2.tell(spawn_kids{2}));
    run();
    EXPECT_EQ(sys_->live_actors(), 7);
    ASSERT_TRUE(shutdown());
    EXPECT_EQ(rec.events,
              (std::vector<std::string>{"stop solo", "stop p2/1", "stop p2/0", "stop p2",
                                        "stop p1/1", "stop p1/0", "stop p1"}));
    EXPECT_TRUE(p1.addr().is_terminated());
    EXPECT_TRUE(solo.addr().is_terminated());
}

TEST_F(LifecycleTest, LiveActorsReturnsToZero) {
    record& rec = new_record();
    EXPECT_EQ(sys_->live_actors(), 0);
    std::vector<actor_ref<rec_proto>> refs;
    refs.reserve(10);
    for (int i = 0; i < 10; ++i) {
        refs.push_back(sys_->spawn<recorder>(&rec));
    }
    EXPECT_EQ(sys_->live_actors(), 10);
    for (int i = 0; i < 5; ++i) {
        refs[static_cast<std::size_t>(i)].stop();
    }
    run();
    EXPECT_EQ(sys_->live_actors(), 5);
    auto* raw = sys_.get();
    ASSERT_TRUE(shutdown());
    (void)raw;
    EXPECT_EQ(rec.stops, 10);
    // Refs outlive the system's actors (not the system): they still compare.
    EXPECT_TRUE(refs[9].addr().is_terminated());
}

TEST_F(LifecycleTest, ShutdownIsIdempotentAndLaterSendsAreReceiverDown) {
    record& rec = new_record();
    auto a = sys_->spawn<recorder>(&rec);
    std::atomic<bool> done{false};
    std::thread t([&] {
        EXPECT_TRUE(sys_->shutdown(std::chrono::seconds(30)));
        EXPECT_TRUE(sys_->shutdown(std::chrono::seconds(30)));
        done.store(true);
    });
    while (!done.load()) {
        ex_.run_until_idle();
        std::this_thread::yield();
    }
    t.join();
    EXPECT_EQ(sys_->live_actors(), 0);
    auto r = a.tell(ping{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::receiver_down);
}

} // namespace
} // namespace troupe
