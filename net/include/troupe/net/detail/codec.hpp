// Part of troupe. See LICENSE at the repository root.

#pragma once

// The message codec (docs/net-codec.md): msgpack-cxx for the payloads of
// `wire_message`s and `wire_value`s, with every payload validated against
// `decode_limits` before anything is unpacked, because payloads come from
// other nodes and are untrusted.

#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/net/detail/bytes.hpp>
#include <troupe/net/wire_type.hpp>

#include <msgpack.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace troupe::net::detail {

/// What one payload may hold. A payload over a limit is `malformed`.
struct decode_limits {
    std::size_t max_depth = 32;          ///< nesting of arrays and maps
    std::size_t max_string = 16u << 20;  ///< bytes of one str, bin or ext
    std::size_t max_elements = 1u << 20; ///< array elements + map keys and values, in all
};

/// The stream `encode` packs into: appends to a byte buffer.
struct byte_appender {
    bytes& out;
    void write(const char* p, std::size_t n) {
        const auto* b = reinterpret_cast<const std::byte*>(p); // NOLINT: byte view of chars
        out.insert(out.end(), b, b + n);
    }
};

} // namespace troupe::net::detail

// msgpack-cxx 4.1 packs a float or double holding a whole number as an
// integer (msgpack/msgpack-c#1018), and its range check lets 2^64 through to a
// `uint64_t` conversion, which is undefined behaviour (the fuzzer's UBSan found
// it re-encoding a decoded 2^64). troupe's packer writes floats as msgpack
// floats, always: defined for every value, and a "f64" stays a float on the
// wire for every reader. Decoding still accepts integers for floats.
namespace msgpack::v1 {
template <>
inline packer<troupe::net::detail::byte_appender>&
packer<troupe::net::detail::byte_appender>::pack_float(float d) {
    const auto bits = std::bit_cast<std::uint32_t>(d);
    const std::array<char, 5> buf{static_cast<char>(0xcaU), static_cast<char>(bits >> 24U),
                                  static_cast<char>(bits >> 16U), static_cast<char>(bits >> 8U),
                                  static_cast<char>(bits)};
    append_buffer(buf.data(), buf.size());
    return *this;
}
template <>
inline packer<troupe::net::detail::byte_appender>&
packer<troupe::net::detail::byte_appender>::pack_double(double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    std::array<char, 9> buf{static_cast<char>(0xcbU)};
    for (std::size_t i = 0; i < 8; ++i) {
        buf[1 + i] = static_cast<char>(bits >> (56U - 8U * i)); // big-endian
    }
    append_buffer(buf.data(), buf.size());
    return *this;
}
} // namespace msgpack::v1

namespace troupe::net::detail {

/// Appends `v`, packed as msgpack, to `out`. A ref inside `v` encodes only
/// for a link (`link_scope`, net/detail/link.hpp): elsewhere, or when its
/// actor cannot be exported, encoding fails with the ref's error
/// (`invalid_argument` without a link); an adaptor that throws fails it with
/// `invalid_argument`. On failure `out` is as before; never throws.
template <class T>
requires detail::wire_field<T>
[[nodiscard]] expected<void> encode(const T& v, bytes& out) {
    const std::size_t before = out.size();
    byte_appender sink{out};
    try {
        msgpack::pack(sink, v);
        return {};
    } catch (const ref_error& e) {
        out.resize(before);
        return troupe::unexpected(e.get());
    } catch (const std::exception& e) {
        out.resize(before);
        return fail(errc::invalid_argument, std::string("the value does not encode: ") + e.what());
    } catch (...) { // a user adaptor may throw anything
        out.resize(before);
        return fail(errc::invalid_argument, "the value does not encode");
    }
}

/// The first chunk of the zone that unpacks a payload of `size` bytes: room
/// for the objects of a payload that size (validated payloads hold at most
/// one object per byte), so a small payload costs one small allocation.
[[nodiscard]] std::size_t zone_chunk_size(std::size_t size) noexcept;

/// Unpacks `in` into `zone`, checking each header against `limits` before
/// anything is built for it (one pass), so `zone` grows with `in`'s size,
/// never with what a header announces. The object refers to `in`'s bytes
/// and `zone`'s memory: it is valid while both are. Failures are `malformed`.
[[nodiscard]] expected<msgpack::object> unpack(byte_view in, const decode_limits& limits,
                                               msgpack::zone& zone);

/// Decodes one `T` that fills `in` exactly. Every failure (truncated,
/// trailing bytes, a type mismatch or wrong shape, a limit) is
/// `errc::malformed`, except a ref's own refusal (`ref_codec`): a ref of
/// another protocol is `type_mismatch`, one to an actor that terminated
/// `receiver_down`, one outside a link `invalid_argument`. Never throws.
template <class T>
requires detail::wire_field<T>
[[nodiscard]] expected<T> decode(byte_view in, const decode_limits& limits = {}) {
    msgpack::zone zone(zone_chunk_size(in.size()));
    auto obj = unpack(in, limits, zone);
    if (!obj) {
        return troupe::unexpected(std::move(obj).error());
    }
    try {
        return obj->as<T>();
    } catch (const ref_error& e) {
        return troupe::unexpected(e.get());
    } catch (const std::exception& e) {
        return fail(errc::malformed, std::string("payload does not fit the type: ") + e.what());
    } catch (...) { // a user adaptor may throw anything
        return fail(errc::malformed, "payload does not fit the type");
    }
}

/// The portable name of `T` (see `wire_value`). A message nested in a
/// built-in carries its version: "list<shop.order@1>".
template <class T>
requires wire_value<T>
[[nodiscard]] std::string wire_name();

/// "name@version,..." of `P`'s alternatives, sorted: what a lookup checks,
/// and what travels with a ref.
template <class P>
[[nodiscard]] std::string protocol_signature();

/// `wire_type<T>::version` for a message, 0 for a built-in.
template <class T>
requires wire_value<T>
[[nodiscard]] constexpr std::uint32_t wire_version() noexcept {
    if constexpr (wire_message<T>) {
        return wire_type<T>::version;
    } else {
        return 0;
    }
}

namespace codec_detail {

template <class T>
std::string nested_name() {
    if constexpr (wire_message<T>) {
        return std::string(wire_type<T>::name) + "@" + std::to_string(wire_type<T>::version);
    } else {
        return wire_name<T>();
    }
}

template <class T>
struct builtin_name;
template <class T>
struct builtin_name<std::vector<T>> {
    static std::string get() { return "list<" + nested_name<T>() + ">"; }
};
template <class T>
struct builtin_name<std::optional<T>> {
    static std::string get() { return "opt<" + nested_name<T>() + ">"; }
};
template <class A, class B>
struct builtin_name<std::pair<A, B>> {
    static std::string get() { return "pair<" + nested_name<A>() + "," + nested_name<B>() + ">"; }
};
template <class V>
struct builtin_name<std::map<std::string, V>> {
    static std::string get() { return "map<str," + nested_name<V>() + ">"; }
};

template <class P>
struct builtin_name<actor_ref<P>> {
    static std::string get() { return "ref<" + protocol_signature<P>() + ">"; }
};

template <class P>
struct alternatives {
    using type = std::variant<P>;
};
template <class... Ms>
struct alternatives<std::variant<Ms...>> {
    using type = std::variant<Ms...>;
};

template <class M, class F>
expected<void> decode_as(std::uint32_t version, byte_view payload, const decode_limits& limits,
                         F& on_message) {
    if (version != wire_type<M>::version) {
        return fail(errc::unknown_type, "wire type " + std::string(wire_type<M>::name) +
                                            ": received version " + std::to_string(version) +
                                            ", this actor's protocol has version " +
                                            std::to_string(wire_type<M>::version));
    }
    auto m = decode<M>(payload, limits);
    if (!m) { // malformed, or a ref's refusal (see decode)
        return fail(m.error().code(),
                    "wire type " + std::string(wire_type<M>::name) + ": " + m.error().message());
    }
    on_message(std::move(*m));
    return {};
}

template <class... Ms>
constexpr bool names_are_unique(std::variant<Ms...>* /*tag*/) {
    const std::array<std::string_view, sizeof...(Ms)> names{wire_type<Ms>::name...};
    for (std::size_t i = 0; i < names.size(); ++i) {
        for (std::size_t j = i + 1; j < names.size(); ++j) {
            if (names[i] == names[j]) {
                return false;
            }
        }
    }
    return true;
}

template <class F, class... Ms>
expected<void> decode_one_of(std::variant<Ms...>* /*tag*/, std::string_view name,
                             std::uint32_t version, byte_view payload, const decode_limits& limits,
                             F& on_message) {
    // At most one alternative has that name (decode_protocol checks).
    expected<void> result;
    const bool found = ((wire_type<Ms>::name == name &&
                         (result = decode_as<Ms>(version, payload, limits, on_message), true)) ||
                        ...);
    if (!found) {
        return fail(errc::unknown_type,
                    "no wire type " + std::string(name) + " in this actor's protocol");
    }
    return result;
}

} // namespace codec_detail

template <class T>
requires wire_value<T> std::string wire_name() {
    if constexpr (wire_message<T>) {
        return std::string(wire_type<T>::name);
    } else if constexpr (std::is_void_v<T>) {
        return "void";
    } else if constexpr (std::is_same_v<T, bool>) {
        return "bool";
    } else if constexpr (std::is_integral_v<T>) {
        return (std::is_signed_v<T> ? "i" : "u") + std::to_string(8 * sizeof(T));
    } else if constexpr (std::is_floating_point_v<T>) {
        return "f" + std::to_string(8 * sizeof(T));
    } else if constexpr (std::is_same_v<T, std::string>) {
        return "str";
    } else if constexpr (std::is_same_v<T, std::vector<std::byte>> ||
                         std::is_same_v<T, std::vector<unsigned char>>) {
        return "bin"; // msgpack packs both as a byte string
    } else {
        return codec_detail::builtin_name<T>::get();
    }
}

template <class P>
std::string protocol_signature() {
    std::vector<std::string> parts;
    [&]<class... Ms>(std::variant<Ms...>*) {
        (parts.push_back(wire_name<Ms>() + "@" + std::to_string(wire_version<Ms>())), ...);
    }(static_cast<typename codec_detail::alternatives<P>::type*>(nullptr));
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const auto& p : parts) {
        out += out.empty() ? "" : ",";
        out += p;
    }
    return out;
}

/// Decodes `payload` as the alternative of protocol `P` whose wire name is
/// `name`, and calls `on_message(M&&)` with it, once. Refuses a name `P` does
/// not have and a version other than `P`'s with `errc::unknown_type` (the
/// message names the type, and both versions), a bad payload with
/// `errc::malformed`; `on_message` is not called then. Two alternatives of
/// `P` with one wire name do not compile. A ref in the message may refuse it
/// with its own error (see `decode`).
template <class P, class F>
requires wire_protocol<P>
[[nodiscard]] expected<void> decode_protocol(std::string_view name, std::uint32_t version,
                                             byte_view payload, const decode_limits& limits,
                                             F&& on_message) {
    using alts = typename codec_detail::alternatives<P>::type;
    static_assert(codec_detail::names_are_unique(static_cast<alts*>(nullptr)),
                  "two alternatives of the protocol share a wire name");
    return codec_detail::decode_one_of(static_cast<alts*>(nullptr), name, version, payload, limits,
                                       on_message);
}

/// Every (name, version) registered in this process, sorted.
/// @threadsafe
[[nodiscard]] std::vector<std::pair<std::string, std::uint32_t>> registered_types();

/// A hash of `entries` that ignores their order (they are sorted first):
/// 64-bit FNV-1a over each name's length, bytes and version, little-endian.
[[nodiscard]] std::uint64_t
hash_type_table(std::vector<std::pair<std::string, std::uint32_t>> entries);

/// `hash_type_table(registered_types())`: equal on two nodes that registered
/// the same types, whatever the order their static initialisers ran in.
/// @threadsafe
[[nodiscard]] std::uint64_t type_table_hash();

} // namespace troupe::net::detail
