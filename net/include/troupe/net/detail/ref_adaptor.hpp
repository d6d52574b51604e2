// Part of troupe. See LICENSE at the repository root.

#pragma once

// The msgpack adaptor of `troupe::actor_ref<P>`, so that a wire message may
// hold refs (docs/net.md "Refs inside messages"). A ref travels as the array
// [u8 tag, u64 export id, str protocol signature]. What a ref becomes depends
// on the link the message crosses, so the adaptor calls `ref_codec<P>`
// (defined in <troupe/net/detail/link.hpp>, with the proxies), which reads
// the link this thread encodes or decodes for. Include <troupe/net/node.hpp>
// (or that header) wherever a message holding refs is packed or unpacked.

#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/error.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace troupe::net::detail {

/// What a non-empty ref is on the wire, seen from its sender.
enum class ref_tag : std::uint8_t {
    none = 0,  ///< an empty ref (id 0)
    yours = 1, ///< the receiver's own export `id`: a ref to its proxy, handed back
    mine = 2,  ///< the sender's export `id`: a local actor, or a proxy routed through it
};

/// A ref's tag and export id; the signature travels beside them.
struct wire_ref {
    ref_tag tag = ref_tag::none;
    std::uint64_t id = 0;
};

/// Why a ref did not encode or decode. msgpack's adaptors have no other way
/// out than an exception: `encode` and `decode` catch it and return its
/// error, so it never leaves the codec.
class ref_error : public std::exception {
public:
    explicit ref_error(error e) : error_(std::move(e)), what_(error_.to_string()) {}
    [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }
    [[nodiscard]] const error& get() const noexcept { return error_; }

private:
    error error_;
    std::string what_;
};

/// `to_wire`, `from_wire` and `signature` of refs speaking `P`; defined in
/// <troupe/net/detail/link.hpp>.
template <class P>
struct ref_codec;

} // namespace troupe::net::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
    namespace adaptor {

    template <class P>
    struct pack<troupe::actor_ref<P>> {
        template <class Stream>
        packer<Stream>& operator()(packer<Stream>& o, const troupe::actor_ref<P>& r) const {
            using codec = troupe::net::detail::ref_codec<P>;
            const troupe::net::detail::wire_ref w = codec::to_wire(r); // may throw ref_error
            o.pack_array(3);
            o.pack(static_cast<std::uint8_t>(w.tag));
            o.pack(w.id);
            o.pack(codec::signature());
            return o;
        }
    };

    template <class P>
    struct convert<troupe::actor_ref<P>> {
        const msgpack::object& operator()(const msgpack::object& o, troupe::actor_ref<P>& v) const {
            using codec = troupe::net::detail::ref_codec<P>;
            if (o.type != msgpack::type::ARRAY || o.via.array.size != 3 ||
                o.via.array.ptr[2].type != msgpack::type::STR) {
                throw msgpack::type_error();
            }
            const auto tag = o.via.array.ptr[0].as<std::uint8_t>();
            const auto id = o.via.array.ptr[1].as<std::uint64_t>();
            const msgpack::object_str& sig = o.via.array.ptr[2].via.str;
            v = codec::from_wire(
                troupe::net::detail::wire_ref{static_cast<troupe::net::detail::ref_tag>(tag), id},
                std::string_view(sig.ptr, sig.size));
            return o;
        }
    };

    } // namespace adaptor
} // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
} // namespace msgpack
