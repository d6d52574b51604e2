// Part of troupe. See LICENSE at the repository root.

#include <troupe/events/registry.hpp>
#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace ev = troupe::events;
using ev::event;

namespace {

struct order {
    int id;
    double amount;
};
struct other {
    int x;
};

struct patterns_case {
    const char* pattern;
    const char* topic;
    bool match;
};

TEST(EventsPattern, MatchingTable) {
    const patterns_case cases[] = {
        {"orders/eu/created", "orders/eu/created", true},
        {"orders/eu/created", "orders/eu/paid", false},
        {"orders/*/created", "orders/eu/created", true},
        {"orders/*/created", "orders/eu/x/created", false},
        {"orders/*", "orders", false},
        {"orders/*", "orders/eu", true},
        {"orders/*", "orders/eu/created", false},
        {"orders/**", "orders", true},
        {"orders/**", "orders/eu", true},
        {"orders/**", "orders/eu/created/x", true},
        {"orders/**", "ordersx/eu", false},
        {"**", "a", true},
        {"**", "a/b/c", true},
        {"*", "a", true},
        {"*", "a/b", false},
        {"*/*/created", "orders/us/created", true},
        {"*/**", "a", true},
        {"a/*/**", "a", false},
        {"a/*/**", "a/b", true},
        {"orders/eu", "orders/eu/created", false},
        {"orders/eu/created", "orders/eu", false},
    };
    for (const auto& c : cases) {
        auto p = ev::pattern::parse(c.pattern);
        ASSERT_TRUE(p) << c.pattern;
        EXPECT_EQ(p->matches(c.topic), c.match) << c.pattern << " vs " << c.topic;
    }
}

TEST(EventsPattern, InvalidPatternsAndNames) {
    for (const char* bad : {"", "/", "a//b", "/a", "a/", "a*", "a/b*/c", "**/a", "a/**/b", "***"}) {
        auto p = ev::pattern::parse(bad);
        ASSERT_FALSE(p) << bad;
        EXPECT_EQ(p.error().code(), troupe::errc::invalid_argument) << bad;
    }
    EXPECT_FALSE(ev::pattern::parse(std::string(300, 'a')));
    std::string many;
    for (int i = 0; i < 40; ++i) {
        many += i == 0 ? "s" : "/s";
    }
    EXPECT_FALSE(ev::pattern::parse(many));
    EXPECT_FALSE(ev::validate_topic_name("a/*"));
    EXPECT_FALSE(ev::validate_topic_name("a/**"));
    EXPECT_FALSE(ev::validate_topic_name("a/\n"));
    EXPECT_TRUE(ev::validate_topic_name("orders/eu/created"));
}

struct fixture : ::testing::Test {
    troupe::testing::manual_executor ex;
    troupe::testing::manual_clock clk;
    troupe::system sys{troupe::system_config{.custom_executor = &ex, .custom_clock = &clk}};
    ev::registry reg{sys};

    // Shuts the system down while a helper thread drives the manual executor
    // (the registry stays alive so actor-bound subscriptions see the exits).
    void TearDown() override {
        std::atomic<bool> done{false};
        std::jthread t([&] {
            EXPECT_TRUE(sys.shutdown(std::chrono::seconds(30)));
            done.store(true);
        });
        while (!done.load()) {
            ex.run_until_idle();
            std::this_thread::yield();
        }
    }
};

using EventsRegistry = fixture; // NOLINT(readability-identifier-naming): a GoogleTest suite name

TEST_F(EventsRegistry, TypeMismatchNamesBothTypes) {
    ASSERT_TRUE(reg.declare<order>("orders/eu/created"));
    auto again = reg.declare<other>("orders/eu/created");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), troupe::errc::type_mismatch);
    EXPECT_NE(again.error().message().find("order"), std::string::npos);
    EXPECT_NE(again.error().message().find("other"), std::string::npos);
    auto dyn = reg.publish<other>("orders/eu/created", other{1});
    ASSERT_FALSE(dyn);
    EXPECT_EQ(dyn.error().code(), troupe::errc::type_mismatch);
    auto bad = reg.publish<order>("orders//x", order{});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), troupe::errc::invalid_argument);
    EXPECT_EQ(&ev::events(sys), &reg);
}

TEST_F(EventsRegistry, PriorityOrderIsStable) {
    auto t = *reg.declare<order>("orders/eu/created");
    std::vector<int> seen;
    std::vector<ev::subscription> subs;
    auto add = [&](int tag, int prio, const char* pat) {
        subs.push_back(*reg.subscribe<order>(
            pat, [&seen, tag](const event<order>&) { seen.push_back(tag); }, {.priority = prio}));
    };
    add(1, 0, "orders/eu/created");
    add(2, 5, "orders/*/created");
    add(3, 0, "orders/**");
    add(4, 5, "orders/eu/created");
    add(5, -1, "**");
    EXPECT_EQ(reg.publish(t, order{1, 2.0}), 5u);
    EXPECT_EQ(seen, (std::vector<int>{2, 4, 1, 3, 5}));
}

TEST_F(EventsRegistry, FilterAndUnsubscribe) {
    auto t = *reg.declare<order>("orders/us/created");
    std::vector<int> ids;
    auto s = *reg.subscribe(t, [&](const event<order>& e) { ids.push_back(e.payload.id); },
                            {.filter = [](const order& o) { return o.amount > 100; }});
    reg.publish(t, order{1, 50});
    reg.publish(t, order{2, 150});
    s.unsubscribe();
    reg.publish(t, order{3, 500});
    EXPECT_EQ(ids, (std::vector<int>{2}));
    EXPECT_EQ(reg.subscription_count(), 0u);
    {
        auto s2 = *reg.subscribe(t, [&](const event<order>& e) { ids.push_back(e.payload.id); });
        reg.publish(t, order{4, 1});
    } // RAII
    reg.publish(t, order{5, 1});
    EXPECT_EQ(ids, (std::vector<int>{2, 4}));
}

// Many subscribes and unsubscribes (exact and wildcard, mixed priorities) in a fixed
// pseudo-random order: each publish delivers to exactly the live subscriptions, by priority,
// equal priorities in subscription order.
TEST_F(EventsRegistry, OrderHoldsAfterManyChanges) {
    auto t = *reg.declare<order>("orders/eu/created");
    struct live_sub {
        int priority;
        int tag; // increases with subscription order
        ev::subscription handle;
    };
    std::vector<live_sub> live;
    std::vector<int> seen;
    const char* patterns[] = {"orders/eu/created", "orders/*/created", "orders/**"};
    std::mt19937 rng(7); // fixed seed: the same sequence on every run
    int next_tag = 0;
    for (int step = 1; step <= 3000; ++step) {
        if (live.empty() || rng() % 3 != 0) {
            const int prio = static_cast<int>(rng() % 5) - 2;
            const int tag = next_tag++;
            auto h = *reg.subscribe<order>(
                patterns[rng() % 3], [&seen, tag](const event<order>&) { seen.push_back(tag); },
                {.priority = prio});
            live.push_back({prio, tag, std::move(h)});
        } else {
            const auto victim = live.begin() + static_cast<std::ptrdiff_t>(rng() % live.size());
            EXPECT_TRUE(victim->handle.unsubscribe());
            live.erase(victim);
        }
        if (step % 500 == 0) {
            std::vector<std::pair<int, int>> want; // (priority, tag), in subscription order
            want.reserve(live.size());
            for (const auto& l : live) {
                want.emplace_back(l.priority, l.tag);
            }
            std::stable_sort(want.begin(), want.end(),
                             [](const auto& a, const auto& b) { return a.first > b.first; });
            std::vector<int> expected;
            expected.reserve(want.size());
            for (const auto& w : want) {
                expected.push_back(w.second);
            }
            seen.clear();
            EXPECT_EQ(reg.publish(t, order{step, 0}), live.size());
            EXPECT_EQ(seen, expected) << "after step " << step;
            EXPECT_EQ(reg.subscription_count(), live.size());
        }
    }
    live.clear();
    EXPECT_EQ(reg.subscription_count(), 0u);
    EXPECT_EQ(reg.publish(t, order{}), 0u);
}

TEST_F(EventsRegistry, UnsubscribeInTheMiddle) {
    auto t = *reg.declare<order>("mid/t");
    std::vector<int> seen;
    auto record = [&seen](int tag) {
        return [&seen, tag](const event<order>&) { seen.push_back(tag); };
    };
    auto s1 = *reg.subscribe(t, record(1));
    auto s2 = *reg.subscribe(t, record(2));
    auto s3 = *reg.subscribe(t, record(3));
    auto s4 = *reg.subscribe(t, record(4), {.priority = 1});
    EXPECT_TRUE(s2.unsubscribe());
    EXPECT_FALSE(s2.unsubscribe());
    EXPECT_EQ(reg.publish(t, order{}), 3u);
    EXPECT_EQ(seen, (std::vector<int>{4, 1, 3}));

    // During a publish: a subscription removed before the walk reaches it is skipped; one
    // added meanwhile is not in the snapshot being walked and gets the next publish.
    ev::subscription s5;
    auto s0 = *reg.subscribe(t,
                             [&](const event<order>&) {
                                 seen.push_back(0);
                                 if (s3) {
                                     EXPECT_TRUE(s3.unsubscribe());
                                     s5 = *reg.subscribe(t, record(5));
                                 }
                             },
                             {.priority = 2});
    seen.clear();
    EXPECT_EQ(reg.publish(t, order{}), 3u);
    EXPECT_EQ(seen, (std::vector<int>{0, 4, 1}));
    seen.clear();
    EXPECT_EQ(reg.publish(t, order{}), 4u);
    EXPECT_EQ(seen, (std::vector<int>{0, 4, 1, 5}));
    EXPECT_EQ(reg.subscription_count(), 4u);
}

// Subscribing and unsubscribing 200,000 callbacks on one topic completes (in the copy-on-write
// list this replaced, it was quadratic) and leaves nothing behind.
TEST_F(EventsRegistry, TwoHundredThousandSubscribersOnOneTopic) {
    constexpr std::size_t n = 200'000;
    auto t = *reg.declare<order>("many/t");
    std::vector<ev::subscription> subs;
    subs.reserve(n);
    std::size_t next = 0;
    std::size_t out_of_order = 0;
    for (std::size_t i = 0; i < n; ++i) {
        subs.push_back(*reg.subscribe(t, [&, i](const event<order>&) {
            out_of_order += i == next ? 0 : 1;
            ++next;
        }));
    }
    EXPECT_EQ(reg.subscription_count(), n);
    EXPECT_EQ(reg.publish(t, order{}), n);
    EXPECT_EQ(next, n);
    EXPECT_EQ(out_of_order, 0u);
    for (std::size_t i = 0; i < n; i += 2) { // every other one first: removals all over the tree
        EXPECT_TRUE(subs[i].unsubscribe());
    }
    EXPECT_EQ(reg.subscription_count(), n / 2);
    for (auto& s : subs) {
        (void)s.unsubscribe();
    }
    EXPECT_EQ(reg.subscription_count(), 0u);
    EXPECT_EQ(reg.publish(t, order{}), 0u);
}

TEST_F(EventsRegistry, WildcardOnlyGetsItsType) {
    std::atomic<int> n{0};
    auto s = *reg.subscribe<order>("orders/**", [&](const event<order>&) { ++n; });
    ASSERT_TRUE(reg.publish<other>("orders/x", other{1}));
    ASSERT_TRUE(reg.publish<order>("orders/y", order{}));
    EXPECT_EQ(n.load(), 1);
}

TEST_F(EventsRegistry, CallbackExceptionsAreIsolated) {
    auto t = *reg.declare<order>("orders/eu/created");
    std::vector<ev::callback_failure> failures;
    reg.set_failure_hook([&](const ev::callback_failure& f) { failures.push_back(f); });
    int after = 0;
    auto s1 = *reg.subscribe(
        t, [](const event<order>&) -> void { throw std::runtime_error("boom"); }, {.priority = 1});
    auto s2 = *reg.subscribe(t, [&](const event<order>&) { ++after; });
    EXPECT_NO_THROW(reg.publish(t, order{}));
    EXPECT_EQ(after, 1);
    EXPECT_EQ(reg.callback_failures(), 1u);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].what, "boom");
    EXPECT_EQ(failures[0].topic, "orders/eu/created");
}

TEST_F(EventsRegistry, OnceAndStopToken) {
    auto t = *reg.declare<order>("o/a");
    int once = 0;
    int tok = 0;
    std::stop_source src;
    auto s1 = *reg.subscribe(t, [&](const event<order>&) { ++once; }, {.once = true});
    auto s2 = *reg.subscribe(t, [&](const event<order>&) { ++tok; }, {.stop = src.get_token()});
    reg.publish(t, order{});
    src.request_stop();
    reg.publish(t, order{});
    EXPECT_EQ(once, 1);
    EXPECT_EQ(tok, 1);
    EXPECT_EQ(reg.subscription_count(), 0u);
}

TEST_F(EventsRegistry, MetadataAndRetained) {
    auto t = *reg.declare<order>("orders/eu/created", {.retain_last = true});
    std::vector<ev::event_meta> metas;
    auto s = *reg.subscribe(t, [&](const event<order>& e) { metas.push_back(e.meta); });
    const auto before = std::chrono::system_clock::now();
    reg.publish(t, order{1, 1});
    reg.publish(t, order{2, 1});
    ASSERT_EQ(metas.size(), 2u);
    EXPECT_EQ(metas[0].topic_name(), "orders/eu/created");
    EXPECT_EQ(metas[0].sequence, 1u);
    EXPECT_EQ(metas[1].sequence, 2u);
    EXPECT_GE(metas[0].timestamp, before);
    EXPECT_EQ(metas[0].source_id, 0u); // plain thread
    EXPECT_NE(metas[0].trace_id, 0u);

    auto last = reg.last(t);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->payload.id, 2);
    int got = 0;
    auto late = *reg.subscribe<order>("orders/*/created",
                                      [&](const event<order>& e) { got = e.payload.id; },
                                      {.receive_retained = true});
    EXPECT_EQ(got, 2);
    auto by_name = reg.last<order>("orders/eu/created");
    ASSERT_TRUE(by_name && *by_name);
    EXPECT_FALSE(reg.last<other>("orders/eu/created"));
}

// An actor that publishes from its handler, so source and trace id are set.
struct go {};
using proto = std::variant<go, event<order>>;
struct sink_state {
    std::vector<event<order>> got;
    std::uint64_t handler_trace = 0;
};
class pubsub : public troupe::actor<proto> {
public:
    pubsub(ev::registry* r, sink_state* s) : reg_(r), st_(s) {}
    void on(go&) {
        st_->handler_trace = trace_id();
        reg_->publish<order>("orders/eu/created", order{7, 1}).value();
    }
    void on(event<order>& e) { st_->got.push_back(e); }

private:
    ev::registry* reg_;
    sink_state* st_;
};

TEST_F(EventsRegistry, ActorSubscriberMetadataAndAutoUnsubscribe) {
    sink_state st;
    auto a = sys.spawn<pubsub>(&reg, &st);
    auto s = *reg.subscribe<order>("orders/**", a);
    s.release(); // lifetime bound to the actor
    (void)a.tell(go{});
    ex.run_until_idle();
    ASSERT_EQ(st.got.size(), 1u);
    EXPECT_EQ(st.got[0].meta.source_id, a.addr().id());
    EXPECT_EQ(st.got[0].payload.id, 7);
    EXPECT_NE(st.got[0].meta.trace_id, 0u);
    EXPECT_EQ(st.got[0].meta.trace_id, st.handler_trace);
    EXPECT_EQ(st.got[0].meta.sequence, 1u);
    EXPECT_EQ(st.got[0].meta.topic_name(), "orders/eu/created");
    EXPECT_EQ(reg.subscription_count(), 1u);
    a.stop();
    ex.run_until_idle();
    EXPECT_EQ(reg.subscription_count(), 0u);
}

// A subscriber learns who published: the source id resolves to the
// publisher's address and path (system::find_addr), while it lives.
TEST_F(EventsRegistry, SourceIdResolvesToThePublishersPath) {
    sink_state pub_state;
    auto publisher = sys.spawn_named<pubsub>("publisher", {}, &reg, &pub_state).value();
    std::vector<ev::event_meta> metas;
    auto s =
        *reg.subscribe<order>("orders/**", [&](const event<order>& e) { metas.push_back(e.meta); });
    (void)publisher.tell(go{});
    ex.run_until_idle();
    ASSERT_EQ(metas.size(), 1u);
    auto source = sys.find_addr(metas[0].source_id);
    ASSERT_TRUE(source) << source.error();
    EXPECT_EQ(*source, publisher.addr());
    EXPECT_EQ(source->path(), "/user/publisher");
    publisher.stop();
    ex.run_until_idle();
    EXPECT_EQ(sys.find_addr(metas[0].source_id).error().code(), troupe::errc::receiver_down)
        << "a source that terminated no longer resolves";
}

// Item of the exit-observer fix: an actor that subscribes and unsubscribes many times gets one
// on_exit observer from the registry, not one per subscription, and none once it has exited.
TEST_F(EventsRegistry, RepeatedSubscriptionsShareOneExitObserver) {
    sink_state st;
    auto a = sys.spawn<pubsub>(&reg, &st);
    auto t = *reg.declare<order>("cycle/t");
    EXPECT_EQ(reg.exit_observer_count(), 0u);
    for (int i = 0; i < 1000; ++i) {
        auto as_actor = *reg.subscribe(t, a);
        auto as_callback = *reg.subscribe(t, [](const event<order>&) {},
                                          {.once = i % 2 == 0, .bound_to = a.addr()});
        ASSERT_EQ(reg.exit_observer_count(), 1u) << "cycle " << i;
        if (i % 3 == 0) {
            EXPECT_EQ(reg.publish(t, order{i, 0}), 2u);
        }
        EXPECT_TRUE(as_actor.unsubscribe());
        (void)as_callback.unsubscribe(); // a fired once-subscription is already gone
        ex.run_until_idle();             // the actor handles its events (and the observer)
    }
    EXPECT_EQ(reg.subscription_count(), 0u);
    EXPECT_EQ(reg.exit_observer_count(), 1u);
    EXPECT_EQ(st.got.size(), 334u);

    auto kept = *reg.subscribe(t, a);
    kept.release(); // removed by the actor's exit
    auto other = sys.spawn<pubsub>(&reg, &st);
    auto kept2 = *reg.subscribe<order>("cycle/*", other);
    EXPECT_EQ(reg.exit_observer_count(), 2u);
    a.stop();
    ex.run_until_idle();
    EXPECT_EQ(reg.exit_observer_count(), 1u);
    EXPECT_EQ(reg.subscription_count(), 1u); // only kept2

    // Subscribing an actor that has exited: removed at once, and no observer is left.
    auto late = *reg.subscribe(t, a);
    EXPECT_EQ(reg.subscription_count(), 1u);
    EXPECT_EQ(reg.exit_observer_count(), 1u);
    EXPECT_FALSE(late.unsubscribe());
    EXPECT_TRUE(kept2.unsubscribe());
    other.stop();
    ex.run_until_idle();
    EXPECT_EQ(reg.exit_observer_count(), 0u);
}

TEST_F(EventsRegistry, SubscriptionHook) {
    std::vector<std::pair<bool, std::string>> changes;
    reg.set_subscription_hook(
        [&](const ev::subscription_change& c) { changes.emplace_back(c.subscribed, c.pattern); });
    {
        auto s = *reg.subscribe<order>("orders/*", [](const event<order>&) {});
    }
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0], std::make_pair(true, std::string("orders/*")));
    EXPECT_EQ(changes[1], std::make_pair(false, std::string("orders/*")));
}

TEST_F(EventsRegistry, SlowActorDropOldestGoesToDeadLetters) {
    sink_state st;
    auto slow = sys.spawn_with<pubsub>(
        troupe::spawn_options{.capacity = 4, .policy = troupe::overflow_policy::drop_oldest}, &reg,
        &st);
    auto t = *reg.declare<order>("orders/eu/created");
    auto s = *reg.subscribe(t, slow);
    std::vector<ev::dead_letter_event> dead;
    auto d = *reg.subscribe(reg.dead_letters(), [&](const event<ev::dead_letter_event>& e) {
        dead.push_back(e.payload);
    });
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(reg.publish(t, order{i, 0}), 1u); // never blocks, always accepted
    }
    ex.run_until_idle();
    ASSERT_EQ(st.got.size(), 4u);
    EXPECT_EQ(st.got.front().payload.id, 6);
    ASSERT_EQ(dead.size(), 6u);
    EXPECT_EQ(dead[0].reason, troupe::dead_letter_reason::dropped_oldest);
    EXPECT_EQ(dead[0].topic, "orders/eu/created");
    EXPECT_EQ(dead[0].receiver, slow.addr());
}

TEST_F(EventsRegistry, FailuresArePublished) {
    std::vector<ev::failure_event> failures;
    std::vector<ev::decision_event> decisions;
    auto f = *reg.subscribe(
        reg.failures(), [&](const event<ev::failure_event>& e) { failures.push_back(e.payload); });
    auto d = *reg.subscribe(reg.decisions(), [&](const event<ev::decision_event>& e) {
        decisions.push_back(e.payload);
    });
    auto bad = sys.spawn_fn<go>([](go&) { throw std::runtime_error("bad"); });
    (void)bad.tell(go{});
    ex.run_until_idle();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].actor, bad.addr());
    EXPECT_NE(failures[0].cause.to_string().find("bad"), std::string::npos);
    EXPECT_LE(decisions.size(), 1u); // the user guardian decides (stop) if the core reports it
}

TEST(EventsConcurrent, OnceUnderEightPublishers) {
    troupe::system sys(troupe::system_config{.workers = 2});
    ev::registry reg(sys);
    auto t = *reg.declare<order>("race/once");
    for (int round = 0; round < 50; ++round) {
        std::atomic<int> hits{0};
        auto s = *reg.subscribe(t, [&](const event<order>&) { hits.fetch_add(1); }, {.once = true});
        std::barrier start(8);
        std::vector<std::jthread> pubs;
        pubs.reserve(8);
        for (int p = 0; p < 8; ++p) {
            pubs.emplace_back([&] {
                start.arrive_and_wait();
                for (int i = 0; i < 20; ++i) {
                    reg.publish(t, order{i, 0});
                }
            });
        }
        pubs.clear();
        EXPECT_EQ(hits.load(), 1);
    }
}

} // namespace
