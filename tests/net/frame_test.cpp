// Part of troupe. See LICENSE at the repository root.

#include "frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace troupe::net::internal {
namespace {

struct seen {
    frame_kind kind;
    std::string body;
};

bytes frame_of(frame_kind kind, std::string_view body) {
    bytes out;
    wire_writer w(out);
    const auto at = w.begin_frame(kind);
    w.raw(byte_view(reinterpret_cast<const std::byte*>(body.data()), body.size()));
    w.end_frame(at);
    return out;
}

std::vector<seen> feed_all(frame_reader& r, byte_view in, expected<void>* result = nullptr) {
    std::vector<seen> out;
    auto ok = r.feed(in, [&](frame_view f) {
        out.push_back(
            {f.kind, std::string(reinterpret_cast<const char*>(f.body.data()), f.body.size())});
        return true;
    });
    if (result != nullptr) {
        *result = ok;
    }
    return out;
}

TEST(Frames, WholeFramesComeOutInOrder) {
    bytes stream = frame_of(frame_kind::tell, "abc");
    auto second = frame_of(frame_kind::heartbeat, "");
    stream.insert(stream.end(), second.begin(), second.end());
    frame_reader r(1024);
    auto frames = feed_all(r, stream);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, frame_kind::tell);
    EXPECT_EQ(frames[0].body, "abc");
    EXPECT_EQ(frames[1].kind, frame_kind::heartbeat);
    EXPECT_EQ(frames[1].body, "");
    EXPECT_FALSE(r.mid_frame());
}

TEST(Frames, ByteByByteGivesTheSameFrames) {
    bytes stream = frame_of(frame_kind::ask, "hello");
    auto second = frame_of(frame_kind::reply, "world!");
    stream.insert(stream.end(), second.begin(), second.end());
    frame_reader r(1024);
    std::vector<seen> frames;
    for (std::byte b : stream) {
        auto part = feed_all(r, byte_view(&b, 1));
        frames.insert(frames.end(), part.begin(), part.end());
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].body, "hello");
    EXPECT_EQ(frames[1].body, "world!");
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(Frames, AnOversizedPrefixFailsBeforeAnyBodyIsKept) {
    bytes prefix;
    wire_writer w(prefix);
    w.u32(0xffffffffU); // 4 GiB announced
    frame_reader r(1 << 20);
    expected<void> result;
    auto frames = feed_all(r, byte_view(prefix).first(4), &result);
    EXPECT_TRUE(frames.empty());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), errc::malformed);
    EXPECT_EQ(r.buffered(), 0u);
    // The stream stays failed.
    auto again = frame_of(frame_kind::tell, "x");
    feed_all(r, again, &result);
    EXPECT_FALSE(result);
}

TEST(Frames, AnOversizedPrefixSplitAcrossReadsFailsToo) {
    bytes prefix;
    wire_writer w(prefix);
    w.u32(2048);
    frame_reader r(1024);
    expected<void> result;
    feed_all(r, byte_view(prefix).first(2), &result);
    EXPECT_TRUE(result);
    feed_all(r, byte_view(prefix).subspan(2), &result);
    ASSERT_FALSE(result);
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(Frames, ZeroLengthIsMalformed) {
    bytes zero(4, std::byte{0});
    frame_reader r(1024);
    expected<void> result;
    feed_all(r, zero, &result);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), errc::malformed);
}

TEST(Frames, ThePartialFrameHoldsOnlyBytesThatArrived) {
    bytes prefix;
    wire_writer w(prefix);
    w.u32(1000);
    w.u8(static_cast<std::uint8_t>(frame_kind::tell));
    frame_reader r(1024);
    feed_all(r, prefix);
    EXPECT_EQ(r.buffered(), 5u);
    EXPECT_TRUE(r.mid_frame());
}

TEST(WireReader, LengthsAreCheckedAgainstTheBytesLeft) {
    bytes b;
    wire_writer w(b);
    w.u64(42);
    w.str("name");
    w.u32(1000); // a blob that announces more than there is
    wire_reader r(b);
    EXPECT_EQ(r.u64(), 42u);
    EXPECT_EQ(r.str(16), "name");
    EXPECT_TRUE(r.blob(1 << 20).empty());
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.u32(), 0u); // failure sticks
}

TEST(WireReader, AStringLongerThanTheLimitFails) {
    bytes b;
    wire_writer w(b);
    w.str("toolong");
    wire_reader r(b);
    EXPECT_EQ(r.str(3), "");
    EXPECT_FALSE(r.ok());
}

TEST(WireReader, DoneMeansEverythingWasRead) {
    bytes b;
    wire_writer w(b);
    w.u16(7);
    w.u8(1);
    wire_reader r(b);
    EXPECT_EQ(r.u16(), 7u);
    EXPECT_FALSE(r.done());
    EXPECT_EQ(r.u8(), 1u);
    EXPECT_TRUE(r.done());
}

} // namespace
} // namespace troupe::net::internal
