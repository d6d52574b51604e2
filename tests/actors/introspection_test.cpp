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

// ---- lookups by path and id ------------------------------------------------------

struct spawn_kid {
    using reply_type = actor_addr;
    std::string name;
};
using parent_proto = std::variant<spawn_kid>;
class parent_actor : public actor<parent_proto> {
public:
    actor_addr on(spawn_kid& m) { return spawn_child<parent_actor>(*this, m.name).addr(); }
};

class LookupTest : public ManualSystemTest {
protected:
    actor_addr kid(const actor_ref<parent_proto>& p, std::string name) {
        auto h = p.ask(spawn_kid{std::move(name)}, 1s);
        run();
        return h.get().value();
    }
};

TEST_F(LookupTest, FindAddrResolvesNamedAndUnnamedPaths) {
    auto top = sys_->spawn_named<parent_actor>("top", {}).value();
    const actor_addr named = kid(top, "named");
    const actor_addr unnamed = kid(top, "");
    run();
    EXPECT_EQ(named.path(), "/user/top/named");
    EXPECT_EQ(sys_->find_addr("/user/top/named").value(), named);
    EXPECT_EQ(sys_->find_addr("/user/top").value(), top.addr());
    ASSERT_EQ(unnamed.path(), "/user/top/$" + std::to_string(unnamed.id()));
    EXPECT_EQ(sys_->find_addr(unnamed.path()).value(), unnamed);
    EXPECT_EQ(sys_->find_addr("/user/$" + std::to_string(unnamed.id())).error().code(),
              errc::receiver_down)
        << "the id must sit at that path";
    EXPECT_EQ(sys_->find_addr("/user/top/$x").error().code(), errc::receiver_down);
    EXPECT_EQ(sys_->find_addr("/user/nobody").error().code(), errc::receiver_down);
    EXPECT_EQ(sys_->find_addr("user/top").error().code(), errc::invalid_argument);
    EXPECT_EQ(sys_->find_addr("").error().code(), errc::invalid_argument);
}

TEST_F(LookupTest, FindAddrByIdSeesLiveActorsOnly) {
    auto a = sys_->spawn<napper>();
    auto b = sys_->spawn<napper>();
    run();
    EXPECT_EQ(sys_->find_addr(a.addr().id()).value(), a.addr());
    EXPECT_EQ(sys_->find_addr(b.addr().id()).value(), b.addr());
    EXPECT_EQ(sys_->find_addr(std::uint64_t{0}).error().code(), errc::invalid_argument);
    EXPECT_EQ(sys_->find_addr(b.addr().id() + 1000).error().code(), errc::receiver_down);
    a.stop();
    run();
    EXPECT_EQ(sys_->find_addr(a.addr().id()).error().code(), errc::receiver_down);
    EXPECT_EQ(sys_->find_addr(b.addr().id()).value(), b.addr());
}

TEST_F(LookupTest, TheIdIndexGrowsAndShrinksWithTheTree) {
    std::vector<actor_ref<nap_proto>> refs;
    for (int i = 0; i < 500; ++i) {
        refs.push_back(sys_->spawn<napper>());
    }
    run();
    for (const auto& r : refs) {
        ASSERT_EQ(sys_->find_addr(r.addr().id()).value(), r.addr());
    }
    for (std::size_t i = 0; i < refs.size(); i += 2) {
        refs[i].stop();
    }
    run();
    for (std::size_t i = 0; i < refs.size(); ++i) {
        EXPECT_EQ(static_cast<bool>(sys_->find_addr(refs[i].addr().id())), i % 2 == 1) << i;
    }
}

// ---- the tree walk and its dumps ---------------------------------------------------

TEST(EnumNames, ActorStates) {
    static_assert(to_string(actor_state::fresh) == "fresh");
    EXPECT_EQ(to_string(actor_state::running), "running");
    EXPECT_EQ(to_string(actor_state::failed), "failed");
    EXPECT_EQ(to_string(actor_state::deferred), "deferred");
    EXPECT_EQ(to_string(actor_state::stopping), "stopping");
    EXPECT_EQ(to_string(actor_state::restarting), "restarting");
    EXPECT_EQ(to_string(actor_state::halted), "halted");
    EXPECT_EQ(to_string(actor_state::terminated), "terminated");
    EXPECT_EQ(streamed(actor_state::halted), "halted");
}

struct fail_kid {};
using deciding_proto = std::variant<spawn_kid, fail_kid>;
/// Spawns children; decides about their failures with `decision`.
class deciding_parent : public actor<deciding_proto> {
public:
    explicit deciding_parent(child_decision d) : decision_(d) {}
    actor_addr on(spawn_kid& m) {
        kid_ = spawn_child<napper>(*this, m.name);
        return kid_.addr();
    }
    void on(fail_kid&) { (void)kid_.tell(boom{}); }
    child_decision on_child_failed(const actor_addr&, const error&) override { return decision_; }

private:
    child_decision decision_;
    actor_ref<nap_proto> kid_;
};

class WalkTest : public ManualSystemTest {
protected:
    std::vector<actor_info> infos() {
        std::vector<actor_info> out;
        sys_->walk([&](const actor_info& a) {
            out.push_back(a);
            paths_.emplace_back(a.path); // the view is valid during the call only
        });
        return out;
    }
    const actor_info* find(const std::vector<actor_info>& all, std::string_view path) {
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (paths_[paths_.size() - all.size() + i] == path) {
                return &all[i];
            }
        }
        return nullptr;
    }
    std::vector<std::string> paths_;
};

TEST_F(WalkTest, VisitsParentsBeforeChildrenOldestFirst) {
    auto top = sys_->spawn_named<parent_actor>("top", {}).value();
    auto h1 = top.ask(spawn_kid{"first"}, 1s);
    auto h2 = top.ask(spawn_kid{"second"}, 1s);
    run();
    ASSERT_TRUE(h1.get());
    ASSERT_TRUE(h2.get());
    const auto all = infos();
    EXPECT_EQ(paths_, (std::vector<std::string>{"/", "/system", "/user", "/user/top",
                                                "/user/top/first", "/user/top/second"}));
    EXPECT_EQ(all[0].depth, 0u);
    EXPECT_EQ(all[3].depth, 2u);
    EXPECT_EQ(all[3].name, "top");
    EXPECT_EQ(all[3].children, 2u);
    EXPECT_EQ(all[3].addr, top.addr());
    EXPECT_EQ(all[3].state, actor_state::running);
    EXPECT_NE(all[3].behaviour.find("parent_actor"), std::string_view::npos) << all[3].behaviour;
    EXPECT_EQ(all[3].mailbox_capacity, spawn_options{}.capacity);
}

TEST_F(WalkTest, ShowsFreshQueuedFailedDeferredAndRestarts) {
    auto fresh = sys_->spawn_named<napper>("fresh", {}).value();
    EXPECT_TRUE(fresh.tell(ping{}));
    auto all = infos();
    const actor_info* f = find(all, "/user/fresh");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->state, actor_state::fresh);
    EXPECT_EQ(f->mailbox_depth, 1u);
    run();

    auto deferring = sys_->spawn_named<deciding_parent>("deferring", {}, child_decision::defer);
    auto restarting = sys_->spawn_named<deciding_parent>("restarting", {}, child_decision::restart);
    auto failing = sys_->spawn_named<deciding_parent>("failing", {}, child_decision::stop);
    ASSERT_TRUE(deferring && restarting && failing);
    for (auto* p : {&*deferring, &*restarting}) {
        auto h = p->ask(spawn_kid{"kid"}, 1s);
        run();
        ASSERT_TRUE(h.get());
        EXPECT_TRUE(p->tell(fail_kid{}));
    }
    run();
    all = infos();
    const actor_info* d = find(all, "/user/deferring/kid");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->state, actor_state::deferred);
    const actor_info* r = find(all, "/user/restarting/kid");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->state, actor_state::running);
    EXPECT_EQ(r->restarts, 1u);
    const std::string text = sys_->dump_tree();
    EXPECT_NE(text.find("    kid [deferred] "), std::string::npos) << text;
    EXPECT_NE(text.find(" restarts 1\n"), std::string::npos) << text;
    EXPECT_EQ(text.rfind("/ [running] ", 0), 0u) << text;
}

TEST_F(WalkTest, DumpTreeJsonNestsTheSameTree) {
    auto top = sys_->spawn_named<parent_actor>("top", {}).value();
    auto h = top.ask(spawn_kid{"kid"}, 1s);
    run();
    ASSERT_TRUE(h.get());
    const std::string json = sys_->dump_tree_json();
    std::size_t nodes = 0;
    sys_->walk([&](const actor_info&) { ++nodes; });
    // Every node closes its children array and its object once; brackets nest.
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char ch = json[i];
        if (in_string) {
            if (ch == '\\') {
                ++i;
            } else if (ch == '"') {
                in_string = false;
            }
            continue;
        }
        if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            ++depth;
        } else if (ch == '}' || ch == ']') {
            --depth;
            ASSERT_GE(depth, 0) << json;
        }
    }
    EXPECT_EQ(depth, 0) << json;
    std::size_t objects = 0;
    for (std::size_t at = json.find("\"children\":["); at != std::string::npos;
         at = json.find("\"children\":[", at + 1)) {
        ++objects;
    }
    EXPECT_EQ(objects, nodes);
    EXPECT_EQ(json.rfind("{\"name\":\"\",\"id\":", 0), 0u) << json;
    EXPECT_NE(json.find("{\"name\":\"kid\",\"id\":"), std::string::npos) << json;
    EXPECT_NE(json.find("\"state\":\"running\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"children\":[]}]}]}"), std::string::npos)
        << "kid closes inside top inside /user: " << json;
}

} // namespace
} // namespace troupe
