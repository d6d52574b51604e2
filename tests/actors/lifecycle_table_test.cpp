// Part of troupe. See LICENSE at the repository root.
// The lifecycle table of detail/cell.hpp, row by row: every system message
// against the states it can meet (deterministic: manual executor and clock).

#include <troupe/actors/awaitable.hpp>

#include "test_support.hpp"

#include <coroutine>
#include <map>
#include <optional>
#include <stdexcept>
#include <stop_token>

namespace troupe {
namespace {

using namespace test_support;
using strings = std::vector<std::string>;

std::string code_of(const error& e) { return std::string(to_string(e.code())); }

/// What the actors of one test saw. Only touched on the test thread (the
/// manual executor runs every actor there).
struct life_log {
    struct seen {
        std::string by;
        actor_addr source;
        error cause;
    };
    strings events; // "<tag>: <what>"
    std::map<std::string, std::stop_token> tokens;
    std::map<std::string, int> constructed;
    std::map<std::string, int> idles;
    std::vector<seen> downs;
    std::vector<seen> exits;
};

/// A custom awaitable whose wake token the test holds.
struct gate_state {
    wake_token token;
    int wakes = 0;
};
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, see .clang-tidy
class gate final : public awaitable {
public:
    explicit gate(gate_state* s) noexcept : s_(s) {}
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        h_ = h;
        s_->token = register_with_current_actor();
    }
    bool await_resume() const noexcept { return woke_; }
    void on_wake() override {
        ++s_->wakes;
        woke_ = true;
        h_.resume();
    }
    void on_cancel(const error&) override { h_.resume(); }

private:
    gate_state* s_;
    std::coroutine_handle<> h_;
    bool woke_ = false;
};

struct bump {
    int n = 1;
};
struct fail_now {
    std::string why = "boom";
};
struct read_total {
    using reply_type = int;
};
struct grab_token {};
struct watch {
    actor_addr who;
};
struct unwatch {
    actor_addr who;
};
struct link_to {
    actor_addr who;
};
/// A delayed bump{100} and a periodic bump{1000}, both to itself.
struct arm_timers {
    duration delay;
};
struct nap {
    duration d;
};
struct wait_gate {
    gate_state* g;
    std::string name;
};
struct idle_after {
    duration d;
};
using probe_proto = std::variant<bump, fail_now, read_total, grab_token, watch, unwatch, link_to,
                                 arm_timers, nap, wait_gate, idle_after>;

/// Logs its lifecycle; its state is a running total.
class probe : public actor<probe_proto> {
public:
    probe(life_log* log, std::string tag) : log_(log), tag_(std::move(tag)) {
        ++log_->constructed[tag_];
    }
    void on_start() override { add("start"); }
    void on_stop(const error& cause) override { add("stop " + code_of(cause)); }
    void on(bump& b) { total_ += b.n; }
    void on(fail_now& f) { throw std::runtime_error(f.why); }
    int on(read_total&) { return total_; }
    void on(grab_token&) { log_->tokens[tag_] = stop_token(); }
    void on(watch& w) { monitor(w.who); }
    void on(unwatch& w) { demonitor(w.who); }
    void on(link_to& l) { link(l.who); }
    void on(arm_timers& a) {
        (void)delayed_tell(self(), a.delay, bump{100});
        (void)periodic_tell(self(), a.delay, bump{1000});
    }
    task<> on(nap& n) {
        add("nap");
        auto woke = co_await sleep(n.d);
        add(woke ? std::string("nap done") : "nap " + code_of(woke.error()));
    }
    task<> on(wait_gate& w) {
        const std::string name = w.name;
        add("wait " + name);
        const bool woke = co_await gate(w.g);
        add((woke ? "woken " : "cancelled ") + name);
    }
    void on(idle_after& i) { set_idle_timeout(i.d); }
    void on_down(const down_msg& d) override {
        log_->downs.push_back({tag_, d.source, d.cause});
        add("down " + code_of(d.cause));
    }
    void on_exit(const exit_msg& e) override {
        log_->exits.push_back({tag_, e.source, e.cause});
        add("exit " + code_of(e.cause));
    }
    void on_idle() override { ++log_->idles[tag_]; }

private:
    void add(const std::string& what) { log_->events.push_back(tag_ + ": " + what); }
    life_log* log_;
    std::string tag_;
    int total_ = 0;
};

/// How a `decider` answers `on_child_failed`.
struct decider_config {
    child_decision decision = child_decision::stop;
    std::optional<error> throw_error; // throw error_exception(*throw_error)
    bool throw_plain = false;         // throw std::runtime_error("plain")
    std::vector<std::pair<actor_addr, error>> failures;
    std::vector<std::size_t> events_before; // life_log::events.size() at each decision
};

class decider;
struct spawn_probe {
    using reply_type = actor_ref<probe_proto>;
    std::string name; // empty: unnamed
    std::string tag;
    spawn_options opts;
};
struct do_restart {
    actor_addr child;
    error cause;
};
struct do_resume {
    actor_addr child;
};
struct do_stop {
    actor_addr child;
    error cause;
};
struct do_group_restart {
    std::vector<actor_addr> children;
    error cause;
};
struct spawn_decider;
using decider_proto = std::variant<spawn_probe, spawn_decider, do_restart, do_resume, do_stop,
                                   do_group_restart, fail_now, watch, link_to>;
struct spawn_decider {
    using reply_type = actor_ref<decider_proto>;
    decider_config* cfg;
    std::string tag;
};

/// A parent that decides about its children per its `decider_config` and
/// drives them through the protected control surface.
class decider : public actor<decider_proto> {
public:
    decider(life_log* log, decider_config* cfg, std::string tag)
        : log_(log), cfg_(cfg), tag_(std::move(tag)) {}
    void on_start() override { add("start"); }
    void on_stop(const error& cause) override { add("stop " + code_of(cause)); }
    child_decision on_child_failed(const actor_addr& child, const error& cause) override {
        cfg_->failures.emplace_back(child, cause);
        cfg_->events_before.push_back(log_->events.size());
        if (cfg_->throw_error) {
            throw error_exception(*cfg_->throw_error);
        }
        if (cfg_->throw_plain) {
            throw std::runtime_error("plain");
        }
        return cfg_->decision;
    }
    actor_ref<probe_proto> on(spawn_probe& m) {
        return spawn_named<probe>(m.name, m.opts, log_, m.tag);
    }
    actor_ref<decider_proto> on(spawn_decider& m) { return spawn<decider>(log_, m.cfg, m.tag); }
    void on(do_restart& m) { restart_child(m.child, m.cause); }
    void on(do_resume& m) { resume_child(m.child); }
    void on(do_stop& m) { stop_child(m.child, m.cause); }
    void on(do_group_restart& m) { restart_children(m.children, m.cause); }
    void on(fail_now& f) { throw std::runtime_error(f.why); }
    void on(watch& w) { monitor(w.who); }
    void on(link_to& l) { link(l.who); }
    void on_down(const down_msg& d) override { log_->downs.push_back({tag_, d.source, d.cause}); }
    void on_exit(const exit_msg& e) override { log_->exits.push_back({tag_, e.source, e.cause}); }

private:
    void add(const std::string& what) { log_->events.push_back(tag_ + ": " + what); }
    life_log* log_;
    decider_config* cfg_;
    std::string tag_;
};

class LifecycleTableTest : public ManualSystemTest {
protected:
    template <class R>
    R reply(ask_handle<R> h) {
        run();
        auto r = h.try_get();
        if (!r || !*r) {
            ADD_FAILURE() << "no reply";
            return R{};
        }
        return std::move(**r);
    }
    decider_config& new_config() { return configs_.emplace_back(); }
    actor_ref<decider_proto> parent(decider_config& cfg, const std::string& tag = "p",
                                    const spawn_options& opts = {}) {
        auto p = sys_->spawn_with<decider>(opts, &log_, &cfg, tag);
        run();
        return p;
    }
    actor_ref<probe_proto> kid(const actor_ref<decider_proto>& p, const std::string& tag,
                               std::string name = {}, spawn_options opts = {}) {
        return reply(p.ask(spawn_probe{std::move(name), tag, std::move(opts)}, 1s));
    }
    actor_ref<probe_proto> top(const std::string& tag, const spawn_options& opts = {}) {
        auto a = sys_->spawn_with<probe>(opts, &log_, tag);
        run();
        return a;
    }
    int total(const actor_ref<probe_proto>& a) { return reply(a.ask(read_total{}, 1s)); }
    static spawn_options trapping() {
        spawn_options o;
        o.trap_exits = true;
        return o;
    }
    static error exit_of(const actor_addr& a) {
        auto c = a.exit_cause();
        if (!c) {
            ADD_FAILURE() << a.path() << ": " << c.error();
            return error{errc::unsupported, "not terminated"};
        }
        return *c;
    }

    std::deque<decider_config> configs_; // destroyed after the system (TearDown)
    life_log log_;
};

// ---- stop(cause, origin) ------------------------------------------------------------

TEST_F(LifecycleTableTest, StopOfAFreshActorRunsOnStartThenStops) {
    auto a = sys_->spawn<probe>(&log_, std::string("a"));
    EXPECT_TRUE(a.tell(bump{}));
    EXPECT_TRUE(a.stop(error{errc::stopped, "early"}));
    run();
    EXPECT_EQ(log_.events, (strings{"a: start", "a: stop stopped"}));
    ASSERT_TRUE(a.addr().is_terminated());
    const error cause = exit_of(a.addr());
    EXPECT_EQ(cause.code(), errc::stopped);
    EXPECT_EQ(cause.message(), "early");
    EXPECT_EQ(sys_->counters(a.addr())->dead_lettered, 1u) << "the bump queued behind the stop";
}

TEST_F(LifecycleTableTest, StopOfARunningActorStopsChildrenNewestFirstThenItself) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k1 = kid(p, "k1");
    auto k2 = kid(p, "k2");
    auto k3 = kid(p, "k3");
    log_.events.clear();
    EXPECT_TRUE(p.stop(error{errc::stopped, "bye"}));
    run();
    EXPECT_EQ(log_.events, (strings{"k3: stop stopped", "k2: stop stopped", "k1: stop stopped",
                                    "p: stop stopped"}));
    for (const auto& a : {k1.addr(), k2.addr(), k3.addr(), p.addr()}) {
        const error cause = exit_of(a);
        EXPECT_EQ(cause.code(), errc::stopped) << a.path();
        EXPECT_EQ(cause.message(), "bye") << a.path();
    }
    EXPECT_TRUE(cfg.failures.empty()) << "a stop from the parent is no failure";
    EXPECT_EQ(sys_->live_actors(), 0);
}

TEST_F(LifecycleTableTest, StopOfAFailedActorEndsWithItsFailureNotTheStopsCause) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto outside = kid(p, "outside");
    auto parental = kid(p, "parental");
    EXPECT_TRUE(outside.tell(fail_now{"outside broke"}));
    EXPECT_TRUE(parental.tell(fail_now{"parental broke"}));
    run();
    ASSERT_EQ(cfg.failures.size(), 2u);
    ASSERT_FALSE(outside.addr().is_terminated()) << "deferred: it waits, failed";
    ASSERT_FALSE(parental.addr().is_terminated());
    log_.events.clear();
    EXPECT_TRUE(outside.stop(error{errc::stopped, "from outside"})); // a third party
    EXPECT_TRUE(p.tell(do_stop{parental.addr(), error{errc::stopped, "from the parent"}}));
    run();
    ASSERT_TRUE(outside.addr().is_terminated());
    ASSERT_TRUE(parental.addr().is_terminated());
    const error o = exit_of(outside.addr());
    EXPECT_EQ(o.code(), errc::exception);
    EXPECT_EQ(o.message(), "outside broke");
    const error q = exit_of(parental.addr());
    EXPECT_EQ(q.code(), errc::exception);
    EXPECT_EQ(q.message(), "parental broke");
    EXPECT_EQ(log_.events, (strings{"outside: stop exception", "parental: stop exception"}))
        << "on_stop sees the failure too";
    EXPECT_EQ(cfg.failures.size(), 2u) << "no second report";
    EXPECT_FALSE(p.addr().is_terminated());
}

TEST_F(LifecycleTableTest, StopWhileStoppingIsIgnoredTheFirstCauseSticks) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(p.stop(error{errc::stopped, "first"}));
    ASSERT_TRUE(ex_.run_once()); // p begins its ordered stop: it waits for k
    ASSERT_FALSE(p.addr().is_terminated());
    EXPECT_TRUE(p.stop(error{errc::timeout, "second"}));
    run();
    EXPECT_EQ(log_.events, (strings{"k: stop stopped", "p: stop stopped"}));
    const error cause = exit_of(p.addr());
    EXPECT_EQ(cause.code(), errc::stopped);
    EXPECT_EQ(cause.message(), "first");
}

TEST_F(LifecycleTableTest, StopOfARestartingActorBecomesAStop) {
    auto& top_cfg = new_config();
    auto& mid_cfg = new_config();
    auto p = parent(top_cfg);
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto g = kid(mid, "g");
    log_.events.clear();
    EXPECT_TRUE(p.tell(do_restart{mid.addr(), error{errc::stopped, "refresh"}}));
    ASSERT_TRUE(ex_.run_once()); // p posts the restart
    ASSERT_TRUE(ex_.run_once()); // mid begins tearing down: it waits for g
    ASSERT_TRUE(log_.events.empty()) << ::testing::PrintToString(log_.events);
    EXPECT_TRUE(mid.stop(error{errc::stopped, "for good"})); // while restarting
    run();
    ASSERT_TRUE(mid.addr().is_terminated()) << "the stop wins over the rebuild";
    const error cause = exit_of(mid.addr());
    EXPECT_EQ(cause.code(), errc::stopped);
    EXPECT_EQ(log_.events.size(), 2u) << ::testing::PrintToString(log_.events);
    EXPECT_EQ(std::count(log_.events.begin(), log_.events.end(), "mid: start"), 0)
        << "not rebuilt: " << ::testing::PrintToString(log_.events);
    EXPECT_TRUE(g.addr().is_terminated());
    EXPECT_FALSE(p.addr().is_terminated());
}

TEST_F(LifecycleTableTest, StopOfAHaltedActorTerminatesIt) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto a = kid(p, "a");
    auto b = kid(p, "b");
    log_.events.clear();
    EXPECT_TRUE(p.tell(do_group_restart{{a.addr(), b.addr()}, error{errc::stopped, "group"}}));
    ASSERT_TRUE(ex_.run_once()); // p halts the newest member first: b
    ASSERT_TRUE(ex_.run_once()); // b tears down and halts
    ASSERT_EQ(log_.events, (strings{"b: stop stopped"}));
    ASSERT_FALSE(b.addr().is_terminated()) << "halted, not terminated";
    EXPECT_TRUE(b.stop(error{errc::cancelled, "while halted"}));
    run();
    ASSERT_TRUE(b.addr().is_terminated());
    EXPECT_EQ(exit_of(b.addr()).code(), errc::cancelled);
    EXPECT_EQ(log_.events, (strings{"b: stop stopped", "a: stop stopped", "a: start"}))
        << "b's on_stop ran once (at the halt); the group goes on with a";
    EXPECT_FALSE(a.addr().is_terminated());
    EXPECT_FALSE(p.addr().is_terminated());
    EXPECT_EQ(sys_->live_actors(), 2);
}

// ---- kill(cause) ----------------------------------------------------------------------

TEST_F(LifecycleTableTest, KillOvertakesAQueuedStop) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(p.stop(error{errc::stopped, "polite"}));
    EXPECT_TRUE(p.addr().kill(error{errc::timeout, "hurry"}));
    run();
    EXPECT_TRUE(log_.events.empty()) << "no on_stop, neither for it nor for its children: "
                                     << ::testing::PrintToString(log_.events);
    const error cause = exit_of(p.addr());
    EXPECT_EQ(cause.code(), errc::killed);
    ASSERT_NE(cause.cause(), nullptr);
    EXPECT_EQ(cause.cause()->code(), errc::timeout);
    EXPECT_EQ(cause.cause()->message(), "hurry");
    const error kid_cause = exit_of(k.addr());
    EXPECT_EQ(kid_cause.code(), errc::killed) << "children are killed too";
    EXPECT_EQ(kid_cause.root_cause().code(), errc::timeout);
    EXPECT_EQ(sys_->live_actors(), 0);
}

TEST_F(LifecycleTableTest, KillOfAFailedActorEndsKilled) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto k = kid(p, "k");
    EXPECT_TRUE(k.tell(fail_now{}));
    run();
    ASSERT_FALSE(k.addr().is_terminated());
    log_.events.clear();
    EXPECT_TRUE(k.addr().kill(error{errc::stopped, "enough"}));
    run();
    ASSERT_TRUE(k.addr().is_terminated());
    const error cause = exit_of(k.addr());
    EXPECT_EQ(cause.code(), errc::killed);
    ASSERT_NE(cause.cause(), nullptr);
    EXPECT_EQ(cause.cause()->message(), "enough");
    EXPECT_TRUE(log_.events.empty()) << ::testing::PrintToString(log_.events);
}

// ---- cancel(cause): the stop token --------------------------------------------------

TEST_F(LifecycleTableTest, StopSignalsTheTokenOnTheCallingThreadBeforeTheActorsTurn) {
    auto by_ref = top("ref");
    auto by_addr = top("addr");
    auto by_kill = top("kill");
    for (const auto& a : {by_ref, by_addr, by_kill}) {
        EXPECT_TRUE(a.tell(grab_token{}));
    }
    run();
    ASSERT_EQ(log_.tokens.size(), 3u);
    for (auto& [tag, token] : log_.tokens) {
        EXPECT_TRUE(token.stop_possible()) << tag;
        EXPECT_FALSE(token.stop_requested()) << tag;
    }
    EXPECT_TRUE(by_ref.stop(error{errc::stopped, "by ref"}));
    EXPECT_TRUE(log_.tokens["ref"].stop_requested()) << "actor_ref::stop signals at once";
    EXPECT_FALSE(log_.tokens["addr"].stop_requested());
    EXPECT_TRUE(by_addr.addr().stop()); // a normal stop signals too
    EXPECT_TRUE(log_.tokens["addr"].stop_requested()) << "actor_addr::stop signals at once";
    EXPECT_TRUE(by_kill.addr().kill());
    EXPECT_TRUE(log_.tokens["kill"].stop_requested()) << "actor_addr::kill signals at once";
    EXPECT_FALSE(by_ref.addr().is_terminated()) << "the stop itself waits for the actor's turn";
    EXPECT_FALSE(by_addr.addr().is_terminated());
    EXPECT_FALSE(by_kill.addr().is_terminated());
    run();
    EXPECT_TRUE(by_ref.addr().is_terminated());
    EXPECT_TRUE(by_addr.addr().is_terminated());
    EXPECT_TRUE(by_kill.addr().is_terminated());
}

TEST_F(LifecycleTableTest, ParentsStopCancelsTheChildsTokenAndAwaitAtOnce) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    const std::size_t ask_timers = clk_.pending(); // the deadline list of kid()'s ask
    EXPECT_TRUE(k.tell(grab_token{}));
    EXPECT_TRUE(k.tell(nap{1h}));
    run();
    ASSERT_EQ(log_.events.back(), "k: nap");
    log_.events.clear();
    EXPECT_TRUE(p.stop());
    ASSERT_TRUE(ex_.run_once()); // p's turn only
    EXPECT_TRUE(log_.tokens["k"].stop_requested())
        << "the parent's stop reaches its child's token before the child's turn";
    run();
    EXPECT_EQ(log_.events, (strings{"k: nap cancelled", "k: stop none", "p: stop none"}));
    EXPECT_EQ(clk_.pending(), ask_timers) << "the sleep's timer went with the await";
}

// ---- restart(cause) / resume ----------------------------------------------------------

TEST_F(LifecycleTableTest, RestartRebuildsTheBehaviourKeepsTheMailboxAndCancelsTimers) {
    auto& cfg = new_config();
    cfg.decision = child_decision::restart;
    auto p = parent(cfg);
    auto k = kid(p, "k");
    const std::size_t ask_timers = clk_.pending(); // the deadline list of kid()'s ask
    log_.events.clear();
    EXPECT_TRUE(k.tell(bump{5}));
    EXPECT_TRUE(k.tell(arm_timers{5s}));
    EXPECT_TRUE(k.tell(fail_now{"broke"}));
    EXPECT_TRUE(k.tell(bump{1})); // queued behind the failure: kept
    EXPECT_TRUE(k.tell(bump{2}));
    run();
    EXPECT_EQ(log_.events, (strings{"k: stop exception", "k: start"}))
        << "on_stop ran with the failure, then a new incarnation started";
    EXPECT_EQ(log_.constructed["k"], 2);
    ASSERT_FALSE(k.addr().is_terminated());
    EXPECT_EQ(clk_.pending(), ask_timers) << "the old incarnation's timers were cancelled";
    advance(1h);
    EXPECT_EQ(total(k), 3) << "a fresh state handled what was queued behind the failure";
    ASSERT_EQ(cfg.failures.size(), 1u);
    EXPECT_EQ(cfg.failures[0].first, k.addr());
    EXPECT_EQ(cfg.failures[0].second.message(), "broke");
}

TEST_F(LifecycleTableTest, RestartOfARunningChildTearsItDownInPlace) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    EXPECT_TRUE(k.tell(bump{5}));
    EXPECT_TRUE(k.tell(grab_token{}));
    run();
    log_.events.clear();
    EXPECT_TRUE(p.tell(do_restart{k.addr(), error{errc::stopped, "refresh"}}));
    run();
    EXPECT_EQ(log_.events, (strings{"k: stop stopped", "k: start"}));
    EXPECT_EQ(total(k), 0);
    EXPECT_TRUE(k.tell(grab_token{}));
    run();
    EXPECT_FALSE(log_.tokens["k"].stop_requested()) << "a new incarnation, a new token";
    EXPECT_TRUE(cfg.failures.empty());
}

TEST_F(LifecycleTableTest, ResumeAfterAFailureKeepsTheStateAndGoesOn) {
    auto& cfg = new_config();
    cfg.decision = child_decision::resume;
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(k.tell(bump{5}));
    EXPECT_TRUE(k.tell(fail_now{}));
    EXPECT_TRUE(k.tell(bump{1}));
    run();
    EXPECT_TRUE(log_.events.empty())
        << "neither stopped nor restarted: " << ::testing::PrintToString(log_.events);
    EXPECT_EQ(total(k), 6);
    EXPECT_EQ(log_.constructed["k"], 1);
    EXPECT_EQ(cfg.failures.size(), 1u);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::handler_failed), 1u);
    // resume of a running actor: ignored.
    EXPECT_TRUE(p.tell(do_resume{k.addr()}));
    run();
    EXPECT_TRUE(log_.events.empty());
    EXPECT_EQ(total(k), 6);
}

// ---- child_failed: the parent's decisions ----------------------------------------------

TEST_F(LifecycleTableTest, DecisionStopStopsTheChildWithItsFailure) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(k.tell(fail_now{"broke"}));
    EXPECT_TRUE(k.tell(bump{}));
    run();
    ASSERT_EQ(cfg.failures.size(), 1u);
    EXPECT_EQ(cfg.failures[0].first, k.addr());
    EXPECT_EQ(cfg.failures[0].second.code(), errc::exception);
    ASSERT_TRUE(k.addr().is_terminated());
    const error cause = exit_of(k.addr());
    EXPECT_EQ(cause.code(), errc::exception);
    EXPECT_EQ(cause.message(), "broke");
    EXPECT_EQ(log_.events, (strings{"k: stop exception"}));
    EXPECT_FALSE(p.addr().is_terminated());
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::handler_failed), 1u);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::receiver_down), 1u);
}

TEST_F(LifecycleTableTest, DecisionEscalateStopsTheChildAndFailsTheParent) {
    auto& top_cfg = new_config();
    auto& mid_cfg = new_config();
    mid_cfg.decision = child_decision::escalate;
    auto p = parent(top_cfg, "top");
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto k = kid(mid, "k");
    log_.events.clear();
    EXPECT_TRUE(k.tell(fail_now{"deep"}));
    run();
    ASSERT_TRUE(k.addr().is_terminated());
    EXPECT_EQ(exit_of(k.addr()).message(), "deep");
    ASSERT_EQ(top_cfg.failures.size(), 1u);
    EXPECT_EQ(top_cfg.failures[0].first, mid.addr());
    const error& esc = top_cfg.failures[0].second;
    EXPECT_EQ(esc.code(), errc::escalated);
    ASSERT_NE(esc.cause(), nullptr);
    EXPECT_EQ(esc.cause()->code(), errc::exception);
    EXPECT_EQ(esc.cause()->message(), "deep");
    ASSERT_TRUE(mid.addr().is_terminated()) << "top's decision (stop) ends it";
    EXPECT_EQ(exit_of(mid.addr()).code(), errc::escalated);
    EXPECT_EQ(log_.events, (strings{"k: stop exception", "mid: stop escalated"}));
    EXPECT_FALSE(p.addr().is_terminated());
}

TEST_F(LifecycleTableTest, DecisionEscalateStopsEveryChildNewestFirstBeforeTheParentHears) {
    auto& top_cfg = new_config();
    auto& mid_cfg = new_config();
    mid_cfg.decision = child_decision::escalate;
    auto p = parent(top_cfg, "top");
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto k1 = kid(mid, "k1");
    auto k2 = kid(mid, "k2");
    auto k3 = kid(mid, "k3");
    log_.events.clear();
    EXPECT_TRUE(k2.tell(fail_now{"deep"}));
    run();
    EXPECT_EQ(log_.events, (strings{"k2: stop exception", "k3: stop escalated",
                                    "k1: stop escalated", "mid: stop escalated"}));
    ASSERT_EQ(top_cfg.failures.size(), 1u);
    EXPECT_EQ(top_cfg.failures[0].first, mid.addr());
    EXPECT_EQ(top_cfg.failures[0].second.code(), errc::escalated);
    ASSERT_EQ(top_cfg.events_before.size(), 1u);
    EXPECT_EQ(top_cfg.events_before[0], 3u) << "every child had stopped when top decided";
    EXPECT_TRUE(k1.addr().is_terminated());
    EXPECT_TRUE(k3.addr().is_terminated());
    EXPECT_FALSE(p.addr().is_terminated());
}

TEST_F(LifecycleTableTest, DecisionDeferLeavesTheChildFailedWithItsMailbox) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(k.tell(bump{5}));
    EXPECT_TRUE(k.tell(fail_now{}));
    EXPECT_TRUE(k.tell(bump{1}));
    run();
    ASSERT_FALSE(k.addr().is_terminated());
    EXPECT_EQ(sys_->counters(k.addr())->queued, 1u) << "user messages wait";
    EXPECT_TRUE(log_.events.empty());
    advance(1h);
    EXPECT_EQ(sys_->counters(k.addr())->queued, 1u);
    // Later, the parent acts: a restart.
    EXPECT_TRUE(p.tell(do_restart{k.addr(), error{errc::stopped, "later"}}));
    run();
    EXPECT_EQ(log_.events, (strings{"k: stop stopped", "k: start"}));
    EXPECT_EQ(total(k), 1);
}

TEST_F(LifecycleTableTest, ThrowingFromOnChildFailedEscalatesWithTheThrownError) {
    auto& top_cfg = new_config();
    auto& mid_cfg = new_config();
    mid_cfg.throw_error = error{errc::timeout, "decider broke"};
    auto p = parent(top_cfg, "top");
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto k = kid(mid, "k");
    EXPECT_TRUE(k.tell(fail_now{"deep"}));
    run();
    ASSERT_TRUE(k.addr().is_terminated()) << "the child is stopped";
    EXPECT_EQ(exit_of(k.addr()).message(), "deep");
    ASSERT_EQ(top_cfg.failures.size(), 1u);
    EXPECT_EQ(top_cfg.failures[0].first, mid.addr());
    EXPECT_EQ(top_cfg.failures[0].second.code(), errc::timeout) << "exactly the thrown error";
    EXPECT_EQ(top_cfg.failures[0].second.message(), "decider broke");
    ASSERT_TRUE(mid.addr().is_terminated());
    EXPECT_EQ(exit_of(mid.addr()).code(), errc::timeout);
    EXPECT_EQ(exit_of(mid.addr()).message(), "decider broke");
}

TEST_F(LifecycleTableTest, ThrowingAnyExceptionFromOnChildFailedFailsTheParent) {
    auto& top_cfg = new_config();
    auto& mid_cfg = new_config();
    mid_cfg.throw_plain = true;
    auto p = parent(top_cfg, "top");
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto k = kid(mid, "k");
    EXPECT_TRUE(k.tell(fail_now{"deep"}));
    run();
    ASSERT_TRUE(k.addr().is_terminated());
    ASSERT_EQ(top_cfg.failures.size(), 1u);
    EXPECT_EQ(top_cfg.failures[0].second.code(), errc::exception);
    EXPECT_EQ(top_cfg.failures[0].second.message(), "plain");
}

TEST_F(LifecycleTableTest, ChildFailureReachingAFailedParentStopsTheChild) {
    auto& top_cfg = new_config();
    top_cfg.decision = child_decision::defer;
    auto& mid_cfg = new_config();
    mid_cfg.decision = child_decision::restart;
    auto p = parent(top_cfg, "top");
    auto mid = reply(p.ask(spawn_decider{&mid_cfg, "mid"}, 1s));
    auto k = kid(mid, "k");
    EXPECT_TRUE(mid.tell(fail_now{"mid broke"}));
    run();
    ASSERT_EQ(top_cfg.failures.size(), 1u);
    ASSERT_FALSE(mid.addr().is_terminated()) << "failed, deferred";
    EXPECT_TRUE(k.tell(fail_now{"kid broke"}));
    run();
    EXPECT_TRUE(mid_cfg.failures.empty()) << "a failed parent does not decide";
    ASSERT_TRUE(k.addr().is_terminated()) << "it stops the child instead";
    EXPECT_EQ(exit_of(k.addr()).message(), "kid broke");
}

// ---- child_exited -----------------------------------------------------------------------

TEST_F(LifecycleTableTest, ChildExitUnlistsTheChild) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k", "name");
    ASSERT_FALSE(k.addr().is_terminated());
    EXPECT_EQ(sys_->live_actors(), 2);
    EXPECT_TRUE(k.stop());
    run();
    ASSERT_TRUE(k.addr().is_terminated());
    EXPECT_EQ(sys_->live_actors(), 1);
    auto again = kid(p, "k2", "name"); // the name is free again
    ASSERT_FALSE(again.addr().is_terminated()) << exit_of(again.addr());
    EXPECT_NE(again.addr(), k.addr());
    EXPECT_EQ(again.path(), k.path());
    log_.events.clear();
    EXPECT_TRUE(p.stop());
    run();
    EXPECT_EQ(log_.events, (strings{"k2: stop none", "p: stop none"}))
        << "the ordered stop does not wait for the unlisted child";
    EXPECT_TRUE(p.addr().is_terminated());
}

// ---- monitor / link ----------------------------------------------------------------

TEST_F(LifecycleTableTest, MonitorOrLinkOfATerminatedActorIsAnsweredAtOnce) {
    auto dead = top("dead");
    auto gone = top("gone");
    EXPECT_TRUE(dead.stop(error{errc::stopped, "dead"}));
    EXPECT_TRUE(gone.stop()); // a normal exit
    run();
    auto m = top("m");
    auto t = top("t", trapping());
    auto plain = top("plain");
    auto calm = top("calm");
    EXPECT_TRUE(m.tell(watch{dead.addr()}));
    EXPECT_TRUE(t.tell(link_to{dead.addr()}));
    EXPECT_TRUE(plain.tell(link_to{dead.addr()}));
    EXPECT_TRUE(calm.tell(link_to{gone.addr()}));
    run();
    ASSERT_EQ(log_.downs.size(), 1u);
    EXPECT_EQ(log_.downs[0].by, "m");
    EXPECT_EQ(log_.downs[0].source, dead.addr());
    EXPECT_EQ(log_.downs[0].cause.code(), errc::stopped);
    EXPECT_EQ(log_.downs[0].cause.message(), "dead");
    ASSERT_EQ(log_.exits.size(), 1u);
    EXPECT_EQ(log_.exits[0].by, "t");
    EXPECT_EQ(log_.exits[0].source, dead.addr());
    EXPECT_EQ(log_.exits[0].cause.code(), errc::stopped);
    ASSERT_TRUE(plain.addr().is_terminated()) << "a dead peer's abnormal exit stops the linker";
    const error cause = exit_of(plain.addr());
    EXPECT_EQ(cause.code(), errc::linked_exit);
    ASSERT_NE(cause.cause(), nullptr);
    EXPECT_EQ(cause.cause()->code(), errc::stopped);
    EXPECT_FALSE(calm.addr().is_terminated()) << "a dead peer's normal exit stops nobody";
    EXPECT_FALSE(m.addr().is_terminated());
    EXPECT_FALSE(t.addr().is_terminated());
}

TEST_F(LifecycleTableTest, MonitorOrLinkOfAnEmptyAddressGivesNoproc) {
    auto m = top("m");
    auto t = top("t", trapping());
    auto plain = top("plain");
    EXPECT_TRUE(m.tell(watch{actor_addr{}}));
    EXPECT_TRUE(t.tell(link_to{actor_addr{}}));
    EXPECT_TRUE(plain.tell(link_to{actor_addr{}}));
    run();
    ASSERT_EQ(log_.downs.size(), 1u);
    EXPECT_EQ(log_.downs[0].by, "m");
    EXPECT_FALSE(log_.downs[0].source);
    EXPECT_EQ(log_.downs[0].cause.code(), errc::noproc);
    ASSERT_EQ(log_.exits.size(), 1u);
    EXPECT_EQ(log_.exits[0].by, "t");
    EXPECT_FALSE(log_.exits[0].source);
    EXPECT_EQ(log_.exits[0].cause.code(), errc::noproc);
    ASSERT_TRUE(plain.addr().is_terminated()) << "noproc is not a normal exit";
    const error cause = exit_of(plain.addr());
    EXPECT_EQ(cause.code(), errc::linked_exit);
    ASSERT_NE(cause.cause(), nullptr);
    EXPECT_EQ(cause.cause()->code(), errc::noproc);
}

TEST_F(LifecycleTableTest, MonitorsStackAndOneDemonitorRemovesOne) {
    auto target = top("target");
    auto once = top("once");
    auto twice = top("twice");
    EXPECT_TRUE(once.tell(watch{target.addr()}));
    EXPECT_TRUE(once.tell(watch{target.addr()}));
    EXPECT_TRUE(once.tell(unwatch{target.addr()}));
    EXPECT_TRUE(twice.tell(watch{target.addr()}));
    EXPECT_TRUE(twice.tell(watch{target.addr()}));
    run();
    EXPECT_TRUE(target.stop());
    run();
    auto downs_of = [&](const std::string& by) {
        return std::count_if(log_.downs.begin(), log_.downs.end(),
                             [&](const life_log::seen& s) { return s.by == by; });
    };
    EXPECT_EQ(downs_of("once"), 1) << "two monitors, one demonitor: one down";
    EXPECT_EQ(downs_of("twice"), 2) << "monitors stack";
}

TEST_F(LifecycleTableTest, LinkIsIdempotent) {
    auto t = top("t", trapping());
    auto peer = top("peer");
    EXPECT_TRUE(t.tell(link_to{peer.addr()}));
    EXPECT_TRUE(t.tell(link_to{peer.addr()}));
    EXPECT_TRUE(peer.tell(link_to{t.addr()})); // and the other way round
    run();
    EXPECT_TRUE(peer.tell(fail_now{}));
    run();
    ASSERT_TRUE(peer.addr().is_terminated());
    ASSERT_EQ(log_.exits.size(), 1u) << "one link, one exit signal";
    EXPECT_EQ(log_.exits[0].cause.code(), errc::exception);
}

// ---- exit_signal -----------------------------------------------------------------

TEST_F(LifecycleTableTest, TrapExitsReceivesNormalAndAbnormalExits) {
    auto t = top("t", trapping());
    auto normal = top("normal");
    auto failing = top("failing");
    auto stopped = top("stopped");
    for (const auto& peer : {normal, failing, stopped}) {
        EXPECT_TRUE(t.tell(link_to{peer.addr()}));
    }
    run();
    EXPECT_TRUE(normal.stop());
    EXPECT_TRUE(failing.tell(fail_now{}));
    EXPECT_TRUE(stopped.stop(error{errc::stopped, "x"}));
    run();
    ASSERT_EQ(log_.exits.size(), 3u);
    std::map<actor_addr, errc> seen;
    for (const auto& e : log_.exits) {
        EXPECT_EQ(e.by, "t");
        seen[e.source] = e.cause.code();
    }
    EXPECT_EQ(seen[normal.addr()], errc::none);
    EXPECT_EQ(seen[failing.addr()], errc::exception);
    EXPECT_EQ(seen[stopped.addr()], errc::stopped);
    EXPECT_FALSE(t.addr().is_terminated());
}

TEST_F(LifecycleTableTest, WithoutTrappingANormalExitIsIgnoredAnAbnormalOneStops) {
    auto a = top("a");
    auto b = top("b");
    auto normal = top("normal");
    auto failing = top("failing");
    EXPECT_TRUE(a.tell(link_to{normal.addr()}));
    EXPECT_TRUE(b.tell(link_to{failing.addr()}));
    run();
    EXPECT_TRUE(normal.stop());
    EXPECT_TRUE(failing.tell(fail_now{"peer broke"}));
    run();
    EXPECT_FALSE(a.addr().is_terminated());
    ASSERT_TRUE(b.addr().is_terminated());
    const error cause = exit_of(b.addr());
    EXPECT_EQ(cause.code(), errc::linked_exit);
    ASSERT_NE(cause.cause(), nullptr);
    EXPECT_EQ(cause.cause()->message(), "peer broke");
    EXPECT_TRUE(log_.exits.empty());
    EXPECT_NE(std::find(log_.events.begin(), log_.events.end(), "b: stop linked_exit"),
              log_.events.end());
}

// ---- down / exit_signal to a failed or stopping actor ------------------------------

TEST_F(LifecycleTableTest, DownReachesAFailedActorsBehaviour) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto w = kid(p, "w");
    auto target = top("target");
    EXPECT_TRUE(w.tell(watch{target.addr()}));
    EXPECT_TRUE(w.tell(fail_now{}));
    run();
    ASSERT_FALSE(w.addr().is_terminated());
    EXPECT_TRUE(target.stop(error{errc::stopped, "x"}));
    run();
    EXPECT_TRUE(p.tell(do_resume{w.addr()}));
    run();
    ASSERT_EQ(log_.downs.size(), 1u);
    EXPECT_EQ(log_.downs[0].by, "w");
    EXPECT_EQ(log_.downs[0].cause.code(), errc::stopped);
}

// A trapping actor that is failed (its parent deferred) still hears exits: the
// behaviour is kept, as for down.
TEST_F(LifecycleTableTest, TrappedExitReachesAFailedActorsBehaviour) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto t = kid(p, "t", {}, trapping());
    auto peer = top("peer");
    EXPECT_TRUE(t.tell(link_to{peer.addr()}));
    EXPECT_TRUE(t.tell(fail_now{}));
    run();
    ASSERT_FALSE(t.addr().is_terminated());
    EXPECT_TRUE(peer.stop(error{errc::stopped, "x"}));
    run();
    EXPECT_TRUE(p.tell(do_resume{t.addr()}));
    run();
    ASSERT_EQ(log_.exits.size(), 1u);
    EXPECT_EQ(log_.exits[0].source, peer.addr());
    EXPECT_EQ(log_.exits[0].cause.code(), errc::stopped);
}

/// A trapping parent `p` with one child, linked to `peer` and monitoring
/// `watched`; both exit while `p` waits for its child in its ordered stop.
class StoppingObserverTest : public LifecycleTableTest {
protected:
    void exit_both_while_p_stops() {
        auto& cfg = new_config();
        p_ = parent(cfg, "p", trapping());
        k_ = kid(p_, "k");
        peer_ = top("peer");
        watched_ = top("watched");
        EXPECT_TRUE(p_.tell(link_to{peer_.addr()}));
        EXPECT_TRUE(p_.tell(watch{watched_.addr()}));
        run();
        EXPECT_TRUE(peer_.stop(error{errc::stopped, "peer"}));
        EXPECT_TRUE(watched_.stop(error{errc::stopped, "watched"}));
        EXPECT_TRUE(p_.stop());
        ASSERT_TRUE(ex_.run_once()); // peer exits: p's exit signal queues behind its stop
        ASSERT_TRUE(ex_.run_once()); // watched exits: p's down queues too
        ASSERT_TRUE(ex_.run_once()); // p: stop (now stopping, waiting for k), exit, down
        ASSERT_FALSE(p_.addr().is_terminated());
        ASSERT_FALSE(k_.addr().is_terminated());
        run();
        ASSERT_TRUE(p_.addr().is_terminated());
    }
    actor_ref<decider_proto> p_;
    actor_ref<probe_proto> k_;
    actor_ref<probe_proto> peer_;
    actor_ref<probe_proto> watched_;
};

TEST_F(StoppingObserverTest, DownReachesAStoppingActorsBehaviour) {
    exit_both_while_p_stops();
    ASSERT_EQ(log_.downs.size(), 1u);
    EXPECT_EQ(log_.downs[0].by, "p");
    EXPECT_EQ(log_.downs[0].source, watched_.addr());
}

// Stopping, waiting for its children, a trapping actor still hears exits.
TEST_F(StoppingObserverTest, TrappedExitReachesAStoppingActorsBehaviour) {
    exit_both_while_p_stops();
    ASSERT_EQ(log_.exits.size(), 1u);
    EXPECT_EQ(log_.exits[0].by, "p");
    EXPECT_EQ(log_.exits[0].source, peer_.addr());
    EXPECT_EQ(log_.exits[0].cause.message(), "peer");
}

/// p -> mid -> g -> gg: mid restarting (or stopping) waits two turns for g,
/// which waits for gg; the test slips one message to mid in between.
class DeepTreeTest : public LifecycleTableTest {
protected:
    void build() {
        p_ = parent(new_config(), "p");
        mid_ = reply(p_.ask(spawn_decider{&new_config(), "mid"}, 1s));
        g_ = reply(mid_.ask(spawn_decider{&new_config(), "g"}, 1s));
        gg_ = kid(g_, "gg");
        log_.events.clear();
    }
    /// Runs until mid has begun its teardown (restart) and g its stop.
    void begin_restart_of_mid() {
        EXPECT_TRUE(p_.tell(do_restart{mid_.addr(), error{errc::stopped, "refresh"}}));
        ASSERT_TRUE(ex_.run_once()); // p posts the restart
        ASSERT_TRUE(ex_.run_once()); // mid: restarting, asks g to stop
        ASSERT_TRUE(ex_.run_once()); // g: stopping, asks gg to stop
    }
    actor_ref<decider_proto> p_;
    actor_ref<decider_proto> mid_;
    actor_ref<decider_proto> g_;
    actor_ref<probe_proto> gg_;
};

TEST_F(DeepTreeTest, RestartOfAStoppingActorIsIgnored) {
    build();
    EXPECT_TRUE(mid_.stop(error{errc::stopped, "for good"}));
    ASSERT_TRUE(ex_.run_once()); // mid: stopping, asks g to stop
    ASSERT_TRUE(ex_.run_once()); // g: stopping, asks gg to stop
    EXPECT_TRUE(p_.tell(do_restart{mid_.addr(), error{errc::stopped, "refresh"}}));
    ASSERT_TRUE(ex_.run_once()); // gg stops
    ASSERT_TRUE(ex_.run_once()); // p posts the restart: mid still waits for g
    ASSERT_FALSE(g_.addr().is_terminated());
    run();
    ASSERT_TRUE(mid_.addr().is_terminated());
    EXPECT_EQ(exit_of(mid_.addr()).message(), "for good");
    EXPECT_EQ(log_.events, (strings{"gg: stop stopped", "g: stop stopped", "mid: stop stopped"}));
}

// An incarnation being torn down (restarting) hears no more downs.
TEST_F(DeepTreeTest, DownToARestartingActorIsIgnored) {
    build();
    auto watched = top("watched");
    EXPECT_TRUE(mid_.tell(watch{watched.addr()}));
    run();
    begin_restart_of_mid();
    EXPECT_TRUE(watched.stop(error{errc::stopped, "x"}));
    ASSERT_TRUE(ex_.run_once()); // gg stops
    ASSERT_TRUE(ex_.run_once()); // watched terminates: mid's down queues
    ASSERT_FALSE(g_.addr().is_terminated()) << "mid is still restarting";
    run();
    EXPECT_FALSE(mid_.addr().is_terminated());
    EXPECT_TRUE(log_.downs.empty()) << "received by " << log_.downs[0].by;
    EXPECT_EQ(std::count(log_.events.begin(), log_.events.end(), "mid: start"), 1);
}

// An incarnation being replaced does not die of its predecessor's links.
TEST_F(DeepTreeTest, ExitSignalToARestartingActorIsIgnored) {
    build();
    auto peer = top("peer");
    EXPECT_TRUE(mid_.tell(link_to{peer.addr()}));
    run();
    begin_restart_of_mid();
    EXPECT_TRUE(peer.tell(fail_now{"peer broke"}));
    ASSERT_TRUE(ex_.run_once()); // gg stops
    ASSERT_TRUE(ex_.run_once()); // peer fails
    ASSERT_FALSE(g_.addr().is_terminated()) << "mid is still restarting";
    run();
    ASSERT_TRUE(peer.addr().is_terminated());
    EXPECT_FALSE(mid_.addr().is_terminated()) << exit_of(mid_.addr());
    EXPECT_EQ(std::count(log_.events.begin(), log_.events.end(), "mid: start"), 1);
}

// ---- wake(gen) ---------------------------------------------------------------------

TEST_F(LifecycleTableTest, AStaleWakeIsIgnored) {
    auto a = top("a");
    gate_state g1;
    gate_state g2;
    EXPECT_TRUE(a.tell(wait_gate{&g1, "1"}));
    run();
    ASSERT_TRUE(g1.token);
    g1.token.wake();
    g1.token.wake(); // a second wake of the same registration: stale
    run();
    EXPECT_EQ(g1.wakes, 1);
    EXPECT_TRUE(a.tell(wait_gate{&g2, "2"}));
    run();
    g1.token.wake(); // an older registration: stale
    run();
    EXPECT_EQ(g2.wakes, 0);
    EXPECT_EQ(log_.events, (strings{"a: start", "a: wait 1", "a: woken 1", "a: wait 2"}));
    g2.token.wake();
    run();
    EXPECT_EQ(log_.events.back(), "a: woken 2");
}

TEST_F(LifecycleTableTest, ACancelledSleepsWakeDoesNotResumeTheNextIncarnation) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto k = kid(p, "k");
    log_.events.clear();
    EXPECT_TRUE(k.tell(nap{10s})); // due at t=10
    run();
    advance(4s);
    EXPECT_TRUE(p.tell(do_restart{k.addr(), error{errc::stopped, "refresh"}}));
    run();
    EXPECT_EQ(log_.events, (strings{"k: nap", "k: nap cancelled", "k: stop stopped", "k: start"}));
    log_.events.clear();
    EXPECT_TRUE(k.tell(nap{10s})); // due at t=14
    run();
    advance(6s); // t=10: the cancelled sleep's deadline
    EXPECT_EQ(log_.events, (strings{"k: nap"}));
    advance(4s); // t=14
    EXPECT_EQ(log_.events, (strings{"k: nap", "k: nap done"}));
}

// ---- idle_timeout(gen) --------------------------------------------------------------

TEST_F(LifecycleTableTest, IdleTimeoutFiresOnlyWhileRunning) {
    auto& cfg = new_config();
    cfg.decision = child_decision::defer;
    auto p = parent(cfg);
    auto k = kid(p, "k");
    EXPECT_TRUE(k.tell(idle_after{5s}));
    run();
    advance(5s);
    EXPECT_EQ(log_.idles["k"], 1) << "running: it fires";
    EXPECT_TRUE(k.tell(fail_now{}));
    run();
    ASSERT_FALSE(k.addr().is_terminated());
    advance(5s);
    advance(5s);
    advance(1h);
    EXPECT_EQ(log_.idles["k"], 1) << "failed: no on_idle";
}

// ---- requests racing with termination ---------------------------------------------

TEST_F(LifecycleTableTest, AMonitorRacingWithTerminationStillGetsDown) {
    auto target = top("target");
    auto m = top("m");
    // m runs first and queues its monitor request behind the target's stop.
    EXPECT_TRUE(m.tell(watch{target.addr()}));
    EXPECT_TRUE(target.stop(error{errc::stopped, "racing"}));
    std::optional<error> seen;
    ASSERT_TRUE(sys_->on_exit(target.addr(), [&](const error& e) { seen = e; }));
    run();
    ASSERT_TRUE(target.addr().is_terminated());
    ASSERT_EQ(log_.downs.size(), 1u);
    EXPECT_EQ(log_.downs[0].source, target.addr());
    EXPECT_EQ(log_.downs[0].cause.message(), "racing");
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->message(), "racing");
}

struct watch_myself_on_stop {
    std::optional<error>* seen;
};
class self_watcher : public actor<watch_myself_on_stop> {
public:
    explicit self_watcher(std::optional<error>* seen) : seen_(seen) {}
    void on(watch_myself_on_stop&) {}
    void on_stop(const error&) override {
        (void)system().on_exit(addr(), [s = seen_](const error& e) { *s = e; });
    }

private:
    std::optional<error>* seen_;
};

TEST_F(LifecycleTableTest, AnExitObserverAddedDuringOnStopIsStillTold) {
    std::optional<error> seen;
    auto a = sys_->spawn<self_watcher>(&seen);
    run();
    EXPECT_TRUE(a.stop(error{errc::stopped, "late observer"}));
    run();
    ASSERT_TRUE(a.addr().is_terminated());
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->message(), "late observer");
}

// ---- halt / start: a group restart through the core --------------------------------

TEST_F(LifecycleTableTest, GroupRestartHaltsNewestFirstThenStartsInStartOrder) {
    auto& cfg = new_config();
    auto p = parent(cfg);
    auto a = kid(p, "a");
    auto b = kid(p, "b");
    auto c = kid(p, "c");
    EXPECT_TRUE(a.tell(bump{1}));
    EXPECT_TRUE(c.tell(bump{3}));
    run();
    log_.events.clear();
    EXPECT_TRUE(
        p.tell(do_group_restart{{a.addr(), b.addr(), c.addr()}, error{errc::stopped, "group"}}));
    run();
    EXPECT_EQ(log_.events, (strings{"c: stop stopped", "b: stop stopped", "a: stop stopped",
                                    "a: start", "b: start", "c: start"}));
    for (const auto& k : {a, b, c}) {
        EXPECT_FALSE(k.addr().is_terminated());
        EXPECT_EQ(total(k), 0) << "rebuilt in place";
    }
    EXPECT_TRUE(cfg.failures.empty());
}

} // namespace
} // namespace troupe
