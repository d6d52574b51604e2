// Part of troupe. See LICENSE at the repository root.

// Hostile or broken peers, played by a raw loopback socket: each is closed
// and counted, the node's memory stays flat, and established links go on.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

namespace refusal {
struct ping {
    using reply_type = int;
    int n = 0;
    MSGPACK_DEFINE(n)
};
} // namespace refusal
TROUPE_WIRE_TYPE(::refusal::ping, "refusal.ping", 1);

namespace troupe::net {
namespace {

using namespace std::chrono_literals;

class pinger final : public actor<refusal::ping> {
public:
    int on(refusal::ping& p) { return p.n + 1; }
};

/// A blocking loopback client with a 10 s receive bound.
class raw_client {
public:
    explicit raw_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    ~raw_client() { ::close(fd_); }
    [[nodiscard]] bool connected() const { return connected_; }
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
    bool connected_ = false;
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
