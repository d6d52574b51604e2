// Part of troupe. See LICENSE at the repository root.

#pragma once

// Which message types may cross the wire, and under what name and version
// (docs/net-codec.md).
//
// A type opts in twice: msgpack-cxx learns its shape, troupe learns its
// portable name and version.
//
//     struct order {
//         std::int32_t id = 0;
//         std::string item;
//         std::vector<std::int32_t> quantities;
//         std::optional<std::string> note;
//         using reply_type = bool;            // askable: the reply is a wire value
//         MSGPACK_DEFINE(id, item, quantities, note) // the fields in wire order, no ;
//     };
//     TROUPE_WIRE_TYPE(order, "shop.order", 1); // global scope, once per type
//
// Instead of `MSGPACK_DEFINE`, msgpack's adaptor specializations
// (`msgpack::adaptor::pack` / `convert`) work too. A message is packed as a
// msgpack array of its fields; the name and version travel beside every
// message, so a receiver knows what it is given before it decodes a byte.
//
// **Versioning:** bump `VERSION` whenever the fields change in any way. A
// receiver whose build registered another version refuses the message with
// `errc::unknown_type` (naming both versions), never guesses.
// **Failure:** every decoding failure (truncated, trailing bytes, wrong shape,
// over a limit) is `errc::malformed`; decoding never throws.
//
// **Refs:** a field may be a `troupe::actor_ref<P>` of a wire protocol `P`
// (also inside vectors and optionals): the receiving node gets a working ref
// of exactly that type (docs/net.md "Refs inside messages").

#include <troupe/actors/actor_ref.hpp>
#include <troupe/net/detail/ref_adaptor.hpp>

#include <msgpack.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace troupe::net {

/// The wire identity of a message type: `name` (portable across builds and
/// languages, unique in a system of nodes) and `version`. Undefined unless the
/// type opted in with `TROUPE_WIRE_TYPE`.
template <class T>
struct wire_type;

/// A user type that opted in with `TROUPE_WIRE_TYPE`.
template <class T>
concept wire_message = requires {
    { wire_type<T>::name } -> std::convertible_to<std::string_view>;
    { wire_type<T>::version } -> std::convertible_to<std::uint32_t>;
};

namespace detail {

template <class T>
struct is_wire_builtin : std::false_type {};

/// Integers of every width except the character types (whose signedness and
/// meaning are the platform's).
template <class T>
concept wire_integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                       !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
                       !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

} // namespace detail

/// What a reply (or a field-free value) may be: a `wire_message`, `void`
/// (a reply without a value), or a built-in: `bool`, the integers, `float`,
/// `double`, `std::string`, `std::vector<std::byte>` (a byte string), and
/// `std::vector<V>`, `std::optional<V>`, `std::pair<A, B>`,
/// `std::map<std::string, V>` of wire values, and `actor_ref<P>` of a
/// `wire_protocol` `P`. Built-ins have fixed portable names ("bool", "i32",
/// "u64", "f64", "str", "bin", "list<i32>", "opt<str>", "pair<i32,str>",
/// "map<str,f64>", "ref<a@1,b@1>" with `P`'s protocol signature) and
/// version 0.
template <class T>
concept wire_value = wire_message<T> || std::is_void_v<T> || detail::is_wire_builtin<T>::value;

namespace detail {

template <class T>
concept wire_field = wire_value<T> && !std::is_void_v<T>;

template <>
struct is_wire_builtin<bool> : std::true_type {};
template <wire_integer T>
struct is_wire_builtin<T> : std::true_type {};
template <>
struct is_wire_builtin<float> : std::true_type {};
template <>
struct is_wire_builtin<double> : std::true_type {};
template <>
struct is_wire_builtin<std::string> : std::true_type {};
template <>
struct is_wire_builtin<std::vector<std::byte>> : std::true_type {};
template <wire_field V>
struct is_wire_builtin<std::vector<V>> : std::true_type {};
template <wire_field V>
struct is_wire_builtin<std::optional<V>> : std::true_type {};
template <wire_field A, wire_field B>
struct is_wire_builtin<std::pair<A, B>> : std::true_type {};
template <wire_field V>
struct is_wire_builtin<std::map<std::string, V>> : std::true_type {};

template <class M>
concept wire_alternative = wire_message<M> &&(!askable<M> || wire_value<typename M::reply_type>);

template <class P>
struct is_wire_protocol : std::bool_constant<wire_alternative<P>> {};
template <class... Ms>
struct is_wire_protocol<std::variant<Ms...>> : std::bool_constant<(wire_alternative<Ms> && ...)> {};

/// A ref to an actor whose protocol crosses the wire (`ref_adaptor.hpp`).
template <class P>
requires is_wire_protocol<P>::value struct is_wire_builtin<actor_ref<P>> : std::true_type {
};

/// Adds (name, version) to the process-wide type table (what
/// `TROUPE_WIRE_TYPE` calls during static initialisation). Idempotent.
/// @threadsafe
bool register_wire_type(std::string_view name, std::uint32_t version) noexcept;

} // namespace detail

/// A protocol (one message type or a `std::variant` of them) that may be
/// spoken over the wire: every alternative is a `wire_message`, and an
/// askable one's `reply_type` is a `wire_value`.
template <class P>
concept wire_protocol = detail::is_wire_protocol<P>::value;

} // namespace troupe::net

/// Opts `T` into the wire as `NAME` (a string literal) at `VERSION` (an
/// unsigned integer), and registers the pair in the process-wide type table
/// (whose hash two nodes compare when they connect). Use it once per type, at
/// global namespace scope, after `T` is complete and before any code asks
/// whether `T` is a `wire_message`; spell `T` with all its namespaces
/// (`::shop::order`: the specialization lives in `troupe::net`, where a bare
/// name could find a troupe type). End it with a semicolon.
#define TROUPE_WIRE_TYPE(T, NAME, VERSION)                                                         \
    namespace troupe::net {                                                                        \
    template <>                                                                                    \
    struct wire_type<T> {                                                                          \
        static constexpr std::string_view name = NAME;                                             \
        static constexpr std::uint32_t version = VERSION;                                          \
        static inline const bool registered = detail::register_wire_type(name, version);           \
    };                                                                                             \
    }                                                                                              \
    static_assert(true, "TROUPE_WIRE_TYPE ends with a semicolon")
