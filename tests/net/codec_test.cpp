// Part of troupe. See LICENSE at the repository root.

#include <troupe/net/detail/codec.hpp>
#include <troupe/net/wire_type.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace codec_test {

struct point {
    std::int32_t x = 0;
    std::int32_t y = 0;
    friend bool operator==(const point&, const point&) = default;
    MSGPACK_DEFINE(x, y)
};

struct shape {
    std::string name;
    std::vector<point> corners;
    std::optional<std::string> label;
    std::map<std::string, double> weights;
    using reply_type = std::vector<std::int64_t>;
    friend bool operator==(const shape&, const shape&) = default;
    MSGPACK_DEFINE(name, corners, label, weights)
};

struct ping {
    std::uint64_t seq = 0;
    using reply_type = void;
    MSGPACK_DEFINE(seq)
};

struct no_wire {
    int x = 0;
};

} // namespace codec_test

TROUPE_WIRE_TYPE(::codec_test::point, "test.point", 1);
TROUPE_WIRE_TYPE(::codec_test::shape, "test.shape", 3);
TROUPE_WIRE_TYPE(::codec_test::ping, "test.ping", 0);

namespace troupe::net::detail {
namespace {

using codec_test::ping;
using codec_test::point;
using codec_test::shape;
using protocol = std::variant<point, shape, ping>;

static_assert(wire_message<point> && wire_message<shape>);
static_assert(!wire_message<codec_test::no_wire> && !wire_message<int>);
static_assert(wire_value<void> && wire_value<bool> && wire_value<std::int8_t> &&
              wire_value<std::uint64_t> && wire_value<double> && wire_value<std::string>);
static_assert(wire_value<std::vector<std::byte>> && wire_value<std::vector<point>> &&
              wire_value<std::optional<std::vector<std::string>>> &&
              wire_value<std::pair<std::int32_t, shape>> &&
              wire_value<std::map<std::string, std::optional<double>>>);
static_assert(!wire_value<char> && !wire_value<std::vector<void*>> &&
              !wire_value<std::map<int, int>> && !wire_value<codec_test::no_wire> &&
              !wire_value<std::vector<codec_test::no_wire>>);
static_assert(wire_protocol<protocol> && wire_protocol<point>);
static_assert(!wire_protocol<std::variant<point, codec_test::no_wire>>);

struct bad_reply {
    using reply_type = codec_test::no_wire;
};

} // namespace
} // namespace troupe::net::detail

TROUPE_WIRE_TYPE(::troupe::net::detail::bad_reply, "test.bad_reply", 0);

namespace troupe::net::detail {
namespace {

static_assert(wire_message<bad_reply> && !wire_protocol<bad_reply>,
              "an askable message needs a wire reply");

bytes raw(std::initializer_list<int> v) {
    bytes out;
    for (const int b : v) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

template <class T>
T round_trip(const T& v) {
    bytes buf;
    EXPECT_TRUE(encode(v, buf));
    auto back = decode<T>(buf);
    EXPECT_TRUE(back.has_value()) << back.error();
    return back.value_or(T{});
}

// Expects `malformed`, with `why` in the message.
template <class T>
void expect_malformed(const bytes& in, const decode_limits& limits = {},
                      std::string_view why = {}) {
    auto r = decode<T>(in, limits);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), errc::malformed) << r.error();
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error();
}

shape sample_shape() {
    return shape{"triangle",
                 {{0, 0}, {4, 0}, {-2, 7}},
                 "a label with some words",
                 {{"a", 0.5}, {"b", -1.25}}};
}

TEST(Codec, UserStructsRoundTrip) {
    EXPECT_EQ(round_trip(point{3, -9}), (point{3, -9}));
    EXPECT_EQ(round_trip(sample_shape()), sample_shape());
    const shape empty{};
    EXPECT_EQ(round_trip(empty), empty);
    EXPECT_EQ(round_trip(std::vector<shape>{sample_shape(), empty}),
              (std::vector<shape>{sample_shape(), empty}));
}

TEST(Codec, BuiltinsRoundTrip) {
    EXPECT_EQ(round_trip(true), true);
    EXPECT_EQ(round_trip(std::int8_t{-128}), -128);
    EXPECT_EQ(round_trip(std::uint64_t{0xffffffffffffffffULL}), 0xffffffffffffffffULL);
    EXPECT_EQ(round_trip(std::int64_t{-(1LL << 40)}), -(1LL << 40));
    EXPECT_EQ(round_trip(2.5), 2.5);
    EXPECT_EQ(round_trip(0.25F), 0.25F);
    EXPECT_EQ(round_trip(std::string("h\0llo", 5)), std::string("h\0llo", 5));
    const std::vector<std::byte> blob{std::byte{0}, std::byte{0xff}, std::byte{7}};
    EXPECT_EQ(round_trip(blob), blob);
    const std::optional<std::int32_t> none;
    EXPECT_EQ(round_trip(none), none);
    EXPECT_EQ(round_trip(std::optional<std::int32_t>(5)), 5);
    const std::pair<std::string, point> pr{"p", {1, 2}};
    EXPECT_EQ(round_trip(pr), pr);
    const std::map<std::string, std::vector<std::int32_t>> m{{"x", {1, 2}}, {"y", {}}};
    EXPECT_EQ(round_trip(m), m);
}

TEST(Codec, FloatsStayFloats) {
    bytes buf;
    ASSERT_TRUE(encode(3.0, buf));
    ASSERT_EQ(buf.size(), 9U); // float64, not the integer 3
    EXPECT_EQ(buf[0], std::byte{0xcb});
    buf.clear();
    ASSERT_TRUE(encode(0x1p64, buf)); // the value msgpack-cxx 4.1 converts to uint64_t (undefined)
    EXPECT_EQ(buf[0], std::byte{0xcb});
    EXPECT_EQ(decode<double>(buf).value_or(0), 0x1p64);
    buf.clear();
    ASSERT_TRUE(encode(-2.0F, buf));
    ASSERT_EQ(buf.size(), 5U);
    EXPECT_EQ(buf[0], std::byte{0xca});
    EXPECT_EQ(decode<float>(buf).value_or(0), -2.0F);
    // a peer that packs a whole number as an integer is still understood
    EXPECT_EQ(decode<double>(raw({0x07})).value_or(0), 7.0);
}

TEST(Codec, EncodeAppends) {
    bytes buf = raw({0xaa});
    ASSERT_TRUE(encode(std::int32_t{1}, buf));
    ASSERT_EQ(buf.size(), 2U);
    EXPECT_EQ(buf[0], std::byte{0xaa});
    EXPECT_EQ(buf[1], std::byte{1});
}

TEST(Codec, WireNames) {
    EXPECT_EQ(wire_name<void>(), "void");
    EXPECT_EQ(wire_name<bool>(), "bool");
    EXPECT_EQ(wire_name<std::int32_t>(), "i32");
    EXPECT_EQ(wire_name<std::uint64_t>(), "u64");
    EXPECT_EQ(wire_name<double>(), "f64");
    EXPECT_EQ(wire_name<float>(), "f32");
    EXPECT_EQ(wire_name<std::string>(), "str");
    EXPECT_EQ(wire_name<std::vector<std::byte>>(), "bin");
    EXPECT_EQ(wire_name<std::vector<std::int32_t>>(), "list<i32>");
    EXPECT_EQ(wire_name<std::optional<std::string>>(), "opt<str>");
    EXPECT_EQ((wire_name<std::pair<std::int32_t, std::string>>()), "pair<i32,str>");
    EXPECT_EQ((wire_name<std::map<std::string, double>>()), "map<str,f64>");
    EXPECT_EQ(wire_name<shape>(), "test.shape");
    EXPECT_EQ(wire_name<std::vector<shape>>(), "list<test.shape@3>");
    EXPECT_EQ(wire_version<shape>(), 3U);
    EXPECT_EQ(wire_version<std::vector<shape>>(), 0U);
    EXPECT_EQ(wire_version<std::int32_t>(), 0U);
}

TEST(Codec, RefusesAnArrayAnnouncingMoreElementsThanBytes) {
    // array32 of 2^32 - 1 elements, in 5 bytes
    expect_malformed<std::vector<std::int32_t>>(raw({0xdd, 0xff, 0xff, 0xff, 0xff}), {},
                                                "an array announcing more elements");
    // array16 of 3 elements holding only 2 (within the byte budget: the parser finds it short)
    expect_malformed<std::vector<std::int32_t>>(raw({0xdc, 0x00, 0x03, 0x01, 0x02}), {},
                                                "truncated");
}

TEST(Codec, RefusesAMapAnnouncingMorePairsThanBytes) {
    // map32 of 2^31 pairs
    expect_malformed<std::map<std::string, std::int32_t>>(raw({0xdf, 0x80, 0x00, 0x00, 0x00}), {},
                                                          "a map announcing more pairs");
}

TEST(Codec, RefusesAHugeString) {
    // str32 announcing 4 GiB - 1 with 3 bytes behind it
    expect_malformed<std::string>(raw({0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'}), {},
                                  "truncated");
    // a real string over the limit
    bytes buf;
    ASSERT_TRUE(encode(std::string(100, 'x'), buf));
    expect_malformed<std::string>(buf, decode_limits{.max_string = 99}, "longer than max_string");
    EXPECT_TRUE(decode<std::string>(buf, decode_limits{.max_string = 100}).has_value());
}

TEST(Codec, RefusesDeepNesting) {
    // 100 nested one-element arrays around a 0
    bytes deep(100, std::byte{0x91});
    deep.push_back(std::byte{0});
    expect_malformed<std::vector<std::vector<std::int32_t>>>(deep, {}, "nested deeper");
    // exactly at the limit is fine
    bytes two = raw({0x91, 0x91, 0x05});
    EXPECT_TRUE((decode<std::vector<std::vector<std::int32_t>>>(two, {.max_depth = 2})));
    expect_malformed<std::vector<std::vector<std::int32_t>>>(two, {.max_depth = 1},
                                                             "nested deeper");
}

TEST(Codec, RefusesMoreElementsThanTheLimit) {
    bytes buf;
    ASSERT_TRUE(encode(std::vector<std::int32_t>(10, 1), buf));
    expect_malformed<std::vector<std::int32_t>>(buf, decode_limits{.max_elements = 9},
                                                "announcing more elements");
    EXPECT_TRUE(decode<std::vector<std::int32_t>>(buf, decode_limits{.max_elements = 10}));
}

TEST(Codec, RefusesTrailingBytes) {
    bytes buf;
    ASSERT_TRUE(encode(point{1, 2}, buf));
    buf.push_back(std::byte{0xc0});
    expect_malformed<point>(buf, {}, "1 trailing bytes");
}

TEST(Codec, RefusesTruncatedPayloads) {
    bytes buf;
    ASSERT_TRUE(encode(sample_shape(), buf));
    for (std::size_t n = 0; n < buf.size(); ++n) {
        const bytes cut(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        expect_malformed<shape>(cut); // truncated, or a header announcing more than is left
    }
}

TEST(Codec, RefusesATypeMismatch) {
    bytes buf;
    ASSERT_TRUE(encode(std::string("not a number"), buf));
    expect_malformed<std::int32_t>(buf, {}, "does not fit the type");
    expect_malformed<point>(buf, {}, "does not fit the type");
    bytes big;
    ASSERT_TRUE(encode(std::int64_t{1} << 40, big));
    expect_malformed<std::int32_t>(big); // out of range
    bytes p;
    ASSERT_TRUE(encode(point{1, 2}, p));
    expect_malformed<std::string>(p);
    expect_malformed<std::int32_t>(raw({0xc1}), {}, "not msgpack"); // 0xc1 is never used
}

TEST(Codec, DecodeProtocolCallsTheNamedAlternative) {
    bytes buf;
    ASSERT_TRUE(encode(sample_shape(), buf));
    int calls = 0;
    auto ok = decode_protocol<protocol>("test.shape", 3, buf, {}, [&](auto&& m) {
        ++calls;
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(m)>, shape>) {
            EXPECT_EQ(m, sample_shape());
        } else {
            ADD_FAILURE() << "wrong alternative";
        }
    });
    ASSERT_TRUE(ok.has_value()) << ok.error();
    EXPECT_EQ(calls, 1);
}

TEST(Codec, DecodeProtocolOfASingleType) {
    bytes buf;
    ASSERT_TRUE(encode(point{5, 6}, buf));
    point got;
    auto ok = decode_protocol<point>("test.point", 1, buf, {}, [&](point&& p) { got = p; });
    ASSERT_TRUE(ok.has_value()) << ok.error();
    EXPECT_EQ(got, (point{5, 6}));
}

TEST(Codec, DecodeProtocolRefusesAnUnknownName) {
    bytes buf;
    ASSERT_TRUE(encode(point{5, 6}, buf));
    int calls = 0;
    auto r = decode_protocol<protocol>("test.circle", 1, buf, {}, [&](auto&&) { ++calls; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), errc::unknown_type);
    EXPECT_NE(r.error().message().find("test.circle"), std::string::npos) << r.error();
    EXPECT_EQ(calls, 0);
}

TEST(Codec, DecodeProtocolRefusesAnotherVersion) {
    bytes buf;
    ASSERT_TRUE(encode(sample_shape(), buf));
    int calls = 0;
    auto r = decode_protocol<protocol>("test.shape", 4, buf, {}, [&](auto&&) { ++calls; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), errc::unknown_type);
    const auto& text = r.error().message();
    EXPECT_NE(text.find("test.shape"), std::string::npos) << text;
    EXPECT_NE(text.find('4'), std::string::npos) << text;
    EXPECT_NE(text.find('3'), std::string::npos) << text;
    EXPECT_EQ(calls, 0);
}

TEST(Codec, DecodeProtocolRefusesABadPayload) {
    bytes buf;
    ASSERT_TRUE(encode(point{5, 6}, buf));
    int calls = 0;
    auto r = decode_protocol<protocol>("test.shape", 3, buf, {}, [&](auto&&) { ++calls; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), errc::malformed);
    EXPECT_EQ(calls, 0);
}

TEST(TypeTable, HoldsTheRegisteredTypes) {
    const auto types = registered_types();
    EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
    const auto has = [&](const char* name, std::uint32_t version) {
        return std::find(types.begin(), types.end(),
                         std::pair<std::string, std::uint32_t>(name, version)) != types.end();
    };
    EXPECT_TRUE(has("test.point", 1));
    EXPECT_TRUE(has("test.shape", 3));
    EXPECT_TRUE(has("test.ping", 0));
}

TEST(TypeTable, RegistrationIsIdempotent) {
    const auto before = registered_types();
    const auto hash = type_table_hash();
    EXPECT_TRUE(detail::register_wire_type("test.point", 1));
    EXPECT_EQ(registered_types(), before);
    EXPECT_EQ(type_table_hash(), hash);
}

TEST(TypeTable, HashIgnoresOrderButNotContent) {
    const std::vector<std::pair<std::string, std::uint32_t>> a{{"x", 1}, {"y", 2}, {"z", 0}};
    const std::vector<std::pair<std::string, std::uint32_t>> b{{"z", 0}, {"x", 1}, {"y", 2}};
    EXPECT_EQ(hash_type_table(a), hash_type_table(b));
    EXPECT_NE(hash_type_table(a), hash_type_table({{"x", 1}, {"y", 3}, {"z", 0}}));
    EXPECT_NE(hash_type_table(a), hash_type_table({{"x", 1}, {"y", 2}}));
    // lengths are hashed, so moving a character between names changes the hash
    EXPECT_NE(hash_type_table({{"ab", 0}, {"c", 0}}), hash_type_table({{"a", 0}, {"bc", 0}}));
    // a fixed value: the hash is the same in every process and build
    EXPECT_EQ(hash_type_table({}), 14695981039346656037ULL);
    EXPECT_EQ(type_table_hash(), hash_type_table(registered_types()));
}

} // namespace
} // namespace troupe::net::detail
