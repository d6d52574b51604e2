// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "net_test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace demo {
struct echo {
    using reply_type = std::string;
    std::string text;
    MSGPACK_DEFINE(text)
};
struct add {
    using reply_type = int;
    int a = 0;
    int b = 0;
    MSGPACK_DEFINE(a, b)
};
struct note {
    std::string text;
    MSGPACK_DEFINE(text)
};
struct crash {
    MSGPACK_DEFINE()
};
} // namespace demo
TROUPE_WIRE_TYPE(::demo::echo, "test.echo", 1);
TROUPE_WIRE_TYPE(::demo::add, "test.add", 1);
TROUPE_WIRE_TYPE(::demo::note, "test.note", 1);
TROUPE_WIRE_TYPE(::demo::crash, "test.crash", 1);

namespace troupe::net {
namespace {

using testing::options;

using namespace std::chrono_literals;
using testing::down_probe;
using service_protocol = std::variant<demo::echo, demo::add, demo::note, demo::crash>;

/// Counts notes; a note's arrival is signalled to the test thread.
struct inbox {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::string> notes;
    std::vector<std::uint64_t> traces;

    void add(std::string n, std::uint64_t trace) {
        {
            std::lock_guard lock(mutex);
            notes.push_back(std::move(n));
            traces.push_back(trace);
        }
        cv.notify_all();
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 10s, [&] { return notes.size() >= n; });
    }
};

class service final : public actor<service_protocol> {
public:
    explicit service(inbox* box) : box_(box) {}
    std::string on(demo::echo& e) { return e.text; }
    int on(demo::add& a) { return a.a + a.b; }
    void on(demo::note& n) { box_->add(n.text, trace_id()); }
    void on(demo::crash& /*unused*/) { throw std::runtime_error("asked to crash"); }

private:
    inbox* box_;
};

class TwoNodes : public ::testing::Test {
protected:
    void SetUp() override {
        auto na = node::attach(a_, options("alpha"));
        auto nb = node::attach(b_, options("beta"));
        ASSERT_TRUE(na) << na.error();
        ASSERT_TRUE(nb) << nb.error();
        alpha_ = *na;
        beta_ = *nb;
        auto port = beta_->listen();
        ASSERT_TRUE(port) << port.error();
        port_ = *port;
        svc_ = b_.spawn<service>(&box_);
        ASSERT_TRUE(beta_->publish("svc", svc_));
        auto peer = alpha_->connect("127.0.0.1", port_);
        ASSERT_TRUE(peer) << peer.error();
        beta_id_ = peer->id;
    }

    expected<actor_ref<service_protocol>> remote_svc() {
        return alpha_->lookup<service_protocol>(beta_id_, "svc", 5s);
    }

    inbox box_;
    troupe::system a_;
    troupe::system b_;
    std::shared_ptr<node> alpha_;
    std::shared_ptr<node> beta_;
    std::uint16_t port_ = 0;
    std::uint64_t beta_id_ = 0;
    actor_ref<service_protocol> svc_;
};

TEST_F(TwoNodes, ConnectShowsThePeerOnBothSides) {
    EXPECT_EQ(beta_id_, beta_->id());
    auto peers = alpha_->peers();
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers[0].name, "beta");
    EXPECT_EQ(peers[0].id, beta_->id());
}

TEST_F(TwoNodes, AskAcrossNodesReturnsTheReply) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc) << svc.error();
    auto r = svc->ask(demo::add{2, 3}, 5s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, 5);
    auto e = svc->ask(demo::echo{"hello"}, 5s).get();
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(*e, "hello");
}

TEST_F(TwoNodes, TellsArriveInOrderWithTheirTraceIds) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    constexpr int n = 200;
    {
        const trace_scope trace(0xabcdef);
        for (int i = 0; i < n; ++i) {
            ASSERT_TRUE(svc->tell(demo::note{std::to_string(i)}));
        }
    }
    ASSERT_TRUE(box_.wait_for(n));
    std::lock_guard lock(box_.mutex);
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(box_.notes[static_cast<std::size_t>(i)], std::to_string(i));
        EXPECT_EQ(box_.traces[static_cast<std::size_t>(i)], 0xabcdefu);
    }
}

TEST_F(TwoNodes, ARemoteFailureReachesTheMonitorWithItsRealCause) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    auto r = svc->ask(demo::echo{"x"}, 5s).get();
    ASSERT_TRUE(r);
    // A note is told; `crash` throws in the handler: the actor fails.
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(a_.on_exit(svc->addr(), [probe](const error& e) { probe->set(e); }));
    (void)svc->tell(demo::crash{});
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::exception) << *cause;
    EXPECT_NE(cause->to_string().find("asked to crash"), std::string::npos) << *cause;
}

/// Looks the service up from inside a handler and asks it.
struct look_up {
    std::uint64_t peer = 0;
};
struct client_outcome {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<errc> blocking_lookup;
    std::optional<expected<int>> sum;
    void set(expected<int> v) {
        {
            std::lock_guard lock(mutex);
            sum = std::move(v);
        }
        cv.notify_all();
    }
    std::optional<expected<int>> wait() {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [&] { return sum.has_value(); });
        return sum;
    }
};
class client final : public actor<look_up> {
public:
    client(std::shared_ptr<node> n, std::shared_ptr<client_outcome> out)
        : node_(std::move(n)), out_(std::move(out)) {}
    void on(look_up& l) {
        auto blocking = node_->lookup<service_protocol>(l.peer, "svc", 1s);
        {
            std::lock_guard lock(out_->mutex);
            out_->blocking_lookup = blocking ? errc::none : blocking.error().code();
        }
        auto ok = node_->lookup_then<service_protocol>(
            l.peer, "svc", 5s, [out = out_](expected<actor_ref<service_protocol>> svc) {
                if (!svc) {
                    out->set(troupe::unexpected(svc.error()));
                    return;
                }
                (void)svc->ask(demo::add{20, 22}, 5s).then([out](expected<int> v) {
                    out->set(std::move(v));
                });
            });
        if (!ok) {
            out_->set(troupe::unexpected(ok.error()));
        }
    }

private:
    std::shared_ptr<node> node_;
    std::shared_ptr<client_outcome> out_;
};

TEST_F(TwoNodes, AnActorLooksUpWithoutBlocking) {
    auto out = std::make_shared<client_outcome>();
    auto c = a_.spawn<client>(alpha_, out);
    ASSERT_TRUE(c.tell(look_up{beta_id_}));
    auto sum = out->wait();
    ASSERT_TRUE(sum.has_value());
    ASSERT_TRUE(*sum) << sum->error();
    EXPECT_EQ(**sum, 42);
    std::lock_guard lock(out->mutex);
    EXPECT_EQ(out->blocking_lookup, errc::would_block);
}

TEST_F(TwoNodes, LookupThenOutsideAnActorIsRefused) {
    auto ok = alpha_->lookup_then<service_protocol>(beta_id_, "svc", 1s,
                                                    [](expected<actor_ref<service_protocol>>) {});
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().code(), errc::invalid_argument);
}

TEST_F(TwoNodes, LookupOfAnUnknownNameFails) {
    auto missing = alpha_->lookup<service_protocol>(beta_id_, "nobody", 5s);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), errc::receiver_down);
}

TEST_F(TwoNodes, LookupWithAnotherProtocolIsATypeMismatch) {
    auto wrong = alpha_->lookup<demo::note>(beta_id_, "svc", 5s);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code(), errc::type_mismatch);
}

TEST_F(TwoNodes, LookingUpTwiceGivesTheSameRef) {
    auto one = remote_svc();
    auto two = remote_svc();
    ASSERT_TRUE(one && two);
    EXPECT_EQ(*one, *two);
}

TEST_F(TwoNodes, ARemoteStopReachesTheMonitorWithItsCause) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    ASSERT_TRUE(svc->ask(demo::add{1, 1}, 5s).get()); // the watch is set up by now
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(a_.on_exit(svc->addr(), [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(svc_.stop(error{errc::stopped, "maintenance"}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::stopped) << *cause;
}

TEST_F(TwoNodes, LosingTheLinkFiresMonitorsWithNodeUnreachable) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    ASSERT_TRUE(svc->ask(demo::add{1, 1}, 5s).get());
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(a_.on_exit(svc->addr(), [probe](const error& e) { probe->set(e); }));
    beta_->close();
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
    auto late = svc->ask(demo::add{1, 1}, 5s).get();
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), errc::receiver_down);
}

/// Links itself to a ref on its first message, then fails, stops normally,
/// or goes on.
struct link_to {
    actor_ref<service_protocol> peer;
    bool fail = false;
    bool stop = false;
};
class linker final : public actor<link_to> {
public:
    void on(link_to& l) {
        link(l.peer.addr());
        if (l.fail) {
            throw std::runtime_error("the linker fails");
        }
        if (l.stop) {
            stop();
        }
    }
};

TEST_F(TwoNodes, ALinkedLocalActorDiesWithTheRemoteOne) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    auto l = a_.spawn<linker>();
    ASSERT_TRUE(l.tell(link_to{*svc, false}));
    ASSERT_TRUE(svc->ask(demo::add{1, 1}, 5s).get()); // the watch is in place
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(a_.on_exit(l.addr(), [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(svc_.stop(error{errc::stopped, "maintenance"}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::linked_exit) << *cause;
}

TEST_F(TwoNodes, ALinkedLocalActorsFailureStopsTheRemoteOne) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(b_.on_exit(svc_.addr(), [probe](const error& e) { probe->set(e); }));
    auto l = a_.spawn<linker>();
    ASSERT_TRUE(l.tell(link_to{*svc, true}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::linked_exit) << *cause;
    EXPECT_NE(cause->to_string().find("the linker fails"), std::string::npos) << *cause;
}

/// As `service`, trapping exits: each exit signal goes to a probe, in turn.
class trapping_service final : public actor<service_protocol> {
public:
    explicit trapping_service(std::vector<std::shared_ptr<down_probe>> probes)
        : probes_(std::move(probes)) {}
    std::string on(demo::echo& e) { return e.text; }
    int on(demo::add& a) { return a.a + a.b; }
    void on(demo::note& /*unused*/) {}
    void on(demo::crash& /*unused*/) { throw std::runtime_error("asked to crash"); }
    void on_exit(const exit_msg& m) override {
        if (next_ < probes_.size()) {
            probes_[next_++]->set(m.cause);
        }
    }

private:
    std::vector<std::shared_ptr<down_probe>> probes_;
    std::size_t next_ = 0;
};

// OTP: a remote actor that traps exits hears of a linked actor's exit,
// normal or not, and goes on serving.
TEST_F(TwoNodes, ARemoteActorThatTrapsExitsHearsOfALinkedLocalActorsExit) {
    std::vector<std::shared_ptr<down_probe>> probes{std::make_shared<down_probe>(),
                                                    std::make_shared<down_probe>()};
    spawn_options trap;
    trap.trap_exits = true;
    auto trapper = b_.spawn_with<trapping_service>(trap, probes);
    ASSERT_TRUE(beta_->publish("trapper", trapper));
    auto remote = alpha_->lookup<service_protocol>(beta_id_, "trapper", 5s);
    ASSERT_TRUE(remote) << remote.error();
    auto normal = a_.spawn<linker>();
    ASSERT_TRUE(normal.tell(link_to{*remote, false, true}));
    auto first = probes[0]->wait();
    ASSERT_TRUE(first.has_value());
    EXPECT_FALSE(*first) << "a normal exit: " << *first;
    auto failing = a_.spawn<linker>();
    ASSERT_TRUE(failing.tell(link_to{*remote, true}));
    auto second = probes[1]->wait();
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->code(), errc::exception) << *second;
    EXPECT_NE(second->to_string().find("the linker fails"), std::string::npos) << *second;
    auto still = remote->ask(demo::add{2, 3}, 5s).get();
    ASSERT_TRUE(still) << still.error();
    EXPECT_EQ(*still, 5);
}

TEST_F(TwoNodes, ANameGoesWithItsActor) {
    auto svc = remote_svc();
    ASSERT_TRUE(svc);
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(a_.on_exit(svc->addr(), [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(svc_.stop());
    ASSERT_TRUE(probe->wait().has_value());
    auto again = remote_svc(); // not a proxy of the dead actor that never hears of its end
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), errc::receiver_down);
}

/// Opened once by the test; bounded waits, so a failed test cannot hang.
struct gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool reached = false; ///< a handler waits at the gate
    bool open = false;

    void release() {
        {
            std::lock_guard lock(mutex);
            open = true;
        }
        cv.notify_all();
    }
    void arrive() {
        {
            std::lock_guard lock(mutex);
            reached = true;
        }
        cv.notify_all();
    }
    void pass() {
        arrive();
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [&] { return open; });
    }
    bool wait_reached() {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 10s, [&] { return reached; });
    }
};

/// As `service`, but each note waits at the gate: its mailbox stays full.
class gated_service final : public actor<service_protocol> {
public:
    explicit gated_service(std::shared_ptr<gate> g) : gate_(std::move(g)) {}
    std::string on(demo::echo& e) { return e.text; }
    int on(demo::add& a) { return a.a + a.b; }
    void on(demo::note& /*unused*/) { gate_->pass(); }
    void on(demo::crash& /*unused*/) { throw std::runtime_error("asked to crash"); }

private:
    std::shared_ptr<gate> gate_;
};

/// As `service`, but a note parks its handler (a task sleeping for an
/// hour, holding no thread) after arriving at the gate: its mailbox stays full.
class parked_service final : public actor<service_protocol> {
public:
    explicit parked_service(std::shared_ptr<gate> g) : gate_(std::move(g)) {}
    std::string on(demo::echo& e) { return e.text; }
    int on(demo::add& a) { return a.a + a.b; }
    task<> on(demo::note& /*unused*/) {
        gate_->arrive();
        (void)co_await sleep(1h);
    }
    void on(demo::crash& /*unused*/) { throw std::runtime_error("asked to crash"); }

private:
    std::shared_ptr<gate> gate_;
};

// A remote ask to a full receiver whose policy waits for room (`block`,
// `suspend`) waits, as a local one does (in the link actor, which holds the
// link's later frames back), and is answered once there is room; a
// receiver that rejects refuses it with `mailbox_full`.
TEST_F(TwoNodes, ARemoteAskToAFullReceiverFollowsTheReceiversPolicy) {
    for (auto policy :
         {overflow_policy::block, overflow_policy::suspend, overflow_policy::reject}) {
        auto g = std::make_shared<gate>();
        auto held = b_.spawn_with<gated_service>(spawn_options{.capacity = 1, .policy = policy}, g);
        const std::string name = "held-" + std::to_string(static_cast<int>(policy));
        ASSERT_TRUE(beta_->publish(name, held));
        auto remote = alpha_->lookup<service_protocol>(beta_id_, name, 5s);
        ASSERT_TRUE(remote) << remote.error();
        const auto c = beta_->counters();
        const std::uint64_t before = c.delivered_directly + c.delivered_by_link_actor;
        EXPECT_TRUE(remote->tell(demo::note{"held at the gate"}));
        ASSERT_TRUE(g->wait_reached()); // out of the mailbox: the next note fills it
        EXPECT_TRUE(remote->tell(demo::note{"fills the mailbox"}));
        auto answer = remote->ask(demo::echo{"behind them"}, 20s);
        // Before the gate opens: with `reject`, the ask was refused; else the
        // three frames are on the receiving node (the ask queued behind the
        // second note, in a full mailbox, which only the gate can empty).
        for (int i = 0; i < 10000; ++i) {
            const auto now = beta_->counters();
            if (policy == overflow_policy::reject
                    ? b_.counters(held.addr()).value().rejected > 0
                    : now.delivered_directly + now.delivered_by_link_actor >= before + 3) {
                break;
            }
            std::this_thread::sleep_for(1ms);
        }
        g->release();
        auto r = answer.get();
        if (policy == overflow_policy::reject) {
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().code(), errc::mailbox_full);
            EXPECT_EQ(b_.counters(held.addr()).value().rejected, 1u);
            continue;
        }
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(*r, "behind them");
        EXPECT_EQ(b_.counters(held.addr()).value().rejected, 0u);
    }
}

// A receiver that redirects to a full one that waits for room: the link
// actor may not wait there (`would_block` on a worker), and the peer's asker
// gets what a full mailbox gives, `mailbox_full`.
TEST_F(TwoNodes, ARemoteAskRedirectedToAFullWaitingReceiverIsMailboxFull) {
    // Each gated receiver holds one note at its gate and one in its mailbox.
    const auto fill = [](const actor_ref<service_protocol>& r, gate& g) {
        EXPECT_TRUE(r.tell(demo::note{"held at the gate"}));
        ASSERT_TRUE(g.wait_reached()); // out of the mailbox: the next note fills it
        EXPECT_TRUE(r.tell(demo::note{"fills the mailbox"}));
    };
    // Parked, not gated: a second handler waiting at a gate would hold a
    // second worker (of two on a 2-core host), leaving none for the link actor.
    auto last_gate = std::make_shared<gate>();
    auto last = b_.spawn_with<parked_service>(
        spawn_options{.capacity = 1, .policy = overflow_policy::block}, last_gate);
    fill(last, *last_gate);
    auto first_gate = std::make_shared<gate>();
    auto first = b_.spawn_with<gated_service>(spawn_options{.capacity = 1,
                                                            .policy = overflow_policy::redirect,
                                                            .redirect_to = last.addr()},
                                              first_gate);
    fill(first, *first_gate);
    ASSERT_TRUE(beta_->publish("redirecting", first));
    auto remote = alpha_->lookup<service_protocol>(beta_id_, "redirecting", 5s);
    ASSERT_TRUE(remote) << remote.error();
    auto r = remote->ask(demo::echo{"nowhere to go"}, 20s).get();
    first_gate->release();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::mailbox_full) << r.error();
}

/// Beta's "parked" (a parked_service of capacity 1), whose handler is parked
/// and whose mailbox is full: a third note from alpha makes beta's link
/// actor wait for room.
class FullReceiver : public TwoNodes {
protected:
    void park_and_fill(overflow_policy policy) {
        auto g = std::make_shared<gate>();
        parked_ = b_.spawn_with<parked_service>(spawn_options{.capacity = 1, .policy = policy}, g);
        ASSERT_TRUE(beta_->publish("parked", parked_));
        auto remote = alpha_->lookup<service_protocol>(beta_id_, "parked", 5s);
        ASSERT_TRUE(remote) << remote.error(); // after a round trip: beta has the link too
        remote_ = *remote;
        EXPECT_TRUE(remote_.tell(demo::note{"parks the handler"}));
        ASSERT_TRUE(g->wait_reached());
        EXPECT_TRUE(remote_.tell(demo::note{"fills the mailbox"}));
    }
    /// Message frames beta delivered or handed to its link actor.
    std::uint64_t delivered() const {
        const auto c = beta_->counters();
        return c.delivered_directly + c.delivered_by_link_actor;
    }
    void wait_delivered(std::uint64_t n) const {
        for (int i = 0; i < 10000 && delivered() < n; ++i) {
            std::this_thread::sleep_for(1ms);
        }
        ASSERT_EQ(delivered(), n);
    }

    actor_ref<service_protocol> parked_;
    actor_ref<service_protocol> remote_; // alpha's ref to it
};

// The link actor waiting for room in a full receiver (policy block) does
// not outlive the link: losing it ends the wait, the frame becomes a
// link_lost dead letter, and the proxies it holds fire node_unreachable.
TEST_F(FullReceiver, LosingTheLinkEndsAWaitForRoomFiresMonitorsAndCountsWhatWasQueued) {
    const std::uint64_t before = delivered();
    ASSERT_NO_FATAL_FAILURE(park_and_fill(overflow_policy::block)); // beta has the link now
    auto on_alpha = a_.spawn<service>(&box_);
    ASSERT_TRUE(alpha_->publish("on-alpha", on_alpha));
    auto back = beta_->lookup<service_protocol>(alpha_->id(), "on-alpha", 5s);
    ASSERT_TRUE(back) << back.error(); // a proxy, child of beta's link actor
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(b_.on_exit(back->addr(), [probe](const error& e) { probe->set(e); }));
    EXPECT_TRUE(remote_.tell(demo::note{"waits for room"}));
    ASSERT_NO_FATAL_FAILURE(wait_delivered(before + 3)); // the third note is on beta
    // Two more, queued for the link actor behind the waiting one (a later read).
    EXPECT_TRUE(remote_.tell(demo::note{"queued behind, one"}));
    EXPECT_TRUE(remote_.tell(demo::note{"queued behind, two"}));
    ASSERT_NO_FATAL_FAILURE(wait_delivered(before + 5));
    alpha_->close();
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value()) << "the proxy outlived its link";
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
    const auto& dead = b_.dead_letters();
    for (int i = 0; i < 10000 && dead.count(dead_letter_reason::link_lost) < 3; ++i) {
        std::this_thread::sleep_for(1ms); // the wait's end is on the link actor's turn
    }
    EXPECT_EQ(dead.count(dead_letter_reason::link_lost), 3u)
        << "the waiting note and the two queued behind it";
}

// A remote ask waiting for room (policy suspend: no timeout of its own) holds
// the link's later frames back only until the ask's deadline: then it is not
// delivered (its asker has its timeout), and the frames behind it flow again.
TEST_F(FullReceiver, ARemoteAskWaitingForRoomLetsTheLinkGoAtItsDeadline) {
    auto remote_svc_ref = remote_svc();
    ASSERT_TRUE(remote_svc_ref) << remote_svc_ref.error();
    ASSERT_NO_FATAL_FAILURE(park_and_fill(overflow_policy::suspend));
    auto waited = remote_.ask(demo::echo{"waits for room"}, 300ms).get();
    ASSERT_FALSE(waited);
    EXPECT_EQ(waited.error().code(), errc::timeout) << waited.error();
    // Behind it on the link: delivered once the wait has given up.
    auto behind = remote_svc_ref->ask(demo::echo{"behind it"}, 30s).get();
    ASSERT_TRUE(behind) << behind.error();
    EXPECT_EQ(*behind, "behind it");
    const auto c = b_.counters(parked_.addr()).value();
    EXPECT_EQ(c.queued, 1u) << "the note that fills the mailbox";
    EXPECT_EQ(c.rejected, 1u) << "the ask, given up at its deadline";
}

// An ask queued behind a message waiting for room keeps its deadline from
// when it arrived: reached only after that, it is refused, not delivered late.
TEST_F(FullReceiver, AnAskThatExpiredBehindAWaitingMessageIsNotDelivered) {
    auto g = std::make_shared<gate>();
    auto held = b_.spawn_with<gated_service>(
        spawn_options{.capacity = 1, .policy = overflow_policy::suspend}, g);
    ASSERT_TRUE(beta_->publish("held", held));
    auto remote = alpha_->lookup<service_protocol>(beta_id_, "held", 5s);
    auto remote_svc_ref = remote_svc();
    ASSERT_TRUE(remote && remote_svc_ref);
    const std::uint64_t before = delivered();
    EXPECT_TRUE(remote->tell(demo::note{"held at the gate"}));
    ASSERT_TRUE(g->wait_reached());
    EXPECT_TRUE(remote->tell(demo::note{"fills the mailbox"}));
    EXPECT_TRUE(remote->tell(demo::note{"waits for room"}));
    // Two proxies are two senders (no order between them): the ask goes once
    // the note is on beta.
    ASSERT_NO_FATAL_FAILURE(wait_delivered(before + 3));
    auto late = remote_svc_ref->ask(demo::echo{"queued behind"}, 200ms);
    ASSERT_NO_FATAL_FAILURE(wait_delivered(before + 4)); // the ask is on beta, behind the note
    // It arrived before this point: its deadline on beta passes within 200 ms of it.
    std::this_thread::sleep_until(std::chrono::steady_clock::now() + 250ms);
    auto r = late.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::timeout);
    const auto svc_before = b_.counters(svc_.addr()).value().sent;
    const auto full_before = b_.dead_letters().count(dead_letter_reason::mailbox_full);
    g->release(); // room: the waiting note goes in, then the link actor reaches the ask
    auto after = remote_svc_ref->ask(demo::echo{"after it"}, 30s).get();
    ASSERT_TRUE(after) << after.error();
    EXPECT_EQ(b_.counters(svc_.addr()).value().sent, svc_before + 1) << "only the later ask";
    EXPECT_EQ(b_.dead_letters().count(dead_letter_reason::mailbox_full), full_before + 1);
    EXPECT_EQ(a_.late_replies(), 0u);
}

// The peer's lookups do not queue behind a message waiting for room: the
// I/O thread answers them.
TEST_F(FullReceiver, ALookupIsAnsweredWhileTheLinkWaitsForRoom) {
    const std::uint64_t before = delivered();
    ASSERT_NO_FATAL_FAILURE(park_and_fill(overflow_policy::suspend));
    EXPECT_TRUE(remote_.tell(demo::note{"waits for room"}));
    ASSERT_NO_FATAL_FAILURE(wait_delivered(before + 3)); // beta's link actor waits with it
    ASSERT_TRUE(beta_->publish("published later", b_.spawn<service>(&box_)));
    auto found = alpha_->lookup<service_protocol>(beta_id_, "published later", 30s);
    ASSERT_TRUE(found) << found.error();
    auto missing = alpha_->lookup<service_protocol>(beta_id_, "nobody", 30s);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), errc::receiver_down) << missing.error();
}

TEST(Node, TheSmallestWindowStillCarriesTheLargestFrame) {
    troupe::system a;
    troupe::system b;
    auto oa = options("alpha");
    oa.max_frame_size = 4096;
    oa.receive_window = 4100; // the least attach allows
    auto ob = oa;
    ob.name = "beta";
    auto na = node::attach(a, oa);
    auto nb = node::attach(b, ob);
    ASSERT_TRUE(na && nb);
    auto svc = b.spawn<service>(nullptr);
    ASSERT_TRUE((*nb)->publish("svc", svc));
    auto port = (*nb)->listen();
    ASSERT_TRUE(port);
    auto peer = (*na)->connect("127.0.0.1", *port);
    ASSERT_TRUE(peer);
    auto remote = (*na)->lookup<service_protocol>(peer->id, "svc", 5s);
    ASSERT_TRUE(remote);
    // A small message, then one that needs nearly the whole window: the credit
    // of the first must come back although it is less than a quarter of it.
    for (std::size_t size : {1100U, 3700U, 10U, 3700U}) {
        auto r = remote->ask(demo::echo{std::string(size, 'w')}, 10s).get();
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(r->size(), size);
    }
}

TEST(Node, AWrongSecretIsRefusedOnBothSides) {
    troupe::system a;
    troupe::system b;
    auto na = node::attach(a, options("alpha", "one secret of sixteen+"));
    auto nb = node::attach(b, options("beta", "another secret, 16+"));
    ASSERT_TRUE(na && nb);
    auto port = (*nb)->listen();
    ASSERT_TRUE(port);
    auto peer = (*na)->connect("127.0.0.1", *port);
    ASSERT_FALSE(peer);
    EXPECT_EQ(peer.error().code(), errc::unauthenticated) << peer.error();
    EXPECT_TRUE((*na)->peers().empty());
}

TEST(Node, ALinkIsSealedIfEitherNodeAsks) {
    for (const auto& [a_seals, b_seals] : {std::pair{true, true}, std::pair{false, true},
                                           std::pair{true, false}, std::pair{false, false}}) {
        troupe::system a;
        troupe::system b;
        auto oa = options("alpha");
        oa.encrypt = a_seals;
        auto ob = options("beta");
        ob.encrypt = b_seals;
        auto na = node::attach(a, oa);
        auto nb = node::attach(b, ob);
        ASSERT_TRUE(na && nb);
        auto svc = b.spawn<service>(nullptr);
        ASSERT_TRUE((*nb)->publish("svc", svc));
        auto port = (*nb)->listen();
        ASSERT_TRUE(port);
        auto peer = (*na)->connect("127.0.0.1", *port);
        ASSERT_TRUE(peer) << peer.error();
        EXPECT_EQ(peer->sealed, a_seals || b_seals);
        EXPECT_EQ(peer->type_table_hash, (*na)->peers().at(0).type_table_hash);
        auto remote = (*na)->lookup<service_protocol>(peer->id, "svc", 5s);
        ASSERT_TRUE(remote) << remote.error();
        auto r = remote->ask(demo::echo{std::string(10000, 's')}, 5s).get();
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(r->size(), 10000u);
    }
}

TEST(Node, BadOptionsAreRefused) {
    troupe::system s;
    EXPECT_EQ(node::attach(s, options("")).error().code(), errc::invalid_argument);
    EXPECT_EQ(node::attach(s, options("a/b")).error().code(), errc::invalid_argument);
    auto no_secret = options("x");
    no_secret.secret.clear();
    EXPECT_EQ(node::attach(s, no_secret).error().code(), errc::invalid_argument);
    EXPECT_EQ(node::attach(s, options("x", "short")).error().code(), errc::invalid_argument);
    auto first = node::attach(s, options("x"));
    ASSERT_TRUE(first);
    EXPECT_EQ(node::attach(s, options("y")).error().code(), errc::name_taken);
}

TEST(Node, ConnectingToNobodyIsNodeUnreachable) {
    troupe::system s;
    auto n = node::attach(s, options("lonely"));
    ASSERT_TRUE(n);
    auto port = (*n)->listen();
    ASSERT_TRUE(port);
    (*n)->close();
    troupe::system t;
    auto m = node::attach(t, options("other"));
    ASSERT_TRUE(m);
    auto peer = (*m)->connect("127.0.0.1", *port);
    ASSERT_FALSE(peer);
    EXPECT_EQ(peer.error().code(), errc::node_unreachable) << peer.error();
}

} // namespace
} // namespace troupe::net
