// TEMPORARY (replaced by the codec branch)
#pragma once
#include <msgpack.hpp>

#include <cstdint>
#include <string_view>
#include <variant>
namespace troupe::net {
template <class T>
struct wire_type;
template <class T>
concept wire_message = requires {
    wire_type<T>::name;
    wire_type<T>::version;
};
template <class P>
struct protocol_on_wire : std::bool_constant<wire_message<P>> {};
template <class... Ms>
struct protocol_on_wire<std::variant<Ms...>>
    : std::conjunction<std::bool_constant<wire_message<Ms>>...> {};
template <class P>
concept wire_protocol = protocol_on_wire<P>::value;
} // namespace troupe::net
#define TROUPE_WIRE_TYPE(T, NAME, VERSION)                                                         \
    template <>                                                                                    \
    struct troupe::net::wire_type<T> {                                                             \
        static constexpr std::string_view name = NAME;                                             \
        static constexpr std::uint32_t version = VERSION;                                          \
    };
