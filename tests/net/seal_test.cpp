// Part of troupe. See LICENSE at the repository root.

#include "seal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace troupe::net::internal {
namespace {

using key = std::array<unsigned char, 32>;

key key_of(unsigned char seed) {
    key k{};
    for (std::size_t i = 0; i < k.size(); ++i) {
        k[i] = static_cast<unsigned char>(seed + i);
    }
    return k;
}

byte_view view(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// One sealed frame's body (without prefix and outer kind), checked on the way.
bytes sealed_body(frame_sealer& s, frame_kind kind, std::string_view body) {
    bytes out;
    EXPECT_TRUE(s.seal(kind, view(body), out));
    std::vector<bytes> frames;
    frame_reader r(1 << 16);
    EXPECT_TRUE(r.feed(out, [&](frame_view f) {
        EXPECT_EQ(f.kind, frame_kind::sealed);
        frames.emplace_back(f.body.begin(), f.body.end());
        return true;
    }));
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() ? bytes{} : frames[0];
}

TEST(Seal, ARoundTripGivesTheInnerFrameBack) {
    frame_sealer s(key_of(1));
    frame_opener o(key_of(1));
    for (const std::string_view body : {"hello", "", "a longer body of a tell frame"}) {
        const bytes sealed = sealed_body(s, frame_kind::tell, body);
        EXPECT_EQ(sealed.size(), body.size() + seal_overhead);
        auto f = o.open(sealed);
        ASSERT_TRUE(f) << f.error();
        EXPECT_EQ(f->kind, frame_kind::tell);
        EXPECT_EQ(text(f->body), body);
    }
    EXPECT_EQ(s.counter(), 3u);
    EXPECT_EQ(o.counter(), 3u);
}

TEST(Seal, SealAppendsToWhatIsThere) {
    frame_sealer s(key_of(1));
    bytes out(3, std::byte{9});
    ASSERT_TRUE(s.seal(frame_kind::ask, view("x"), out));
    EXPECT_EQ(out.size(), 3 + frame_prefix_size + 1 + 1 + 1 + 16);
    EXPECT_EQ(out[0], std::byte{9});
    EXPECT_EQ(out[3 + frame_prefix_size], static_cast<std::byte>(frame_kind::sealed));
}

TEST(Seal, TheSameFrameSealsDifferentlyEachTime) {
    frame_sealer s(key_of(1));
    EXPECT_NE(sealed_body(s, frame_kind::tell, "same"), sealed_body(s, frame_kind::tell, "same"));
}

TEST(Seal, TamperingWithAnyByteIsUnauthenticated) {
    frame_sealer s(key_of(1));
    const bytes sealed = sealed_body(s, frame_kind::tell, "payload");
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        bytes bad = sealed;
        bad[i] ^= std::byte{0x01};
        frame_opener o(key_of(1));
        auto f = o.open(bad);
        ASSERT_FALSE(f) << "byte " << i;
        EXPECT_EQ(f.error().code(), errc::unauthenticated);
    }
    frame_opener o(key_of(1));
    EXPECT_TRUE(o.open(sealed)); // the untouched frame opens
}

TEST(Seal, ACutFrameFails) {
    frame_sealer s(key_of(1));
    const bytes sealed = sealed_body(s, frame_kind::tell, "payload");
    frame_opener o(key_of(1));
    auto f = o.open(byte_view(sealed).first(sealed.size() - 1));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), errc::unauthenticated);
    frame_opener o2(key_of(1));
    auto g = o2.open(byte_view(sealed).first(seal_overhead - 1));
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code(), errc::malformed);
}

TEST(Seal, AReplayedFrameIsUnauthenticatedAndTheFailureSticks) {
    frame_sealer s(key_of(1));
    frame_opener o(key_of(1));
    const bytes first = sealed_body(s, frame_kind::tell, "one");
    const bytes second = sealed_body(s, frame_kind::tell, "two");
    ASSERT_TRUE(o.open(first));
    auto again = o.open(first);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), errc::unauthenticated);
    EXPECT_FALSE(o.open(second)); // the link is over
}

TEST(Seal, AReorderedFrameIsUnauthenticated) {
    frame_sealer s(key_of(1));
    frame_opener o(key_of(1));
    (void)sealed_body(s, frame_kind::tell, "one");
    const bytes second = sealed_body(s, frame_kind::tell, "two");
    auto f = o.open(second);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), errc::unauthenticated);
}

TEST(Seal, AnotherKeyIsUnauthenticated) {
    frame_sealer s(key_of(1));
    frame_opener o(key_of(2));
    auto f = o.open(sealed_body(s, frame_kind::tell, "one"));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), errc::unauthenticated);
}

TEST(Seal, ASealedFrameInsideASealedFrameIsMalformed) {
    frame_sealer s(key_of(1));
    frame_opener o(key_of(1));
    auto f = o.open(sealed_body(s, frame_kind::sealed, "nested"));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), errc::malformed);
}

TEST(Seal, TheCounterStopsBeforeItWouldWrap) {
    const std::uint64_t near = last_seal_counter - 2;
    frame_sealer s(key_of(1), near);
    frame_opener o(key_of(1), near);
    for (int i = 0; i < 2; ++i) {
        auto f = o.open(sealed_body(s, frame_kind::heartbeat, "beat"));
        ASSERT_TRUE(f) << f.error();
        EXPECT_EQ(text(f->body), "beat");
    }
    EXPECT_EQ(s.counter(), last_seal_counter);
    bytes out;
    auto sealed = s.seal(frame_kind::heartbeat, view("beat"), out);
    ASSERT_FALSE(sealed);
    EXPECT_EQ(sealed.error().code(), errc::unauthenticated);
    EXPECT_TRUE(out.empty());                                       // nothing appended
    EXPECT_FALSE(s.seal(frame_kind::heartbeat, view("beat"), out)); // still exhausted
    EXPECT_EQ(s.counter(), last_seal_counter);

    // An opener at the last counter refuses too, even a frame sealed with that nonce.
    frame_opener exhausted(key_of(1), last_seal_counter);
    bytes forged(seal_overhead + 4, std::byte{0});
    auto opened = exhausted.open(forged);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code(), errc::unauthenticated);
}

TEST(Seal, EachDirectionOfALinkHasItsOwnKey) {
    // a -> b under k1, b -> a under k2: a frame of one direction does not open in the other.
    frame_sealer a_tx(key_of(1));
    frame_opener a_rx(key_of(2));
    auto f = a_rx.open(sealed_body(a_tx, frame_kind::tell, "mine"));
    EXPECT_FALSE(f);
}

} // namespace
} // namespace troupe::net::internal
