// Part of troupe. See LICENSE at the repository root.

// Hostile or broken peers, played by a raw loopback socket: each is closed
// and counted, the node's memory stays flat, and established links go on.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "net_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace refusal {
struct ping {
    using reply_type = int;
    int n = 0;
    MSGPACK_DEFINE(n)
};
/// Holds a ref to a pinger (docs/net.md "Refs inside messages").
struct with_ref {
    using reply_type = std::string;
    troupe::actor_ref<ping> who;
    MSGPACK_DEFINE(who)
};
} // namespace refusal
TROUPE_WIRE_TYPE(::refusal::ping, "refusal.ping", 1);
TROUPE_WIRE_TYPE(::refusal::with_ref, "refusal.with_ref", 1);

namespace troupe::net {
namespace {

using namespace std::chrono_literals;

class pinger final : public actor<refusal::ping> {
public:
    int on(refusal::ping& p) { return p.n + 1; }
};

/// Answers with the path of the ref it got ("" for an empty one).
class ref_reader final : public actor<refusal::with_ref> {
public:
    std::string on(refusal::with_ref& w) { return w.who ? w.who.path() : std::string(); }
};

/// A blocking loopback client with a 10 s receive bound.
class raw_client {
public:
    explicit raw_client(std::uint16_t port) : fd_(testing::connect_loopback(port)) {}
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    ~raw_client() { ::close(fd_); }
    [[nodiscard]] bool connected() const { return fd_ >= 0; }
    void send(const std::vector<unsigned char>& bytes) const {
        (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    /// Reads until the node closes the connection; false if it did not
    /// within the receive bound.
    [[nodiscard]] bool closed_by_peer() const {
        char buf[4096];
        for (;;) {
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) {
                return true;
            }
            if (n < 0) {
                return errno == ECONNRESET;
            }
        }
    }

private:
    int fd_;
};

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    std::size_t resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

class HostilePeers : public ::testing::Test {
protected:
    void SetUp() override {
        node_options o;
        o.name = "target";
        o.secret = "a shared cluster secret";
        o.handshake_timeout = 300ms;
        auto n = node::attach(target_sys_, o);
        ASSERT_TRUE(n) << n.error();
        target_ = *n;
        auto port = target_->listen();
        ASSERT_TRUE(port);
        port_ = *port;
        ASSERT_TRUE(target_->publish("pinger", target_sys_.spawn<pinger>()));
        o.name = "friend";
        auto f = node::attach(friend_sys_, o);
        ASSERT_TRUE(f);
        friend_ = *f;
        auto peer = friend_->connect("127.0.0.1", port_);
        ASSERT_TRUE(peer) << peer.error();
        auto ref = friend_->lookup<refusal::ping>(peer->id, "pinger", 5s);
        ASSERT_TRUE(ref) << ref.error();
        pinger_ = *ref;
    }
    void expect_the_friend_still_served() {
        auto r = pinger_.ask(refusal::ping{41}, 5s).get();
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(*r, 42);
    }

    troupe::system target_sys_;
    troupe::system friend_sys_;
    std::shared_ptr<node> target_;
    std::shared_ptr<node> friend_;
    std::uint16_t port_ = 0;
    actor_ref<refusal::ping> pinger_;
};

TEST_F(HostilePeers, AStalledHalfHeaderIsClosedAtTheHandshakeDeadline) {
    raw_client c(port_);
    ASSERT_TRUE(c.connected());
    c.send({0x10, 0x00}); // half a length prefix, then nothing
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_EQ(target_->counters().handshake_timeouts, 1u);
    expect_the_friend_still_served();
}

TEST_F(HostilePeers, AnOversizedLengthPrefixIsClosedWithoutAllocating) {
    const std::size_t before = resident_bytes();
    for (int i = 0; i < 20; ++i) {
        raw_client c(port_);
        ASSERT_TRUE(c.connected());
        c.send({0xff, 0xff, 0xff, 0xff, 0x01}); // 4 GiB announced
        EXPECT_TRUE(c.closed_by_peer());
    }
    const std::size_t after = resident_bytes();
    EXPECT_LT(after, before + (64U << 20U)) << "resident memory grew by " << (after - before);
    EXPECT_GE(target_->counters().frames_refused, 20u);
    EXPECT_GE(target_->counters().handshakes_refused, 20u);
    expect_the_friend_still_served();
}

TEST_F(HostilePeers, GarbageIsClosed) {
    raw_client c(port_);
    ASSERT_TRUE(c.connected());
    std::vector<unsigned char> junk;
    for (int i = 0; i < 64; ++i) {
        junk.push_back(static_cast<unsigned char>(i * 37 + 5));
    }
    junk[0] = 8; // a plausible length, then nonsense
    junk[1] = junk[2] = junk[3] = 0;
    c.send(junk);
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_GE(target_->counters().handshakes_refused, 1u);
    expect_the_friend_still_served();
}

TEST_F(HostilePeers, AWrongSecretLeavesEstablishedLinksAlone) {
    troupe::system intruder_sys;
    node_options o;
    o.name = "intruder";
    o.secret = "not the cluster secret";
    auto intruder = node::attach(intruder_sys, o);
    ASSERT_TRUE(intruder);
    auto peer = (*intruder)->connect("127.0.0.1", port_);
    ASSERT_FALSE(peer);
    EXPECT_EQ(peer.error().code(), errc::unauthenticated);
    expect_the_friend_still_served();
    EXPECT_EQ(target_->peers().size(), 1u);
}

} // namespace
} // namespace troupe::net

// ---- a peer that speaks the protocol by hand --------------------------------------------

#include "frame.hpp"
#include "handshake.hpp"
#include "secret.hpp"

namespace troupe::net {
namespace {

using internal::byte_view;
using internal::bytes;
using internal::frame_kind;
using internal::frame_view;

/// A hand-driven peer: completes the handshake over a raw socket, then
/// writes frames of its choosing and reads the node's.
class hand_peer {
public:
    hand_peer(std::uint16_t port, const std::string& secret)
        : fd_(testing::connect_loopback(port)),
          secret_(*internal::cluster_secret::from_string(secret)),
          shake_(internal::node_identity{0x5eed, "hand", 0, false}, secret_,
                 internal::handshake_role::connector),
          reader_(1 << 20) {
        if (fd_ < 0) {
            return;
        }
        send(shake_.start());
        while (shake_.state() != internal::handshake::status::established &&
               shake_.state() != internal::handshake::status::refused) {
            auto f = next();
            if (!f) {
                return;
            }
            send(shake_.on_frame(frame_view{f->kind, f->body}).out);
            send(shake_.accept()); // at the node's AUTH (this peer keeps any connection)
        }
        if (established()) { // the node may send this much (its replies)
            bytes b;
            internal::wire_writer w(b);
            const auto at = w.begin_frame(frame_kind::credit);
            w.u64(1 << 20);
            w.end_frame(at);
            send(b);
        }
    }
    hand_peer(const hand_peer&) = delete;
    hand_peer& operator=(const hand_peer&) = delete;
    ~hand_peer() { ::close(fd_); }

    [[nodiscard]] bool established() const {
        return shake_.state() == internal::handshake::status::established;
    }
    void send(const bytes& b) const { (void)::send(fd_, b.data(), b.size(), MSG_NOSIGNAL); }
    void ask(std::uint64_t request, std::uint64_t export_id, std::string_view type,
             std::uint32_t version, const bytes& payload) const {
        bytes b;
        internal::wire_writer w(b);
        const auto at = w.begin_frame(frame_kind::ask);
        w.u64(request);
        w.u64(export_id);
        w.u64(7); // trace
        w.u64(5'000'000'000ULL);
        w.str(type);
        w.u32(version);
        w.raw(payload);
        w.end_frame(at);
        send(b);
    }
    void tell(std::uint64_t export_id, std::string_view type, std::uint32_t version,
              const bytes& payload) const {
        bytes b;
        internal::wire_writer w(b);
        const auto at = w.begin_frame(frame_kind::tell);
        w.u64(export_id);
        w.u64(7);
        w.str(type);
        w.u32(version);
        w.raw(payload);
        w.end_frame(at);
        send(b);
    }
    struct owned_frame {
        frame_kind kind;
        bytes body;
    };
    /// The next frame from the node (empty when the connection ends).
    std::optional<owned_frame> next() {
        for (;;) {
            if (!frames_.empty()) {
                auto f = std::move(frames_.front());
                frames_.erase(frames_.begin());
                return f;
            }
            std::byte buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return std::nullopt;
            }
            auto ok = reader_.feed(byte_view(buf, static_cast<std::size_t>(n)), [&](frame_view f) {
                frames_.push_back({f.kind, bytes(f.body.begin(), f.body.end())});
                return true;
            });
            if (!ok) {
                return std::nullopt;
            }
        }
    }
    /// The error code of the reply to `request` (skipping upkeep frames).
    std::optional<errc> reply_code(std::uint64_t request) {
        for (;;) {
            auto f = next();
            if (!f) {
                return std::nullopt;
            }
            if (f->kind != frame_kind::reply) {
                continue;
            }
            internal::wire_reader r(f->body);
            if (r.u64() == request) {
                return static_cast<errc>(r.u8());
            }
        }
    }

private:
    int fd_;
    internal::cluster_secret secret_;
    internal::handshake shake_;
    internal::frame_reader reader_;
    std::vector<owned_frame> frames_;
};

class RawPeer : public ::testing::Test {
protected:
    void start(bool encrypt) {
        node_options o;
        o.name = "target";
        o.secret = secret;
        o.encrypt = encrypt;
        auto n = node::attach(sys_, o);
        ASSERT_TRUE(n) << n.error();
        node_ = *n;
        auto port = node_->listen();
        ASSERT_TRUE(port);
        port_ = *port;
        ASSERT_TRUE(node_->publish("pinger", sys_.spawn<pinger>())); // export id 1
    }
    static constexpr const char* secret = "a shared cluster secret";
    troupe::system sys_;
    std::shared_ptr<node> node_;
    std::uint16_t port_ = 0;
};

bytes payload_of(const refusal::ping& p) {
    bytes b;
    (void)detail::encode(p, b); // a ping holds no refs: it always encodes
    return b;
}

TEST_F(RawPeer, EveryUndeliverableMessageIsRefusedWithItsReason) {
    start(false);
    hand_peer peer(port_, secret);
    ASSERT_TRUE(peer.established());
    // The right type: answered.
    peer.ask(1, 1, "refusal.ping", 1, payload_of({1}));
    EXPECT_EQ(peer.reply_code(1), errc::none);
    // An unknown type, another version, a payload that does not decode, no such actor.
    peer.tell(1, "refusal.nothing", 1, payload_of({1}));
    peer.ask(2, 1, "refusal.nothing", 1, payload_of({1}));
    EXPECT_EQ(peer.reply_code(2), errc::unknown_type);
    peer.ask(3, 1, "refusal.ping", 2, payload_of({1}));
    EXPECT_EQ(peer.reply_code(3), errc::unknown_type);
    peer.ask(4, 1, "refusal.ping", 1, bytes{std::byte{0xc1}});
    EXPECT_EQ(peer.reply_code(4), errc::malformed);
    peer.ask(5, 999, "refusal.ping", 1, payload_of({1}));
    EXPECT_EQ(peer.reply_code(5), errc::receiver_down);
    // Each refusal is a dead letter on the receiving node, with its reason.
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::unknown_type), 3u);
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::malformed), 1u);
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::receiver_down), 1u);
    // The link is still up.
    peer.ask(6, 1, "refusal.ping", 1, payload_of({2}));
    EXPECT_EQ(peer.reply_code(6), errc::none);
}

// Type names in dead letters come from peers: the node keeps a bounded set
// of them, and past it records the rest under one stand-in name, still
// counting every dead letter.
TEST_F(RawPeer, ManyDistinctTypeNamesAreCountedWithoutKeepingEveryName) {
    start(false);
    hand_peer peer(port_, secret);
    ASSERT_TRUE(peer.established());
    std::mutex m;
    std::vector<std::string> names;
    const auto hook = sys_.dead_letters().hooks().add([&](const dead_letter& d) {
        const std::lock_guard lock(m);
        names.emplace_back(d.message_type);
    });
    constexpr int distinct = 5000; // more than the node keeps
    for (int i = 0; i < distinct; ++i) {
        peer.tell(1, "refusal.made_up_" + std::to_string(i), 1, payload_of({1}));
    }
    peer.ask(1, 1, "refusal.ping", 1, payload_of({1})); // after every tell: in order
    EXPECT_EQ(peer.reply_code(1), errc::none);
    sys_.dead_letters().hooks().remove(hook);
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::unknown_type),
              static_cast<std::uint64_t>(distinct));
    const std::lock_guard lock(m);
    ASSERT_EQ(names.size(), static_cast<std::size_t>(distinct));
    std::size_t stand_ins = 0;
    for (int i = 0; i < distinct; ++i) {
        const std::string sent = "refusal.made_up_" + std::to_string(i);
        if (names[static_cast<std::size_t>(i)] != sent) {
            ++stand_ins;
            EXPECT_NE(names[static_cast<std::size_t>(i)].find("not kept"), std::string::npos)
                << names[static_cast<std::size_t>(i)];
        }
    }
    EXPECT_GE(stand_ins, static_cast<std::size_t>(distinct - 4096)) << "the set is bounded";
}

TEST_F(RawPeer, APlainFrameOnASealedLinkClosesIt) {
    start(true);
    hand_peer peer(port_, secret);
    ASSERT_TRUE(peer.established());
    peer.ask(1, 1, "refusal.ping", 1, payload_of({1}));
    EXPECT_FALSE(peer.reply_code(1).has_value()); // closed, not answered
    EXPECT_EQ(node_->counters().links_lost, 1u);
}

using testing::ref_payload;

TEST_F(RawPeer, AForgedRefIsRefusedWithATypedError) {
    start(false);
    ASSERT_TRUE(node_->publish("reader", sys_.spawn<ref_reader>())); // export id 2
    auto gone = sys_.spawn<pinger>();
    ASSERT_TRUE(node_->publish("gone", gone)); // export id 3
    ASSERT_TRUE(gone.stop());
    ASSERT_TRUE(sys_.wait_for_exit(gone.addr(), 10s));
    hand_peer peer(port_, secret);
    ASSERT_TRUE(peer.established());
    const std::string sig = "refusal.ping@1";
    // "Yours": this node's own export, the pinger, is handed back: a ref to it.
    peer.ask(1, 2, "refusal.with_ref", 1, ref_payload(1, 1, sig));
    EXPECT_EQ(peer.reply_code(1), errc::none);
    // Another protocol's signature; an export speaking another protocol.
    peer.ask(2, 2, "refusal.with_ref", 1, ref_payload(1, 1, "refusal.other@1"));
    EXPECT_EQ(peer.reply_code(2), errc::type_mismatch);
    peer.ask(3, 2, "refusal.with_ref", 1,
             ref_payload(1, 2, sig)); // export 2 speaks with_ref, not ping
    EXPECT_EQ(peer.reply_code(3), errc::type_mismatch);
    // An id never issued, an unknown tag, an empty ref with an id.
    peer.ask(4, 2, "refusal.with_ref", 1, ref_payload(1, 999, sig));
    EXPECT_EQ(peer.reply_code(4), errc::malformed);
    peer.ask(5, 2, "refusal.with_ref", 1, ref_payload(7, 1, sig));
    EXPECT_EQ(peer.reply_code(5), errc::malformed);
    peer.ask(6, 2, "refusal.with_ref", 1, ref_payload(0, 1, sig));
    EXPECT_EQ(peer.reply_code(6), errc::malformed);
    // The export of an actor that terminated.
    peer.ask(7, 2, "refusal.with_ref", 1, ref_payload(1, 3, sig));
    EXPECT_EQ(peer.reply_code(7), errc::receiver_down);
    // "Mine": the peer's export 42, a proxy here; the empty ref.
    peer.ask(8, 2, "refusal.with_ref", 1, ref_payload(2, 42, sig));
    EXPECT_EQ(peer.reply_code(8), errc::none);
    peer.ask(9, 2, "refusal.with_ref", 1, ref_payload(0, 0, sig));
    EXPECT_EQ(peer.reply_code(9), errc::none);
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::malformed), 5u); // + type_mismatch
    EXPECT_EQ(sys_.dead_letters().count(dead_letter_reason::receiver_down), 1u);
    // The link is still up.
    peer.ask(10, 1, "refusal.ping", 1, payload_of({2}));
    EXPECT_EQ(peer.reply_code(10), errc::none);
}

} // namespace
} // namespace troupe::net
