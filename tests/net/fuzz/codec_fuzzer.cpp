// Part of troupe. See LICENSE at the repository root.
//
// libFuzzer target for the message codec (docs/net-codec.md): arbitrary bytes
// as payloads from an untrusted node.
//
// Input: byte 0 chooses what to decode and byte 1 tweaks it; the rest is the
// payload.
//   byte 0 % 8 in 0..3: decode_protocol of `sample` under the name of
//     alternative 0..2 or an unknown name; byte 1 bit 0 set sends the wrong
//     version (expect unknown_type)
//   byte 0 % 8 in 4..7: decode<T> of a built-in or nested container
//   byte 0 bit 3: tight decode_limits instead of the defaults
//   byte 0 bit 4 (overrides the above): decode<with_refs>, a message of
//     actor refs, as from a peer: a stand-in link resolves the peer's ref
//     to this node's export 1 (an actor), says export 2 terminated, and
//     has no other exports; refs to the peer's own exports are refused
//     (its proxies are out of scope here)
// Checked: decoding never crashes, throws or leaks (the sanitizers); a refusal
// carries the errc the contract names; whatever decodes re-encodes to bytes
// that decode again and re-encode to the same bytes.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/detail/codec.hpp>
#include <troupe/net/detail/link.hpp>
#include <troupe/net/wire_type.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace codec_fuzz {

struct item {
    std::string sku;
    std::uint32_t qty = 0;
    std::optional<double> price;
    MSGPACK_DEFINE(sku, qty, price)
};

struct order {
    std::uint64_t id = 0;
    std::vector<item> items;
    std::map<std::string, std::vector<std::int16_t>> tags;
    std::pair<bool, std::string> flag;
    using reply_type = bool;
    MSGPACK_DEFINE(id, items, tags, flag)
};

struct note {
    std::string text;
    std::vector<std::byte> blob;
    std::vector<std::vector<std::optional<std::vector<std::string>>>> nested;
    MSGPACK_DEFINE(text, blob, nested)
};

using ref_proto = std::variant<item>;

struct with_refs {
    troupe::actor_ref<ref_proto> who;
    std::vector<troupe::actor_ref<ref_proto>> many;
    std::optional<troupe::actor_ref<ref_proto>> maybe;
    MSGPACK_DEFINE(who, many, maybe)
};

} // namespace codec_fuzz

TROUPE_WIRE_TYPE(::codec_fuzz::item, "fuzz.item", 1);
TROUPE_WIRE_TYPE(::codec_fuzz::order, "fuzz.order", 2);
TROUPE_WIRE_TYPE(::codec_fuzz::note, "fuzz.note", 7);
TROUPE_WIRE_TYPE(::codec_fuzz::with_refs, "fuzz.with_refs", 1);

namespace {

namespace net = troupe::net;
namespace in = troupe::net::detail;
using sample = std::variant<codec_fuzz::item, codec_fuzz::order, codec_fuzz::note>;

void check(bool ok) {
    if (!ok) {
        std::abort(); // a broken contract: libFuzzer reports the input
    }
}

// What decoded must survive a second trip unchanged. The second decode uses
// the default limits: re-encoding may grow a payload (missing trailing fields
// come back as defaults, a float32 as a float64).
template <class T>
void check_stable(const T& v) {
    in::bytes once;
    check(in::encode(v, once).has_value());
    auto again = in::decode<T>(once);
    check(again.has_value());
    in::bytes twice;
    check(in::encode(*again, twice).has_value());
    check(once == twice);
}

template <class T>
void decode_value(in::byte_view payload, const in::decode_limits& limits) {
    auto v = in::decode<T>(payload, limits);
    if (v) {
        check_stable(*v);
    } else {
        check(v.error().code() == troupe::errc::malformed);
    }
}

template <class M>
void decode_message(in::byte_view payload, const in::decode_limits& limits, bool wrong_version,
                    std::string_view name) {
    const std::uint32_t version = net::wire_type<M>::version + (wrong_version ? 1 : 0);
    int calls = 0;
    auto r = in::decode_protocol<sample>(name, version, payload, limits, [&](auto&& m) {
        ++calls;
        check(std::is_same_v<std::remove_cvref_t<decltype(m)>, M>);
        check_stable(m);
    });
    if (r) {
        check(calls == 1 && !wrong_version);
    } else {
        check(calls == 0);
        check(r.error().code() ==
              (wrong_version ? troupe::errc::unknown_type : troupe::errc::malformed));
    }
}

// ---- refs ----------------------------------------------------------------------

class item_sink final : public troupe::actor<codec_fuzz::ref_proto> {
public:
    void on(codec_fuzz::item& /*unused*/) {}
};

/// The link a message of refs is decoded from. Decoding and re-encoding
/// refs may only resolve and export them: anything that would send aborts.
class stand_in_link final : public in::link {
public:
    explicit stand_in_link(troupe::actor_addr exported) : exported_(std::move(exported)) {}

    troupe::send_result send_tell(std::uint64_t, std::uint64_t, std::string_view, std::uint32_t,
                                  in::byte_view) override {
        return never();
    }
    troupe::send_result send_ask(std::uint64_t, std::uint64_t, std::string_view, std::uint32_t,
                                 in::byte_view, troupe::duration,
                                 std::unique_ptr<in::pending_reply>&) override {
        return never();
    }
    troupe::ask_handle<void> writable(troupe::duration) override {
        never();
        return troupe::detail::failed_ask<void>(unreachable());
    }
    void overflowed(std::string_view, std::uint64_t) override { never(); }
    void send_reply(std::uint64_t, const troupe::error&, in::byte_view) override { never(); }
    void refuse(const in::inbound&, const troupe::error&) override { never(); }
    void watch(std::uint64_t) override { never(); }
    void exit(std::uint64_t, const troupe::error&) override { never(); }
    void adopt_proxy(const troupe::actor_addr&, std::uint64_t) override { never(); }
    void not_encoded(std::string_view, std::uint64_t, const troupe::error&) override { never(); }

    // Only refs that decoded re-encode: the export, handed back as the peer's.
    troupe::expected<in::wire_ref>
    ref_to_wire(const troupe::actor_addr& who, const std::string& signature,
                in::deliverer (*)(const troupe::actor_addr&)) override {
        check(who == exported_ && signature == in::ref_codec<codec_fuzz::ref_proto>::signature());
        return in::wire_ref{in::ref_tag::yours, 1};
    }
    troupe::expected<troupe::actor_addr> exported_actor(std::uint64_t id,
                                                        std::string_view) override {
        if (id == 1) {
            return exported_;
        }
        if (id == 2) {
            return troupe::fail(troupe::errc::receiver_down, "export 2 terminated");
        }
        return troupe::fail(troupe::errc::malformed, "no such export");
    }
    troupe::expected<in::found_actor> peer_export(std::uint64_t) override {
        return troupe::unexpected(unreachable());
    }

private:
    static troupe::error unreachable() {
        return troupe::error{troupe::errc::node_unreachable, "a stand-in link"};
    }
    static troupe::send_result never() {
        check(false);
        return troupe::unexpected(unreachable());
    }

    troupe::actor_addr exported_;
};

void decode_refs(in::byte_view payload, const in::decode_limits& limits) {
    static troupe::system sys(troupe::system_config{.workers = 1});
    static const auto sink = sys.spawn<item_sink>();
    static stand_in_link over(sink.addr());
    const in::link_scope scope(over);
    auto v = in::decode<codec_fuzz::with_refs>(payload, limits);
    if (v) {
        check_stable(*v);
        return;
    }
    const auto code = v.error().code();
    check(code == troupe::errc::malformed || code == troupe::errc::type_mismatch ||
          code == troupe::errc::receiver_down || code == troupe::errc::node_unreachable);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t choice = data[0];
    const bool wrong_version = (data[1] & 1U) != 0;
    const in::byte_view payload(reinterpret_cast<const std::byte*>(data + 2), size - 2);
    const in::decode_limits limits =
        (choice & 8U) != 0
            ? in::decode_limits{.max_depth = 4, .max_string = 64, .max_elements = 256}
            : in::decode_limits{};
    if ((choice & 16U) != 0) {
        decode_refs(payload, limits);
        return 0;
    }
    switch (choice % 8) {
    case 0: decode_message<codec_fuzz::item>(payload, limits, wrong_version, "fuzz.item"); break;
    case 1: decode_message<codec_fuzz::order>(payload, limits, wrong_version, "fuzz.order"); break;
    case 2: decode_message<codec_fuzz::note>(payload, limits, wrong_version, "fuzz.note"); break;
    case 3: {
        auto r = in::decode_protocol<sample>("fuzz.unknown", 1, payload, limits,
                                             [](auto&&) { check(false); });
        check(!r && r.error().code() == troupe::errc::unknown_type);
        break;
    }
    case 4: decode_value<std::int32_t>(payload, limits); break;
    case 5:
        decode_value<std::map<std::string, std::optional<std::vector<double>>>>(payload, limits);
        break;
    case 6:
        decode_value<std::vector<std::pair<std::string, std::vector<std::byte>>>>(payload, limits);
        break;
    default: decode_value<std::vector<codec_fuzz::order>>(payload, limits); break;
    }
    return 0;
}
