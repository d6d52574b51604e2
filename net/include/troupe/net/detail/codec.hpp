// TEMPORARY (replaced by the codec branch)
#pragma once
#include <troupe/actors/expected.hpp>
#include <troupe/net/wire_type.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>
namespace troupe::net::detail {
using bytes = std::vector<std::byte>;
using byte_view = std::span<const std::byte>;
struct decode_limits {
    std::size_t max_depth = 32;
    std::size_t max_string = 16u << 20;
    std::size_t max_elements = 1u << 20;
};
struct byte_sink {
    bytes& out;
    void write(const char* p, std::size_t n) {
        auto* b = reinterpret_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    }
};
template <class T>
void encode(const T& v, bytes& out) {
    byte_sink s{out};
    msgpack::pack(s, v);
}
template <class T>
expected<T> decode(byte_view in, const decode_limits& = {}) {
    try {
        auto oh = msgpack::unpack(reinterpret_cast<const char*>(in.data()), in.size());
        return oh.get().as<T>();
    } catch (const std::exception& e) {
        return fail(errc::malformed, e.what());
    }
}
template <class T>
std::string wire_name() {
    if constexpr (wire_message<T>)
        return std::string(wire_type<T>::name);
    else
        return "builtin";
}
template <class T>
std::uint32_t wire_version() {
    if constexpr (wire_message<T>)
        return wire_type<T>::version;
    else
        return 0;
}
template <class M, class F>
bool try_alt(std::string_view name, std::uint32_t version, byte_view payload,
             const decode_limits& l, F& f, expected<void>& out) {
    if (name != wire_type<M>::name)
        return false;
    if (version != wire_type<M>::version) {
        out = fail(errc::unknown_type, "version");
        return true;
    }
    auto m = decode<M>(payload, l);
    if (!m) {
        out = troupe::unexpected(m.error());
        return true;
    }
    f(std::move(*m));
    return true;
}
template <class P>
struct alts {
    using type = std::variant<P>;
};
template <class... Ms>
struct alts<std::variant<Ms...>> {
    using type = std::variant<Ms...>;
};
template <class P, class F>
expected<void> decode_protocol(std::string_view name, std::uint32_t version, byte_view payload,
                               const decode_limits& l, F&& f) {
    expected<void> out;
    bool found = [&]<class... Ms>(std::variant<Ms...>*) {
        return (try_alt<Ms>(name, version, payload, l, f, out) || ...);
    }(static_cast<typename alts<P>::type*>(nullptr));
    if (!found)
        return fail(errc::unknown_type,
                    "no wire type " + std::string(name) + " in this actor's protocol");
    return out;
}
} // namespace troupe::net::detail
