// Part of troupe. See LICENSE at the repository root.

// Refs inside messages (docs/net.md "Refs inside messages"): a ref sent to a
// peer works there as a local one, a ref handed back is the original actor,
// a ref passed on to a third node is routed, and what cannot be a ref is
// refused with a typed error.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "net_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace refs {
/// What the answering actor speaks.
struct ping {
    using reply_type = std::string;
    std::string text;
    MSGPACK_DEFINE(text)
};
struct boom {
    MSGPACK_DEFINE()
};
using answer_protocol = std::variant<ping, boom>;

/// Asks `who` a ping, answers with its reply.
struct call {
    using reply_type = std::string;
    troupe::actor_ref<answer_protocol> who;
    std::string text;
    MSGPACK_DEFINE(who, text)
};
/// Asks every ref a ping, answers with the replies joined by '|' ("-" for an empty optional).
struct call_all {
    using reply_type = std::string;
    std::vector<troupe::actor_ref<answer_protocol>> many;
    std::optional<troupe::actor_ref<answer_protocol>> maybe;
    MSGPACK_DEFINE(many, maybe)
};
/// Answers with the ref it was given.
struct hand_back {
    using reply_type = troupe::actor_ref<answer_protocol>;
    troupe::actor_ref<answer_protocol> who;
    MSGPACK_DEFINE(who)
};
/// Answers with the path the ref has on the receiving node ("" when empty).
struct where {
    using reply_type = std::string;
    troupe::actor_ref<answer_protocol> who;
    MSGPACK_DEFINE(who)
};
/// Passes the ref on (a tell to the receiver's sink).
struct pass {
    troupe::actor_ref<answer_protocol> who;
    MSGPACK_DEFINE(who)
};
/// Kept by the sink.
struct keep {
    troupe::actor_ref<answer_protocol> who;
    MSGPACK_DEFINE(who)
};

/// Two types with one wire name (as two builds that disagree): the sender's
/// holds a ref speaking answer_protocol, the receiver's one speaking ping.
struct strict_sent {
    using reply_type = std::string;
    troupe::actor_ref<answer_protocol> who;
    MSGPACK_DEFINE(who)
};
struct strict_received {
    using reply_type = std::string;
    troupe::actor_ref<ping> who;
    MSGPACK_DEFINE(who)
};
/// Holds a ref whose protocol has the signature of `ping` alone, as another C++ type.
struct single_check {
    using reply_type = std::string;
    troupe::actor_ref<std::variant<ping>> who;
    MSGPACK_DEFINE(who)
};
} // namespace refs
TROUPE_WIRE_TYPE(::refs::ping, "ref.ping", 1);
TROUPE_WIRE_TYPE(::refs::boom, "ref.boom", 1);
TROUPE_WIRE_TYPE(::refs::call, "ref.call", 1);
TROUPE_WIRE_TYPE(::refs::call_all, "ref.call_all", 1);
TROUPE_WIRE_TYPE(::refs::hand_back, "ref.hand_back", 1);
TROUPE_WIRE_TYPE(::refs::where, "ref.where", 1);
TROUPE_WIRE_TYPE(::refs::pass, "ref.pass", 1);
TROUPE_WIRE_TYPE(::refs::keep, "ref.keep", 1);
TROUPE_WIRE_TYPE(::refs::strict_sent, "ref.strict", 1);
TROUPE_WIRE_TYPE(::refs::strict_received, "ref.strict", 1);
TROUPE_WIRE_TYPE(::refs::single_check, "ref.single_check", 1);

namespace troupe::net {
namespace {

using testing::options;

using namespace std::chrono_literals;
using refs::answer_protocol;
using testing::down_probe;
using answer_ref = actor_ref<answer_protocol>;
using service_protocol = std::variant<refs::call, refs::call_all, refs::hand_back, refs::where>;

static_assert(wire_value<answer_ref>, "a ref is a wire value (a reply may be one)");
static_assert(wire_value<std::vector<answer_ref>>);
static_assert(!wire_value<actor_ref<int>>, "a ref to a protocol that cannot cross the wire");
static_assert(std::is_same_v<refs::hand_back::reply_type, answer_ref>);

/// Answers pings with "<name>:<text>"; fails on boom.
class answerer final : public actor<answer_protocol> {
public:
    explicit answerer(std::string name) : name_(std::move(name)) {}
    std::string on(refs::ping& p) { return name_ + ":" + p.text; }
    void on(refs::boom& /*unused*/) { throw std::runtime_error("answerer blew up"); }

private:
    std::string name_;
};

/// Uses the refs it is given, on the node it runs on.
class service final : public actor<service_protocol> {
public:
    task<std::string> on(refs::call& c) {
        const refs::ping p{c.text};
        auto r = co_await c.who.ask(p, 10s);
        co_return r ? *r : "error: " + r.error().to_string();
    }
    task<std::string> on(refs::call_all& c) {
        std::string out;
        for (const auto& who : c.many) {
            const refs::ping p{"all"};
            auto r = co_await who.ask(p, 10s);
            out += (r ? *r : "error") + "|";
        }
        if (c.maybe) {
            const refs::ping p{"maybe"};
            auto r = co_await c.maybe->ask(p, 10s);
            out += r ? *r : "error";
        } else {
            out += "-";
        }
        co_return out;
    }
    answer_ref on(refs::hand_back& h) { return h.who; }
    std::string on(refs::where& w) { return w.who ? w.who.path() : std::string(); }
};

/// Answers with whether its ref is there; never asks it.
class strict_service final : public actor<refs::strict_received> {
public:
    std::string on(refs::strict_received& s) { return s.who ? "a ref" : "no ref"; }
};

/// Speaks `ping` alone (its signature is that of `std::variant<ping>`).
class ping_only final : public actor<refs::ping> {
public:
    std::string on(refs::ping& p) { return "beta:" + p.text; }
};
class single_service final : public actor<refs::single_check> {
public:
    std::string on(refs::single_check& s) { return s.who ? "a ref" : "no ref"; }
};

/// Holds the last ref it was given, for the test thread.
struct kept {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<answer_ref> who;
    void set(answer_ref r) {
        {
            std::lock_guard lock(mutex);
            who = std::move(r);
        }
        cv.notify_all();
    }
    std::optional<answer_ref> wait() {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 20s, [&] { return who.has_value(); });
        return who;
    }
};
class sink final : public actor<refs::keep> {
public:
    explicit sink(std::shared_ptr<kept> out) : out_(std::move(out)) {}
    void on(refs::keep& k) { out_->set(k.who); }

private:
    std::shared_ptr<kept> out_;
};

/// Passes refs on to a sink (a ref to it given at the start: a proxy).
class forwarder final : public actor<refs::pass> {
public:
    explicit forwarder(actor_ref<refs::keep> to) : to_(std::move(to)) {}
    void on(refs::pass& p) { (void)to_.tell(refs::keep{p.who}); }

private:
    actor_ref<refs::keep> to_;
};

/// Alpha connects to beta, which publishes a service.
class RefsTwoNodes : public ::testing::Test {
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
        ASSERT_TRUE(beta_->publish("svc", b_.spawn<service>()));
        auto peer = alpha_->connect("127.0.0.1", *port);
        ASSERT_TRUE(peer) << peer.error();
        beta_id_ = peer->id;
        auto svc = alpha_->lookup<service_protocol>(beta_id_, "svc", 5s);
        ASSERT_TRUE(svc) << svc.error();
        svc_ = *svc;
        local_ = a_.spawn<answerer>("alpha");
    }

    troupe::system a_;
    troupe::system b_;
    std::shared_ptr<node> alpha_;
    std::shared_ptr<node> beta_;
    std::uint64_t beta_id_ = 0;
    actor_ref<service_protocol> svc_; // on alpha: the proxy of beta's service
    answer_ref local_;                // alpha's own actor
};

TEST_F(RefsTwoNodes, APeerAsksARefToALocalActorAndGetsTheAnswer) {
    auto r = svc_.ask(refs::call{local_, "hi"}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, "alpha:hi"); // beta asked alpha's actor through the ref it got
}

TEST_F(RefsTwoNodes, RefsInsideVectorsAndOptionalsWork) {
    auto other = a_.spawn<answerer>("other");
    auto r = svc_.ask(refs::call_all{{local_, other}, local_}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, "alpha:all|other:all|alpha:maybe");
    auto none = svc_.ask(refs::call_all{{}, std::nullopt}, 10s).get();
    ASSERT_TRUE(none) << none.error();
    EXPECT_EQ(*none, "-");
}

TEST_F(RefsTwoNodes, ARefHandedBackIsTheOriginalLocalActor) {
    auto back = svc_.ask(refs::hand_back{local_}, 10s).get();
    ASSERT_TRUE(back) << back.error();
    ASSERT_TRUE(*back);
    EXPECT_EQ(back->addr(), local_.addr()); // not a proxy of a proxy
    EXPECT_EQ(*back, local_);
}

TEST_F(RefsTwoNodes, OneActorSentTwiceIsOneProxyThere) {
    auto first = svc_.ask(refs::where{local_}, 10s).get();
    auto second = svc_.ask(refs::where{local_}, 10s).get();
    ASSERT_TRUE(first) << first.error();
    ASSERT_TRUE(second) << second.error();
    EXPECT_NE(first->find("/user/net/peer-"), std::string::npos) << *first; // a proxy on beta
    EXPECT_EQ(*first, *second); // the same export id, so the same proxy
}

TEST_F(RefsTwoNodes, AnEmptyRefArrivesEmpty) {
    auto back = svc_.ask(refs::hand_back{answer_ref{}}, 10s).get();
    ASSERT_TRUE(back) << back.error();
    EXPECT_FALSE(*back);
    auto path = svc_.ask(refs::where{answer_ref{}}, 10s).get();
    ASSERT_TRUE(path) << path.error();
    EXPECT_EQ(*path, "");
}

TEST_F(RefsTwoNodes, ARefOfAnotherProtocolIsATypedRefusal) {
    ASSERT_TRUE(beta_->publish("strict", b_.spawn<strict_service>()));
    // The signatures of the message protocols agree (one wire name), so the
    // lookup succeeds; the ref inside speaks another protocol there.
    auto strict = alpha_->lookup<refs::strict_sent>(beta_id_, "strict", 5s);
    ASSERT_TRUE(strict) << strict.error();
    auto r = strict->ask(refs::strict_sent{local_}, 10s).get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::type_mismatch) << r.error();
    EXPECT_GE(beta_->counters().messages_refused, 1U);
    // The signature is checked for an empty ref too.
    auto empty = strict->ask(refs::strict_sent{answer_ref{}}, 10s).get();
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code(), errc::type_mismatch) << empty.error();
    // and the link goes on.
    auto ok = svc_.ask(refs::call{local_, "still"}, 10s).get();
    ASSERT_TRUE(ok) << ok.error();
    EXPECT_EQ(*ok, "alpha:still");
}

TEST_F(RefsTwoNodes, AHandedBackRefOfAnotherCxxProtocolIsATypeMismatch) {
    ASSERT_TRUE(beta_->publish("ping", b_.spawn<ping_only>()));
    ASSERT_TRUE(beta_->publish("single", b_.spawn<single_service>()));
    // One signature, two C++ types: the lookup accepts it, the proxy speaks the variant.
    auto pinger = alpha_->lookup<std::variant<refs::ping>>(beta_id_, "ping", 5s);
    ASSERT_TRUE(pinger) << pinger.error();
    auto single = alpha_->lookup<refs::single_check>(beta_id_, "single", 5s);
    ASSERT_TRUE(single) << single.error();
    // Handed back, the ref is beta's own actor, which speaks `ping`, not the variant.
    auto r = single->ask(refs::single_check{*pinger}, 10s).get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::type_mismatch) << r.error();
    auto empty = single->ask(refs::single_check{}, 10s).get();
    ASSERT_TRUE(empty) << empty.error();
    EXPECT_EQ(*empty, "no ref");
}

TEST_F(RefsTwoNodes, AMonitorOfTheRefOnThePeerSeesTheRealCause) {
    // Asked through: beta's proxy watches alpha's actor by now (its watch
    // travels ahead of its messages), so the cause is the real one, not noproc.
    auto asked = svc_.ask(refs::call{local_, "first"}, 10s).get();
    ASSERT_TRUE(asked) << asked.error();
    auto back = svc_.ask(refs::where{local_}, 10s).get();
    ASSERT_TRUE(back) << back.error();
    auto proxy = b_.find_addr(*back); // beta's proxy of alpha's actor
    ASSERT_TRUE(proxy) << proxy.error();
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(b_.on_exit(*proxy, [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(local_.tell(refs::boom{}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::exception) << *cause;
    EXPECT_NE(cause->to_string().find("answerer blew up"), std::string::npos) << *cause;
}

TEST_F(RefsTwoNodes, ARefOnThePeerDiesWithTheLink) {
    auto back = svc_.ask(refs::where{local_}, 10s).get();
    ASSERT_TRUE(back) << back.error();
    auto proxy = b_.find_addr(*back);
    ASSERT_TRUE(proxy) << proxy.error();
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(b_.on_exit(*proxy, [probe](const error& e) { probe->set(e); }));
    alpha_->close();
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
}

/// Alpha - beta - gamma: alpha and gamma are not connected.
class RefsThreeNodes : public ::testing::Test {
protected:
    void SetUp() override {
        auto na = node::attach(a_, options("alpha"));
        auto nb = node::attach(b_, options("beta"));
        auto nc = node::attach(c_, options("gamma"));
        ASSERT_TRUE(na && nb && nc);
        alpha_ = *na;
        beta_ = *nb;
        gamma_ = *nc;
        auto beta_port = beta_->listen();
        auto gamma_port = gamma_->listen();
        ASSERT_TRUE(beta_port && gamma_port);
        ASSERT_TRUE(gamma_->publish("sink", c_.spawn<sink>(kept_)));
        auto to_gamma = beta_->connect("127.0.0.1", *gamma_port);
        ASSERT_TRUE(to_gamma) << to_gamma.error();
        auto gamma_sink = beta_->lookup<refs::keep>(to_gamma->id, "sink", 5s);
        ASSERT_TRUE(gamma_sink) << gamma_sink.error();
        ASSERT_TRUE(beta_->publish("fwd", b_.spawn<forwarder>(*gamma_sink)));
        auto to_beta = alpha_->connect("127.0.0.1", *beta_port);
        ASSERT_TRUE(to_beta) << to_beta.error();
        auto fwd = alpha_->lookup<refs::pass>(to_beta->id, "fwd", 5s);
        ASSERT_TRUE(fwd) << fwd.error();
        fwd_ = *fwd;
        local_ = a_.spawn<answerer>("alpha");
    }

    troupe::system a_;
    troupe::system b_;
    troupe::system c_;
    std::shared_ptr<node> alpha_;
    std::shared_ptr<node> beta_;
    std::shared_ptr<node> gamma_;
    std::shared_ptr<kept> kept_ = std::make_shared<kept>();
    actor_ref<refs::pass> fwd_;
    answer_ref local_;
};

TEST_F(RefsThreeNodes, ARefPassedOnIsRoutedAndCarriesTheRealExitCause) {
    ASSERT_TRUE(fwd_.tell(refs::pass{local_}));
    auto on_gamma = kept_->wait();
    ASSERT_TRUE(on_gamma.has_value());
    ASSERT_TRUE(*on_gamma);
    EXPECT_TRUE(gamma_->peers().size() == 1U); // only beta: the ref is routed through it
    auto r = on_gamma->ask(refs::ping{"routed"}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, "alpha:routed");

    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(c_.on_exit(on_gamma->addr(), [probe](const error& e) { probe->set(e); }));
    ASSERT_TRUE(local_.tell(refs::boom{}));
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::exception) << *cause;
    EXPECT_NE(cause->to_string().find("answerer blew up"), std::string::npos) << *cause;
}

TEST_F(RefsThreeNodes, ARoutedRefDiesWhenTheFirstLinkIsLost) {
    ASSERT_TRUE(fwd_.tell(refs::pass{local_}));
    auto on_gamma = kept_->wait();
    ASSERT_TRUE(on_gamma.has_value() && *on_gamma);
    // Answered: gamma's proxy watches beta's export by now (its watch travels
    // ahead of its messages), so the cause is the loss, not noproc.
    auto r = on_gamma->ask(refs::ping{"first"}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    auto probe = std::make_shared<down_probe>();
    ASSERT_TRUE(c_.on_exit(on_gamma->addr(), [probe](const error& e) { probe->set(e); }));
    alpha_->close(); // the alpha-beta link: beta's proxy goes, and gamma's with it
    auto cause = probe->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
}

// ---- without a link ------------------------------------------------------------------

TEST(RefCodec, ARefEncodesOnlyForALink) {
    troupe::system sys;
    auto a = sys.spawn<answerer>("x");
    detail::bytes buf{std::byte{0x7f}};
    auto ok = detail::encode(refs::call{a, "t"}, buf);
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().code(), errc::invalid_argument) << ok.error();
    EXPECT_EQ(buf, detail::bytes{std::byte{0x7f}}); // untouched
    // Told locally, the same message needs no encoding at all.
    auto svc = sys.spawn<service>();
    auto r = svc.ask(refs::call{a, "local"}, 10s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, "x:local");
}

TEST(RefCodec, AnEmptyRefRoundTripsAnywhere) {
    detail::bytes buf;
    ASSERT_TRUE(detail::encode(refs::call{answer_ref{}, "t"}, buf));
    auto back = detail::decode<refs::call>(buf);
    ASSERT_TRUE(back) << back.error();
    EXPECT_FALSE(back->who);
    EXPECT_EQ(back->text, "t");
}

using testing::ref_payload;

TEST(RefCodec, WhatCannotBeARefIsRefusedWithATypedError) {
    const std::string sig = detail::protocol_signature<answer_protocol>();
    EXPECT_EQ(sig, "ref.boom@1,ref.ping@1");
    EXPECT_EQ(detail::wire_name<answer_ref>(), "ref<ref.boom@1,ref.ping@1>");
    const auto code_of = [](const detail::bytes& b) {
        auto v = detail::decode<refs::where>(b);
        return v ? errc::none : v.error().code();
    };
    EXPECT_EQ(code_of(ref_payload(2, 1, "ref.ping@1")), errc::type_mismatch);
    EXPECT_EQ(code_of(ref_payload(0, 0, "")), errc::type_mismatch);
    EXPECT_EQ(code_of(ref_payload(0, 7, sig)), errc::malformed);        // an empty ref with an id
    EXPECT_EQ(code_of(ref_payload(9, 1, sig)), errc::malformed);        // no such tag
    EXPECT_EQ(code_of(ref_payload(2, 1, sig)), errc::invalid_argument); // outside a link
    EXPECT_EQ(code_of(ref_payload(1, 1, sig)), errc::invalid_argument);
    EXPECT_EQ(code_of(ref_payload(256, 1, sig)), errc::malformed); // the tag is a u8
    EXPECT_EQ(code_of(ref_payload(0, 0, sig)), errc::none);
    // Not the array of three: malformed, as any shape that does not fit.
    msgpack::sbuffer sb;
    msgpack::packer<msgpack::sbuffer> pk(sb);
    pk.pack_array(1);
    pk.pack(std::string("a ref?"));
    const auto* p = reinterpret_cast<const std::byte*>(sb.data()); // NOLINT: byte view
    EXPECT_EQ(code_of(detail::bytes(p, p + sb.size())), errc::malformed);
}

} // namespace
} // namespace troupe::net
