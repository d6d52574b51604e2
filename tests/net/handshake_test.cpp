// Part of troupe. See LICENSE at the repository root.

#include "handshake.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace troupe::net::internal {
namespace {

static_assert(!std::is_copy_constructible_v<cluster_secret>);
static_assert(std::is_nothrow_move_constructible_v<cluster_secret>);
static_assert(std::is_nothrow_move_constructible_v<handshake>);

using status = handshake::status;

cluster_secret secret_of(std::string_view s) {
    return std::move(cluster_secret::from_string(s).value());
}

const cluster_secret& good_secret() {
    static const cluster_secret s = secret_of("correct horse battery staple");
    return s;
}

node_identity identity(std::uint64_t id, std::string name) {
    return {id, std::move(name), 0xabcdU};
}

struct owned_frame {
    frame_kind kind;
    bytes body;
};

std::vector<owned_frame> frames_of(const bytes& stream) {
    std::vector<owned_frame> out;
    frame_reader r(1 << 16);
    auto ok = r.feed(stream, [&](frame_view f) {
        out.push_back({f.kind, bytes(f.body.begin(), f.body.end())});
        return true;
    });
    EXPECT_TRUE(ok);
    EXPECT_FALSE(r.mid_frame());
    return out;
}

// Feeds a byte stream to `h` through a frame reader; returns what `h` sends.
// At the decision `h` accepts (as a node with no other connection would).
bytes deliver(handshake& h, frame_reader& r, const bytes& stream) {
    bytes out;
    auto ok = r.feed(stream, [&](frame_view f) {
        auto s = h.on_frame(f);
        out.insert(out.end(), s.out.begin(), s.out.end());
        if (h.state() == status::deciding) {
            const bytes auth = h.accept();
            out.insert(out.end(), auth.begin(), auth.end());
        }
        return true;
    });
    EXPECT_TRUE(ok);
    return out;
}

// Runs both sides until neither has anything to send (bounded).
void run(handshake& a, handshake& b) {
    frame_reader ra(1 << 16);
    frame_reader rb(1 << 16);
    bytes to_b = a.start();
    bytes to_a = b.start();
    for (int round = 0; round < 8 && (!to_a.empty() || !to_b.empty()); ++round) {
        bytes next_b = deliver(a, ra, to_a);
        bytes next_a = deliver(b, rb, to_b);
        to_b = std::move(next_b);
        to_a = std::move(next_a);
    }
    EXPECT_TRUE(to_a.empty() && to_b.empty()) << "the handshake did not settle";
}

// A HELLO written by hand, for the peer's mistakes.
bytes hello_body(std::uint64_t id, std::string_view name, std::uint16_t version = protocol_version,
                 std::size_t nonce_size = 32, std::string_view magic = "TRPE") {
    bytes body;
    wire_writer w(body);
    w.raw(byte_view(reinterpret_cast<const std::byte*>(magic.data()), magic.size()));
    w.u16(version);
    w.u64(id);
    w.str(name);
    w.u64(0); // type table hash
    w.u8(0);  // flags: no sealing
    body.resize(body.size() + nonce_size, std::byte{7});
    return body;
}

// Gives `h` one frame; expects it refused with `code` and a REFUSE sent back.
void expect_refused(handshake& h, const owned_frame& f, errc code) {
    auto s = h.on_frame(frame_view{f.kind, f.body});
    EXPECT_EQ(h.state(), status::refused);
    EXPECT_EQ(h.failure().code(), code) << h.failure();
    auto sent = frames_of(s.out);
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().kind, frame_kind::refuse);
    ASSERT_FALSE(sent.back().body.empty());
    EXPECT_EQ(static_cast<errc>(sent.back().body[0]), code);
}

TEST(Handshake, BothSidesEstablishAndTheKeysMatchCrosswise) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    EXPECT_EQ(a.state(), status::awaiting_hello);
    run(a, b);
    ASSERT_EQ(a.state(), status::established) << a.failure();
    ASSERT_EQ(b.state(), status::established) << b.failure();
    EXPECT_EQ(a.peer().id, 2u);
    EXPECT_EQ(a.peer().name, "beta");
    EXPECT_EQ(b.peer().name, "alpha");
    EXPECT_EQ(b.peer().type_table_hash, 0xabcdU);
    EXPECT_EQ(a.keys().tx, b.keys().rx);
    EXPECT_EQ(a.keys().rx, b.keys().tx);
    EXPECT_NE(a.keys().tx, a.keys().rx);
    EXPECT_EQ(a.keys().tx, a.keys().tx); // stable
    EXPECT_FALSE(a.failure());
}

TEST(Handshake, EverySessionHasFreshKeys) {
    handshake a1(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b1(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    handshake a2(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b2(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    run(a1, b1);
    run(a2, b2);
    ASSERT_EQ(a2.state(), status::established);
    EXPECT_NE(a1.keys().tx, a2.keys().tx);
}

TEST(Handshake, KeysAreZeroUntilEstablished) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    EXPECT_EQ(a.keys().tx, (std::array<unsigned char, 32>{}));
}

TEST(Handshake, OnFrameBeforeStartSendsTheHelloFirst) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    auto s = b.on_frame(frame_view{frame_kind::hello, frames_of(a.start())[0].body});
    auto sent = frames_of(s.out);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].kind, frame_kind::hello);
    EXPECT_TRUE(b.start().empty());
}

TEST(Handshake, TheAcceptorDecidesAtTheHelloAndTheConnectorAtTheAcceptorsAuth) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    const bytes a_hello = a.start();
    const bytes b_hello = b.start();
    (void)b.on_frame(frame_view{frame_kind::hello, frames_of(a_hello)[0].body});
    EXPECT_EQ(b.state(), status::deciding);
    EXPECT_EQ(b.peer().id, 1u);
    EXPECT_TRUE(a.on_frame(frame_view{frame_kind::hello, frames_of(b_hello)[0].body}).out.empty());
    EXPECT_EQ(a.state(), status::awaiting_auth); // holds its AUTH
    const auto b_auth = frames_of(b.accept());
    ASSERT_EQ(b_auth.size(), 1u);
    EXPECT_EQ(b.state(), status::awaiting_auth);
    EXPECT_TRUE(b.accept().empty()); // once
    EXPECT_TRUE(a.on_frame(frame_view{b_auth[0].kind, b_auth[0].body}).out.empty());
    EXPECT_EQ(a.state(), status::deciding);
    const auto a_auth = frames_of(a.accept());
    ASSERT_EQ(a_auth.size(), 1u);
    EXPECT_EQ(a.state(), status::established);
    (void)b.on_frame(frame_view{a_auth[0].kind, a_auth[0].body});
    EXPECT_EQ(b.state(), status::established) << b.failure();
}

TEST(Handshake, ADeclineSendsAByeThatEndsThePeersHandshakeWithoutAFailure) {
    for (const bool acceptor_declines : {true, false}) {
        handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
        handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
        const bytes a_hello = a.start();
        const bytes b_hello = b.start();
        (void)b.on_frame(frame_view{frame_kind::hello, frames_of(a_hello)[0].body});
        (void)a.on_frame(frame_view{frame_kind::hello, frames_of(b_hello)[0].body});
        handshake& decider = acceptor_declines ? b : a;
        handshake& other = acceptor_declines ? a : b;
        if (!acceptor_declines) { // the connector declines at the acceptor's AUTH
            const auto b_auth = frames_of(b.accept());
            (void)a.on_frame(frame_view{b_auth[0].kind, b_auth[0].body});
            ASSERT_EQ(a.state(), status::deciding);
        }
        const auto bye = frames_of(decider.decline("another link"));
        ASSERT_EQ(bye.size(), 1u);
        EXPECT_EQ(bye[0].kind, frame_kind::bye);
        EXPECT_EQ(decider.state(), status::declined);
        EXPECT_EQ(decider.failure().code(), errc::stopped);
        EXPECT_TRUE(decider.decline("again").empty());
        EXPECT_TRUE(decider.accept().empty());
        auto s = other.on_frame(frame_view{bye[0].kind, bye[0].body});
        EXPECT_TRUE(s.out.empty());
        EXPECT_EQ(other.state(), status::declined);
        EXPECT_EQ(other.failure().code(), errc::stopped);
        EXPECT_NE(other.failure().message().find("another link"), std::string::npos);
        EXPECT_EQ(other.keys().tx, (std::array<unsigned char, 32>{}));
    }
}

TEST(Handshake, AConnectorsAuthBeforeTheAcceptorsIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    (void)b.on_frame(frame_view{frame_kind::hello, hello_body(1, "alpha")});
    ASSERT_EQ(b.state(), status::deciding);
    expect_refused(b, {frame_kind::auth, bytes(32, std::byte{1})}, errc::malformed);
}

TEST(Handshake, AByeBeforeTheHelloIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    bytes body;
    wire_writer w(body);
    w.str("bye");
    expect_refused(b, {frame_kind::bye, body}, errc::malformed);
}

TEST(Handshake, AWrongSecretRefusesBothSides) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), secret_of("a different secret of this cluster"),
                handshake_role::acceptor);
    run(a, b);
    EXPECT_EQ(a.state(), status::refused);
    EXPECT_EQ(b.state(), status::refused);
    EXPECT_EQ(a.failure().code(), errc::unauthenticated) << a.failure();
    EXPECT_EQ(b.failure().code(), errc::unauthenticated) << b.failure();
    EXPECT_EQ(a.keys().tx, (std::array<unsigned char, 32>{}));
}

TEST(Handshake, ThePeersRefuseCarriesItsCodeAndReason) {
    // b sees only a's REFUSE (not a's AUTH): it takes a's code and reason.
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), secret_of("a different secret of this cluster"),
                handshake_role::acceptor);
    bytes b_out = b.on_frame(frame_view{frame_kind::hello, frames_of(a.start())[0].body}).out;
    const bytes b_auth = b.accept();
    b_out.insert(b_out.end(), b_auth.begin(), b_auth.end());
    const auto b_frames = frames_of(b_out); // HELLO, AUTH
    ASSERT_EQ(b_frames.size(), 2u);
    (void)a.on_frame(frame_view{b_frames[0].kind, b_frames[0].body});
    const auto refusal = frames_of(a.on_frame(frame_view{b_frames[1].kind, b_frames[1].body}).out);
    ASSERT_EQ(refusal.size(), 1u);
    EXPECT_EQ(a.failure().code(), errc::unauthenticated);
    auto s = b.on_frame(frame_view{refusal[0].kind, refusal[0].body});
    EXPECT_TRUE(s.out.empty()); // no REFUSE to a REFUSE
    EXPECT_EQ(b.state(), status::refused);
    EXPECT_EQ(b.failure().code(), errc::unauthenticated);
    EXPECT_NE(b.failure().message().find("refused by the peer"), std::string::npos);
    EXPECT_NE(b.failure().message().find("alpha"), std::string::npos);
}

TEST(Handshake, ARefuseWithAnUnknownCodeIsMalformed) {
    for (std::uint8_t code : {std::uint8_t{0}, std::uint8_t{250}}) {
        handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
        bytes body;
        wire_writer w(body);
        w.u8(code);
        w.str("why\nnot");
        (void)b.on_frame(frame_view{frame_kind::refuse, body});
        EXPECT_EQ(b.state(), status::refused);
        EXPECT_EQ(b.failure().code(), errc::malformed);
        EXPECT_NE(b.failure().message().find("why?not"), std::string::npos); // control bytes masked
    }
}

TEST(Handshake, AVersionMismatchIsIncompatibleOnBothSides) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor, protocol_version + 1);
    run(a, b);
    for (const handshake* h : {&a, &b}) {
        EXPECT_EQ(h->state(), status::refused);
        EXPECT_EQ(h->failure().code(), errc::incompatible) << h->failure();
        const std::string ours = "version " + std::to_string(protocol_version);
        const std::string theirs = "version " + std::to_string(protocol_version + 1);
        EXPECT_NE(h->failure().message().find(ours), std::string::npos) << h->failure();
        EXPECT_NE(h->failure().message().find(theirs), std::string::npos) << h->failure();
    }
}

TEST(Handshake, AHelloWithoutTheMagicIsIncompatible) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    expect_refused(b, {frame_kind::hello, hello_body(1, "alpha", 1, 32, "HTTP")},
                   errc::incompatible);
}

TEST(Handshake, GarbageIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    const bytes garbage = {std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}};
    expect_refused(b, {frame_kind{200}, garbage}, errc::malformed);
    // Frames after the refusal are ignored.
    auto s = b.on_frame(frame_view{frame_kind::hello, hello_body(1, "alpha")});
    EXPECT_TRUE(s.out.empty());
    EXPECT_EQ(b.failure().code(), errc::malformed);
}

TEST(Handshake, AFrameOfTheLinkBeforeEstablishedIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    expect_refused(b, {frame_kind::tell, {}}, errc::malformed);
}

TEST(Handshake, ACutOrPaddedHelloIsMalformed) {
    const bytes full = hello_body(1, "alpha");
    for (const bytes& body :
         {bytes(full.begin(), full.begin() + 5), hello_body(1, "alpha", protocol_version, 31),
          hello_body(1, "alpha", protocol_version, 33)}) {
        handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
        expect_refused(b, {frame_kind::hello, body}, errc::malformed);
    }
}

TEST(Handshake, AnEmptyOrOversizedPeerNameIsMalformed) {
    for (const std::string& name : {std::string(), std::string(max_node_name + 1, 'n')}) {
        handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
        expect_refused(b, {frame_kind::hello, hello_body(1, name)}, errc::malformed);
    }
    handshake b(identity(2, "beta"), good_secret(),
                handshake_role::acceptor); // the longest name is fine
    (void)b.on_frame(frame_view{frame_kind::hello, hello_body(1, std::string(max_node_name, 'n'))});
    EXPECT_EQ(b.state(), status::deciding) << b.failure();
}

TEST(Handshake, TheLongestHelloFitsTheHandshakeFrameLimit) {
    handshake a(identity(1, std::string(max_node_name, 'n')), good_secret(),
                handshake_role::connector);
    const bytes hello = a.start();
    EXPECT_LE(hello.size() - frame_prefix_size, max_handshake_frame_length);
    frame_reader r(max_handshake_frame_length);
    int frames = 0;
    EXPECT_TRUE(r.feed(hello, [&](frame_view) { return ++frames > 0; }));
    EXPECT_EQ(frames, 1);
}

TEST(Handshake, AnInvalidOwnNameRefusesAtOnce) {
    for (const std::string& name : {std::string(), std::string(max_node_name + 1, 'n')}) {
        handshake a(identity(1, name), good_secret(), handshake_role::connector);
        EXPECT_EQ(a.state(), status::refused);
        EXPECT_EQ(a.failure().code(), errc::invalid_argument);
        EXPECT_TRUE(a.start().empty());
    }
}

TEST(Handshake, AuthBeforeHelloIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    expect_refused(b, {frame_kind::auth, bytes(32, std::byte{1})}, errc::malformed);
}

TEST(Handshake, ASecondHelloIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    (void)b.on_frame(frame_view{frame_kind::hello, hello_body(1, "alpha")});
    ASSERT_EQ(b.state(), status::deciding);
    expect_refused(b, {frame_kind::hello, hello_body(1, "alpha")}, errc::malformed);
}

TEST(Handshake, AnAuthOfTheWrongSizeIsMalformed) {
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    (void)b.on_frame(frame_view{frame_kind::hello, hello_body(1, "alpha")});
    (void)b.accept();
    expect_refused(b, {frame_kind::auth, bytes(33, std::byte{1})}, errc::malformed);
}

TEST(Handshake, AnAuthReplayedFromAnotherSessionIsUnauthenticated) {
    // Record alpha's HELLO and AUTH of a real session with beta...
    handshake a1(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b1(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    const auto a_hello = frames_of(a1.start());
    const auto b_out = frames_of(b1.on_frame(frame_view{frame_kind::hello, a_hello[0].body}).out);
    const auto b_auth = frames_of(b1.accept());
    (void)a1.on_frame(frame_view{b_out[0].kind, b_out[0].body});
    (void)a1.on_frame(frame_view{b_auth[0].kind, b_auth[0].body});
    const auto a_auth = frames_of(a1.accept());
    ASSERT_EQ(a_auth.size(), 1u);
    ASSERT_EQ(a_auth[0].kind, frame_kind::auth);
    // ...and replay them to a new beta: its nonce is fresh, the AUTH fails.
    handshake b2(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    (void)b2.on_frame(frame_view{frame_kind::hello, a_hello[0].body});
    (void)b2.accept();
    ASSERT_EQ(b2.state(), status::awaiting_auth);
    expect_refused(b2, a_auth[0], errc::unauthenticated);
}

TEST(Handshake, AReflectedAuthIsUnauthenticated) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    (void)b.on_frame(frame_view{frame_kind::hello, frames_of(a.start())[0].body});
    const auto b_auth = frames_of(b.accept());
    ASSERT_EQ(b_auth.size(), 1u);
    expect_refused(b, b_auth[0], errc::unauthenticated); // beta's own AUTH, sent back
}

TEST(Handshake, ANodeConnectedToItselfIsRefused) {
    handshake a(identity(7, "alpha"), good_secret(), handshake_role::connector);
    handshake a_again(identity(7, "alpha"), good_secret(), handshake_role::connector);
    run(a, a_again);
    for (const handshake* h : {&a, &a_again}) {
        EXPECT_EQ(h->state(), status::refused);
        EXPECT_EQ(h->failure().code(), errc::invalid_argument) << h->failure();
    }
}

TEST(Handshake, TheWholeStreamCanArriveByteByByte) {
    handshake a(identity(1, "alpha"), good_secret(), handshake_role::connector);
    handshake b(identity(2, "beta"), good_secret(), handshake_role::acceptor);
    frame_reader ra(1 << 16);
    frame_reader rb(1 << 16);
    bytes to_b = a.start();
    bytes to_a = b.start();
    for (int round = 0; round < 4; ++round) {
        bytes next_b;
        bytes next_a;
        for (std::byte x : to_a) {
            auto out = deliver(a, ra, bytes{x});
            next_b.insert(next_b.end(), out.begin(), out.end());
        }
        for (std::byte x : to_b) {
            auto out = deliver(b, rb, bytes{x});
            next_a.insert(next_a.end(), out.begin(), out.end());
        }
        to_b = std::move(next_b);
        to_a = std::move(next_a);
    }
    EXPECT_EQ(a.state(), status::established);
    EXPECT_EQ(b.state(), status::established);
}

class SecretFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ =
            (std::filesystem::temp_directory_path() /
             ("troupe_secret_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
              "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    }
    void TearDown() override { std::filesystem::remove(path_); }
    void write(std::string_view content) const {
        std::ofstream(path_, std::ios::binary) << content;
    }
    std::string path_;
};

TEST_F(SecretFileTest, TrailingWhitespaceIsTrimmed) {
    write("  sixteen-or-more-bytes \t\r\n\n");
    auto s = cluster_secret::from_file(path_);
    ASSERT_TRUE(s) << s.error();
    const std::string_view expect = "  sixteen-or-more-bytes";
    ASSERT_EQ(s->bytes().size(), expect.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(s->bytes().data()), s->bytes().size()),
              expect);
    // The same secret as from a string: a handshake between them succeeds.
    handshake a(identity(1, "alpha"), *s, handshake_role::connector);
    handshake b(identity(2, "beta"), secret_of(expect), handshake_role::acceptor);
    run(a, b);
    EXPECT_EQ(a.state(), status::established);
}

TEST_F(SecretFileTest, ASecretTooShortAfterTrimmingIsRefusedWithoutShowingIt) {
    write("tooshort-secret\n\n\n\n\n");
    auto s = cluster_secret::from_file(path_);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_NE(s.error().message().find(path_), std::string::npos);
    EXPECT_EQ(s.error().message().find("tooshort"), std::string::npos);
}

TEST_F(SecretFileTest, AMissingFileIsInvalidArgument) {
    auto s = cluster_secret::from_file(path_ + ".missing");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_NE(s.error().message().find(".missing"), std::string::npos);
}

TEST(ClusterSecret, FewerThanSixteenBytesIsInvalidArgument) {
    auto s = cluster_secret::from_string("fifteen-bytes!!");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_EQ(s.error().message().find("fifteen"), std::string::npos);
    EXPECT_TRUE(cluster_secret::from_string("sixteen-bytes!!!"));
}

TEST(ClusterSecret, AMovedFromSecretIsEmpty) {
    cluster_secret a = secret_of("sixteen-bytes!!!");
    cluster_secret b = std::move(a);
    EXPECT_TRUE(a.bytes().empty()); // NOLINT(bugprone-use-after-move): the contract under test
    EXPECT_EQ(b.bytes().size(), 16u);
}

} // namespace
} // namespace troupe::net::internal
