// Part of troupe. See LICENSE at the repository root.

#include "handshake.hpp"

#include <algorithm>
#include <cstring>
#include <sodium.h>
#include <utility>

namespace troupe::net::internal {

namespace {

constexpr std::string_view hello_magic = "TRPE";
constexpr std::string_view auth_label = "troupe-auth-v1";
constexpr std::string_view keys_label = "troupe-keys-v1";

byte_view as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; // NOLINT: bytes of chars
}

template <std::size_t N>
byte_view as_bytes(const std::array<unsigned char, N>& a) noexcept {
    return {reinterpret_cast<const std::byte*>(a.data()), N}; // NOLINT: bytes of uchars
}

// A peer's text, printable: control bytes become '?'.
std::string printable(std::string s) {
    std::replace_if(
        s.begin(), s.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; }, '?');
    return s;
}

bool valid_name(std::string_view name) noexcept {
    return !name.empty() && name.size() <= max_node_name;
}

} // namespace

handshake::handshake(node_identity self, const cluster_secret& secret, handshake_role role,
                     std::uint16_t version)
    : self_(std::move(self)), role_(role), version_(version),
      key_(secret.derive_key()) { // initialises libsodium
    randombytes_buf(nonce_.data(), nonce_.size());
    if (!valid_name(self_.name)) {
        refuse(errc::invalid_argument,
               "this node's name has " + std::to_string(self_.name.size()) +
                   " bytes; a node name has 1 to " + std::to_string(max_node_name),
               nullptr);
        return;
    }
    wire_writer w(hello_body_);
    w.raw(as_bytes(hello_magic));
    w.u16(version_);
    w.u64(self_.id);
    w.str(self_.name);
    w.u64(self_.type_table_hash);
    w.u8(self_.seal ? 1 : 0);
    w.raw(as_bytes(nonce_));
}

bytes handshake::start() {
    bytes out;
    if (started_ || state_ == status::refused) {
        return out;
    }
    started_ = true;
    wire_writer w(out);
    const auto at = w.begin_frame(frame_kind::hello);
    w.raw(hello_body_);
    w.end_frame(at);
    return out;
}

handshake::step handshake::on_frame(frame_view f) {
    step s;
    if (state_ == status::refused || state_ == status::established || state_ == status::declined) {
        return s;
    }
    s.out = start();
    switch (f.kind) {
    case frame_kind::hello: on_hello(f.body, s.out); break;
    case frame_kind::auth: on_auth(f.body, s.out); break;
    case frame_kind::refuse: on_refuse(f.body, s.out); break;
    case frame_kind::bye: on_bye(f.body, s.out); break;
    default:
        refuse(errc::malformed,
               "node '" + self_.name + "' got a frame of kind " +
                   std::to_string(static_cast<unsigned>(f.kind)) + " (" +
                   std::string(to_string(f.kind)) + ") during the handshake",
               &s.out);
        break;
    }
    return s;
}

void handshake::on_hello(byte_view body, bytes& out) {
    if (state_ != status::awaiting_hello) {
        refuse(errc::malformed, "node '" + self_.name + "' got a second HELLO", &out);
        return;
    }
    if (body.size() < hello_magic.size() ||
        std::memcmp(body.data(), hello_magic.data(), hello_magic.size()) != 0) {
        refuse(errc::incompatible,
               "node '" + self_.name +
                   "' got a HELLO without the magic \"TRPE\": not a troupe peer",
               &out);
        return;
    }
    wire_reader r(body.subspan(hello_magic.size()));
    const std::uint16_t version = r.u16();
    if (!r.ok()) {
        refuse(errc::malformed, "node '" + self_.name + "' got a HELLO cut short", &out);
        return;
    }
    if (version != version_) {
        refuse(errc::incompatible,
               "protocol versions differ: node '" + self_.name + "' speaks version " +
                   std::to_string(version_) + ", its peer version " + std::to_string(version),
               &out);
        return;
    }
    node_identity peer;
    peer.id = r.u64();
    peer.name = r.str(max_node_name);
    peer.type_table_hash = r.u64();
    const std::uint8_t flags = r.u8();
    peer.seal = (flags & 1U) != 0;
    if (!r.ok() || r.remaining() != handshake_nonce_size || peer.name.empty()) {
        refuse(errc::malformed,
               "node '" + self_.name +
                   "' got a malformed HELLO (a name of 1 to 255 bytes, then the 32-byte nonce, "
                   "and nothing after it)",
               &out);
        return;
    }
    if (peer.id == self_.id) {
        refuse(errc::invalid_argument,
               "node '" + self_.name + "' got a HELLO with its own id " + std::to_string(self_.id) +
                   ": a node connected to itself, or two nodes share an id",
               &out);
        return;
    }
    const byte_view nonce = r.rest();
    std::memcpy(peer_nonce_.data(), nonce.data(), peer_nonce_.size());
    peer.name = printable(std::move(peer.name));
    peer_ = std::move(peer);
    peer_hello_body_.assign(body.begin(), body.end());
    // The acceptor decides now; the connector holds its AUTH until the
    // acceptor's, so that the acceptor's decision comes first.
    state_ = role_ == handshake_role::acceptor ? status::deciding : status::awaiting_auth;
}

void handshake::append_auth(bytes& out) const {
    const auto tag = auth_tag(true);
    wire_writer w(out);
    const auto at = w.begin_frame(frame_kind::auth);
    w.raw(as_bytes(tag));
    w.end_frame(at);
}

bytes handshake::accept() {
    bytes out;
    if (state_ != status::deciding) {
        return out;
    }
    append_auth(out);
    state_ = role_ == handshake_role::acceptor ? status::awaiting_auth : status::established;
    return out;
}

bytes handshake::decline(std::string_view reason) {
    bytes out;
    if (!started_ || state_ == status::established || state_ == status::declined ||
        state_ == status::refused) {
        return out;
    }
    wire_writer w(out);
    const auto at = w.begin_frame(frame_kind::bye);
    w.str(reason.substr(0, max_refuse_reason));
    w.end_frame(at);
    state_ = status::declined;
    failure_ = error(errc::stopped, std::string(reason));
    return out;
}

void handshake::on_bye(byte_view body, bytes& out) {
    if (state_ == status::awaiting_hello) {
        refuse(errc::malformed, "node '" + self_.name + "' got a bye before the HELLO", &out);
        return;
    }
    wire_reader r(body);
    std::string reason = r.str(max_refuse_reason);
    if (!r.done()) {
        refuse(errc::malformed, "node '" + self_.name + "' got a malformed bye", &out);
        return;
    }
    state_ = status::declined;
    failure_ = error(errc::stopped, "declined by the peer: " + printable(std::move(reason)));
}

void handshake::on_auth(byte_view body, bytes& out) {
    if (state_ == status::awaiting_hello) {
        refuse(errc::malformed, "node '" + self_.name + "' got an AUTH before the HELLO", &out);
        return;
    }
    if (state_ != status::awaiting_auth) {
        refuse(errc::malformed,
               "node '" + self_.name +
                   "' got an AUTH out of turn (the connector's AUTH answers the acceptor's)",
               &out);
        return;
    }
    if (body.size() != crypto_auth_hmacsha256_BYTES) {
        refuse(errc::malformed,
               "node '" + self_.name + "' got an AUTH of " + std::to_string(body.size()) +
                   " bytes; an AUTH has 32",
               &out);
        return;
    }
    const bytes msg = transcript(false);
    if (crypto_auth_hmacsha256_verify(uchars(body.data()), uchars(msg.data()), msg.size(),
                                      key_.bytes.data()) != 0) {
        refuse(errc::unauthenticated,
               "node '" + self_.name + "' could not verify the AUTH of node '" + peer_.name +
                   "': a different cluster secret, or an AUTH replayed from another session",
               &out);
        return;
    }
    // The connector decides now, before its AUTH; the acceptor is done.
    state_ = role_ == handshake_role::connector ? status::deciding : status::established;
}

void handshake::on_refuse(byte_view body, bytes& out) {
    wire_reader r(body);
    const auto code = static_cast<errc>(r.u8());
    std::string reason = r.str(max_refuse_reason);
    if (!r.done()) {
        refuse(errc::malformed, "node '" + self_.name + "' got a malformed REFUSE", &out);
        return;
    }
    const bool known = code != errc::none && to_string(code) != "unknown";
    state_ = status::refused;
    failure_ = error(known ? code : errc::malformed,
                     "refused by the peer: " + printable(std::move(reason)));
}

void handshake::refuse(errc code, std::string reason, bytes* out) {
    state_ = status::refused;
    if (out != nullptr) {
        wire_writer w(*out);
        const auto at = w.begin_frame(frame_kind::refuse);
        w.u8(static_cast<std::uint8_t>(code));
        w.str(std::string_view(reason).substr(0, max_refuse_reason));
        w.end_frame(at);
    }
    failure_ = error(code, std::move(reason));
}

bytes handshake::transcript(bool from_self) const {
    const auto& sender_nonce = from_self ? nonce_ : peer_nonce_;
    const auto& receiver_nonce = from_self ? peer_nonce_ : nonce_;
    bytes msg;
    wire_writer w(msg);
    w.raw(as_bytes(auth_label));
    w.raw(as_bytes(sender_nonce));
    w.raw(as_bytes(receiver_nonce));
    w.u64(from_self ? self_.id : peer_.id);
    w.u64(from_self ? peer_.id : self_.id);
    w.blob(from_self ? hello_body_ : peer_hello_body_);
    w.blob(from_self ? peer_hello_body_ : hello_body_);
    return msg;
}

std::array<unsigned char, 32> handshake::auth_tag(bool from_self) const {
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> tag{};
    const bytes msg = transcript(from_self);
    crypto_auth_hmacsha256(tag.data(), uchars(msg.data()), msg.size(), key_.bytes.data());
    return tag;
}

std::array<unsigned char, 32> handshake::direction_key(bool tx) const {
    std::array<unsigned char, 32> k{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, key_.bytes.data(), key_.bytes.size(), k.size());
    crypto_generichash_update(&st, uchars(keys_label), keys_label.size());
    crypto_generichash_update(&st, tx ? nonce_.data() : peer_nonce_.data(), nonce_.size());
    crypto_generichash_update(&st, tx ? peer_nonce_.data() : nonce_.data(), nonce_.size());
    crypto_generichash_final(&st, k.data(), k.size());
    sodium_memzero(&st, sizeof st);
    return k;
}

session_keys handshake::keys() const {
    session_keys k;
    if (state_ == status::established) {
        k.tx = direction_key(true);
        k.rx = direction_key(false);
    }
    return k;
}

} // namespace troupe::net::internal
