// Part of troupe. See LICENSE at the repository root.
// Behaviour switching (become / unbecome) and the stash.

#include <troupe/actors/behavior.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using test_support::ManualSystemTest;

struct item {
    int n = 0;
};
struct open_gate {};
struct close_gate {};
struct push_state {
    int tag = 0;
};
struct pop_state {};
struct get_sum {
    using reply_type = int;
};
struct crash {};
struct stash_then_throw {};
/// behavior_depth() * 1000 + stash_size()
struct probe {
    using reply_type = std::size_t;
};
using gate_proto = std::variant<item, open_gate, close_gate, push_state, pop_state, get_sum, crash,
                                stash_then_throw, probe>;

/// What a gate saw; outlives the system.
struct gate_log {
    std::vector<std::string> seen;
    std::vector<errc> stash_errors;
    std::vector<errc> become_errors;
    int builds = 0;
};

/// Closed (its class handlers): stashes items and sums. Open (a behaviour):
/// handles them; `close_gate` goes back.
class gate : public actor<gate_proto> {
public:
    explicit gate(gate_log* log) : log_(log) { ++log_->builds; }
    void on(item&) { note(stash()); }
    int on(get_sum&) {
        note(stash());
        return -1; // not sent: a stashed ask is answered when it is handled
    }
    void on(open_gate&) {
        note_become(become(open_behavior(), become_mode::replace, unstash::all));
    }
    void on(close_gate&) { log_->seen.push_back("class:close"); }
    void on(push_state& p) {
        note_become(become(behavior<gate_proto>{[this, tag = p.tag](item& i) {
                               log_->seen.push_back("state" + std::to_string(tag) + ":" +
                                                    std::to_string(i.n));
                           }},
                           become_mode::stack));
    }
    void on(pop_state&) { unbecome(); }
    void on(crash&) { throw std::runtime_error("crash"); }
    void on(stash_then_throw&) {
        note(stash());
        throw std::runtime_error("after stash");
    }
    std::size_t on(probe&) { return behavior_depth() * 1000 + stash_size(); }

private:
    behavior<gate_proto> open_behavior() {
        return behavior<gate_proto>{[this](item& i) {
                                        log_->seen.push_back("open:" + std::to_string(i.n));
                                        sum_ += i.n;
                                    },
                                    [this](get_sum&) { return sum_; },
                                    [this](close_gate&) {
                                        log_->seen.push_back("open:close");
                                        unbecome();
                                    }};
    }
    void note(const expected<void>& r) {
        if (!r) {
            log_->stash_errors.push_back(r.error().code());
        }
    }
    void note_become(const expected<void>& r) {
        if (!r) {
            log_->become_errors.push_back(r.error().code());
        }
    }
    gate_log* log_;
    int sum_ = 0;
};

class BehaviourTest : public ManualSystemTest {
protected:
    std::size_t probe_of(const actor_ref<gate_proto>& g) {
        auto h = g.ask(probe{}, 10s);
        run();
        EXPECT_TRUE(h.ready());
        auto v = h.try_get();
        return v && *v ? **v : 999999;
    }
    actor_counters counters_of(const actor_ref<gate_proto>& g) {
        auto c = sys_->counters(g.addr());
        EXPECT_TRUE(c);
        return c ? *c : actor_counters{};
    }
    std::deque<gate_log> logs_; // outlives the system (destroyed after it)
};

TEST_F(BehaviourTest, BecomeTakesOverCoveredTypesAndUnbecomePopsBack) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    ASSERT_TRUE(g.tell(push_state{1}));
    ASSERT_TRUE(g.tell(item{1}));       // state1
    ASSERT_TRUE(g.tell(close_gate{}));  // not covered by state1: the class handler
    ASSERT_TRUE(g.tell(push_state{2})); // stacked on state1
    ASSERT_TRUE(g.tell(item{2}));       // state2
    ASSERT_TRUE(g.tell(pop_state{}));   // back to state1
    ASSERT_TRUE(g.tell(item{3}));
    run();
    EXPECT_EQ(probe_of(g), 1000u);
    ASSERT_TRUE(g.tell(pop_state{})); // back to the class: it stashes items again
    ASSERT_TRUE(g.tell(pop_state{})); // nothing left: no-op
    ASSERT_TRUE(g.tell(item{4}));
    run();
    EXPECT_EQ(probe_of(g), 1u);
    EXPECT_EQ(log.seen,
              (std::vector<std::string>{"state1:1", "class:close", "state2:2", "state1:3"}));
    EXPECT_TRUE(log.become_errors.empty());
}

TEST_F(BehaviourTest, ReplaceDiscardsTheCurrentBehaviourAndTheStackIsBounded) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    for (std::size_t i = 0; i < max_behavior_depth + 1; ++i) {
        ASSERT_TRUE(g.tell(push_state{static_cast<int>(i)}));
    }
    run();
    EXPECT_EQ(log.become_errors, std::vector<errc>{errc::invalid_argument}); // the 17th
    EXPECT_EQ(probe_of(g), max_behavior_depth * 1000);
    ASSERT_TRUE(g.tell(item{7})); // the top one (tag 15) handles it
    run();
    EXPECT_EQ(log.seen, std::vector<std::string>{"state15:7"});

    // A moved-from behaviour is refused, the current one stays.
    struct mover : actor<item> {
        explicit mover(std::vector<errc>* out) : out_(out) {}
        void on(item&) {
            behavior<item> b{[](item&) {}};
            auto taken = std::move(b);
            auto ok = become(std::move(b)); // NOLINT(bugprone-use-after-move): the test
            out_->push_back(ok ? errc::none : ok.error().code());
            out_->push_back(become(std::move(taken)) ? errc::none : errc::exception);
            out_->push_back(stash() ? errc::none : errc::exception); // the new one handles next
        }
        std::vector<errc>* out_;
    };
    std::vector<errc> out;
    auto m = sys_->spawn<mover>(&out);
    ASSERT_TRUE(m.tell(item{}));
    ASSERT_TRUE(m.tell(item{})); // handled by the empty lambda: nothing recorded
    run();
    EXPECT_EQ(out, (std::vector<errc>{errc::invalid_argument, errc::none, errc::none}));
}

TEST_F(BehaviourTest, UnstashReplaysInOriginalOrderBeforeNewerMessages) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    ASSERT_TRUE(g.tell(item{1}));
    ASSERT_TRUE(g.tell(item{2}));
    ASSERT_TRUE(g.tell(item{3}));
    run();
    EXPECT_EQ(probe_of(g), 3u);
    // Stashed messages count as queued: the identity holds.
    auto c = counters_of(g);
    EXPECT_EQ(c.queued, 3u);
    EXPECT_EQ(c.processed, 1u);       // the probe
    ASSERT_TRUE(g.tell(open_gate{})); // becomes open and unstashes...
    ASSERT_TRUE(g.tell(item{4}));     // ...in front of this newer one
    run();
    EXPECT_EQ(log.seen, (std::vector<std::string>{"open:1", "open:2", "open:3", "open:4"}));
    c = counters_of(g);
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.processed, 6u); // the probe, items 1-3 (once each), open, item 4
    EXPECT_EQ(c.accounted(), 6u);
    EXPECT_TRUE(log.stash_errors.empty());
}

TEST_F(BehaviourTest, StashedAskIsAnsweredWhenReplayed) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    ASSERT_TRUE(g.tell(item{5}));
    auto sum = g.ask(get_sum{}, 10s);
    run();
    EXPECT_FALSE(sum.ready()); // stashed, not answered with the class handler's -1
    ASSERT_TRUE(g.tell(open_gate{}));
    run();
    ASSERT_TRUE(sum.ready());
    auto v = sum.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, 5);
}

TEST_F(BehaviourTest, FullStashRefusesWithAnErrorAndADeadLetter) {
    auto& log = logs_.emplace_back();
    spawn_options o;
    o.stash_capacity = 2;
    auto g = sys_->spawn_with<gate>(o, &log);
    ASSERT_TRUE(g.tell(item{1}));
    ASSERT_TRUE(g.tell(item{2}));
    ASSERT_TRUE(g.tell(item{3})); // the stash is full
    auto sum = g.ask(get_sum{}, 10s);
    run();
    EXPECT_EQ(log.stash_errors, (std::vector<errc>{errc::stash_full, errc::stash_full}));
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::stash_full), 2u);
    ASSERT_TRUE(sum.ready());
    auto v = sum.try_get();
    ASSERT_TRUE(v && !*v);
    EXPECT_EQ(v->error().code(), errc::stash_full);
    auto c = counters_of(g);
    EXPECT_EQ(c.dead_lettered, 2u);
    EXPECT_EQ(c.queued, 2u);
    EXPECT_EQ(c.accounted(), 4u);
    ASSERT_TRUE(g.tell(open_gate{}));
    run();
    EXPECT_EQ(log.seen, (std::vector<std::string>{"open:1", "open:2"}));
}

TEST_F(BehaviourTest, ThrowAfterStashTakesTheMessageBack) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    ASSERT_TRUE(g.tell(stash_then_throw{}));
    run();
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::handler_failed), 1u);
    auto c = counters_of(g);
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.dead_lettered, 1u);
}

/// Restarts its gate child whenever it fails.
struct noop {};
class restarting_parent : public actor<noop> {
public:
    restarting_parent(gate_log* log, actor_ref<gate_proto>* child) : log_(log), child_(child) {}
    void on_start() override { *child_ = spawn<gate>(log_); }
    child_decision on_child_failed(const actor_addr&, const error&) override {
        return child_decision::restart;
    }
    void on(noop&) {}

private:
    gate_log* log_;
    actor_ref<gate_proto>* child_;
};

TEST_F(BehaviourTest, RestartClearsBehavioursAndReplaysTheStashToTheNewIncarnation) {
    auto& log = logs_.emplace_back();
    actor_ref<gate_proto> g;
    auto parent = sys_->spawn<restarting_parent>(&log, &g);
    run();
    ASSERT_TRUE(g);
    ASSERT_TRUE(g.tell(item{1}));
    ASSERT_TRUE(g.tell(item{2}));
    ASSERT_TRUE(g.tell(push_state{9}));
    run();
    EXPECT_EQ(probe_of(g), 1002u);
    ASSERT_TRUE(g.tell(crash{}));
    run();
    EXPECT_EQ(log.builds, 2);
    // The new incarnation: class handlers again, and the two stashed items
    // were replayed to it first (it stashed them again, being closed).
    EXPECT_EQ(probe_of(g), 2u);
    ASSERT_TRUE(g.tell(open_gate{}));
    run();
    EXPECT_EQ(log.seen, (std::vector<std::string>{"open:1", "open:2"}));
    auto c = counters_of(g);
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.dead_lettered, 1u); // the crash
}

TEST_F(BehaviourTest, TerminationDeadLettersTheStashAndFailsStashedAsks) {
    auto& log = logs_.emplace_back();
    auto g = sys_->spawn<gate>(&log);
    ASSERT_TRUE(g.tell(item{1}));
    auto sum = g.ask(get_sum{}, 10s);
    run();
    ASSERT_TRUE(g.stop());
    run();
    ASSERT_TRUE(sum.ready());
    auto v = sum.try_get();
    ASSERT_TRUE(v && !*v);
    EXPECT_EQ(v->error().code(), errc::receiver_down);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::receiver_down), 2u);
    auto c = counters_of(g);
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.dead_lettered, 2u);
}

/// Coroutine and promise handlers: stash() is refused there; behaviours may
/// use every handler form.
struct co_item {
    int n = 0;
};
struct co_get {
    using reply_type = int;
};
struct switch_forms {};
using co_proto = std::variant<co_item, co_get, switch_forms>;

class co_actor : public actor<co_proto> {
public:
    explicit co_actor(std::vector<errc>* errors) : errors_(errors) {}
    task<> on(co_item&) {
        auto r = stash();
        errors_->push_back(r ? errc::none : r.error().code());
        co_return;
    }
    void on(co_get&, response_promise<int> reply) {
        auto r = stash();
        errors_->push_back(r ? errc::none : r.error().code());
        (void)reply.reply(-1);
    }
    void on(switch_forms&) {
        (void)become(behavior<co_proto>{
            [this](co_item& i) -> task<> {
                co_await sleep(1ms);
                total_ += i.n;
            },
            [this](co_get&, response_promise<int> reply) { (void)reply.reply(total_); }});
    }

private:
    std::vector<errc>* errors_;
    int total_ = 0;
};

TEST_F(BehaviourTest, CoroutineAndPromiseHandlersCannotStashButBehavioursUseAllForms) {
    std::vector<errc> errors;
    auto a = sys_->spawn<co_actor>(&errors);
    ASSERT_TRUE(a.tell(co_item{1}));
    auto first = a.ask(co_get{}, 10s);
    run();
    EXPECT_EQ(errors, (std::vector<errc>{errc::invalid_argument, errc::invalid_argument}));
    ASSERT_TRUE(first.ready());
    EXPECT_EQ(**first.try_get(), -1);

    ASSERT_TRUE(a.tell(switch_forms{}));
    ASSERT_TRUE(a.tell(co_item{4}));
    ASSERT_TRUE(a.tell(co_item{5}));
    auto total = a.ask(co_get{}, 10s);
    run();
    advance(1ms);
    advance(1ms);
    ASSERT_TRUE(total.ready());
    EXPECT_EQ(**total.try_get(), 9);
}

} // namespace
} // namespace troupe
