// Part of troupe. See LICENSE at the repository root.

// Connections that race: two nodes connecting to each other at once, one
// node connecting twice at once, and a connect to a peer linked already all
// end in exactly one link per pair (docs/net.md "Handshake").

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "net_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace connect_demo {
struct ping {
    using reply_type = std::string;
    std::string text;
    MSGPACK_DEFINE(text)
};
} // namespace connect_demo
TROUPE_WIRE_TYPE(::connect_demo::ping, "test.connect.ping", 1);

namespace troupe::net {
namespace {

using testing::options;

using namespace std::chrono_literals;
using ping_protocol = std::variant<connect_demo::ping>;

class pong final : public actor<ping_protocol> {
public:
    explicit pong(std::string name) : name_(std::move(name)) {}
    std::string on(connect_demo::ping& p) { return p.text + " from " + name_; }

private:
    std::string name_;
};

/// What a node's `peer_events` reported. Outlives the node (hooks run on
/// the I/O thread until it closes).
struct event_log {
    std::mutex mutex;
    std::condition_variable cv;
    int ups = 0;
    int downs = 0;
    void record(bool up) {
        {
            std::lock_guard lock(mutex);
            (up ? ups : downs) += 1;
        }
        cv.notify_all();
    }
    /// Waits (at most 10 s) until `n` ups were reported; returns the count.
    int wait_ups(int n) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [&] { return ups >= n; });
        return ups;
    }
    std::pair<int, int> counts() {
        std::lock_guard lock(mutex);
        return {ups, downs};
    }
};

/// One node with a listening port, a published `pong` and an event log.
struct member {
    event_log events; // outlives the node below
    troupe::system sys;
    std::shared_ptr<node> n;
    std::uint16_t port = 0;
    actor_ref<ping_protocol> victim; // published as "victim", for a monitor to see it stop

    explicit member(const std::string& name) {
        auto attached = node::attach(sys, options(name));
        EXPECT_TRUE(attached) << attached.error();
        if (!attached) {
            return;
        }
        n = *attached;
        n->peer_events().add([this](const peer_info& /*peer*/, bool up, const error& /*why*/) {
            events.record(up);
        });
        auto p = n->listen();
        EXPECT_TRUE(p) << p.error();
        port = p ? *p : 0;
        EXPECT_TRUE(n->publish("pong", sys.spawn<pong>(name)));
        victim = sys.spawn<pong>(name);
        EXPECT_TRUE(n->publish("victim", victim));
    }
    member(const member&) = delete;
    member& operator=(const member&) = delete;
    member(member&&) = delete;
    member& operator=(member&&) = delete;
    ~member() {
        if (n) {
            n->close();
        }
    }
};

bool same_peer(const peer_info& a, const peer_info& b) {
    return a.id == b.id && a.name == b.name && a.address == b.address && a.sealed == b.sealed &&
           a.type_table_hash == b.type_table_hash;
}

/// Runs every call at once, each on its own thread; returns their results in order.
std::vector<expected<peer_info>>
at_once(const std::vector<std::function<expected<peer_info>()>>& calls) {
    std::vector<expected<peer_info>> results(calls.size(),
                                             troupe::unexpected(error{errc::none, "not run"}));
    std::latch start(static_cast<std::ptrdiff_t>(calls.size()));
    std::vector<std::thread> threads;
    threads.reserve(calls.size());
    for (std::size_t i = 0; i < calls.size(); ++i) {
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            results[i] = calls[i]();
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return results;
}

/// `from` reaches `to`'s pong over their link.
void expect_ping(member& from, member& to) {
    auto ref = from.n->lookup<ping_protocol>(to.n->id(), "pong", 10s);
    ASSERT_TRUE(ref) << ref.error();
    auto r = ref->ask(connect_demo::ping{"ping"}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, "ping from " + to.n->name());
}

/// A monitor on `from` of `to`'s victim sees it stop, with its cause.
void expect_monitor(member& from, member& to) {
    auto ref = from.n->lookup<ping_protocol>(to.n->id(), "victim", 10s);
    ASSERT_TRUE(ref) << ref.error();
    // After a reply the peer has the proxy's watch (it travels ahead of the ask).
    ASSERT_TRUE(ref->ask(connect_demo::ping{"ping"}, 10s).get());
    auto probe = std::make_shared<testing::down_probe>();
    ASSERT_TRUE(from.sys.on_exit(ref->addr(), [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(to.victim.stop(error{errc::stopped, "stopped by the test"}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::stopped) << *cause;
}

/// One link between `a` and `b`, seen alike by every connect result of each
/// side (`of_a`: what `a`'s calls returned), no failure counted, one link
/// up reported per side, and messages going both ways.
void expect_one_link(member& a, member& b, const std::vector<expected<peer_info>>& of_a,
                     const std::vector<expected<peer_info>>& of_b) {
    // A connect returns once its own side is up; the other side's link may
    // come up a moment later.
    EXPECT_EQ(a.events.wait_ups(1), 1);
    EXPECT_EQ(b.events.wait_ups(1), 1);
    const auto on_a = a.n->peers();
    const auto on_b = b.n->peers();
    ASSERT_EQ(on_a.size(), 1u);
    ASSERT_EQ(on_b.size(), 1u);
    EXPECT_EQ(on_a[0].id, b.n->id());
    EXPECT_EQ(on_b[0].id, a.n->id());
    for (const auto& r : of_a) {
        ASSERT_TRUE(r) << r.error();
        EXPECT_TRUE(same_peer(*r, on_a[0])) << r->address << " vs " << on_a[0].address;
    }
    for (const auto& r : of_b) {
        ASSERT_TRUE(r) << r.error();
        EXPECT_TRUE(same_peer(*r, on_b[0])) << r->address << " vs " << on_b[0].address;
    }
    expect_ping(a, b);
    expect_ping(b, a);
    for (member* m : {&a, &b}) {
        const auto c = m->n->counters();
        EXPECT_EQ(c.handshakes_refused, 0u) << m->n->name();
        EXPECT_EQ(c.handshake_timeouts, 0u) << m->n->name();
        EXPECT_EQ(c.frames_refused, 0u) << m->n->name();
        EXPECT_EQ(c.links_lost, 0u) << m->n->name();
        EXPECT_EQ(m->events.counts(), std::make_pair(1, 0)) << m->n->name();
    }
    EXPECT_EQ(a.n->peers().size(), 1u);
    EXPECT_EQ(b.n->peers().size(), 1u);
}

/// Closes both; each side then saw exactly one link go up and down.
void expect_one_up_one_down(member& a, member& b) {
    a.n->close();
    b.n->close();
    EXPECT_EQ(a.events.counts(), std::make_pair(1, 1));
    EXPECT_EQ(b.events.counts(), std::make_pair(1, 1));
}

TEST(ConnectRace, NodesConnectingToEachOtherAtOnceKeepOneLink) {
    for (int round = 0; round < 50; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        member a("alpha");
        member b("beta");
        ASSERT_TRUE(a.n && b.n);
        auto results = at_once({[&] { return a.n->connect("127.0.0.1", b.port); },
                                [&] { return b.n->connect("127.0.0.1", a.port); }});
        ASSERT_TRUE(results[0]) << results[0].error();
        ASSERT_TRUE(results[1]) << results[1].error();
        EXPECT_EQ(results[0]->id, b.n->id());
        EXPECT_EQ(results[1]->id, a.n->id());
        expect_one_link(a, b, {results[0]}, {results[1]});
        expect_monitor(a, b);
        expect_monitor(b, a);
        expect_one_up_one_down(a, b);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(ConnectRace, ConnectingTwiceAtOnceKeepsOneLinkAndBothCallsReturnIt) {
    // Node ids are random: over the rounds the connecting node is the lower
    // id of the two in some and the higher in others.
    for (int round = 0; round < 30; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        member a("alpha");
        member b("beta");
        ASSERT_TRUE(a.n && b.n);
        auto results = at_once({[&] { return a.n->connect("127.0.0.1", b.port); },
                                [&] { return a.n->connect("127.0.0.1", b.port); }});
        expect_one_link(a, b, results, {});
        expect_one_up_one_down(a, b);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(ConnectRace, TwiceFromEachSideAtOnceKeepsOneLink) {
    for (int round = 0; round < 20; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        member a("alpha");
        member b("beta");
        ASSERT_TRUE(a.n && b.n);
        auto results = at_once({[&] { return a.n->connect("127.0.0.1", b.port); },
                                [&] { return b.n->connect("127.0.0.1", a.port); },
                                [&] { return a.n->connect("127.0.0.1", b.port); },
                                [&] { return b.n->connect("127.0.0.1", a.port); }});
        expect_one_link(a, b, {results[0], results[2]}, {results[1], results[3]});
        expect_one_up_one_down(a, b);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(ConnectRace, ConnectingToALinkedPeerReturnsTheLinkThereIs) {
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        member a("alpha");
        member b("beta");
        ASSERT_TRUE(a.n && b.n);
        auto first = a.n->connect("127.0.0.1", b.port);
        ASSERT_TRUE(first) << first.error();
        auto again = a.n->connect("127.0.0.1", b.port); // the same way
        auto back = b.n->connect("127.0.0.1", a.port);  // the other way
        ASSERT_TRUE(again) << again.error();
        ASSERT_TRUE(back) << back.error();
        EXPECT_TRUE(same_peer(*first, *again));
        expect_one_link(a, b, {first, again}, {back});
        expect_one_up_one_down(a, b);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

} // namespace
} // namespace troupe::net
