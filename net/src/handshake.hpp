// Part of troupe. See LICENSE at the repository root.

#pragma once

// The wire's handshake (docs/net.md "Handshake"): both sides send HELLO at
// once; the acceptor answers the connector's HELLO with AUTH (an HMAC proving
// knowledge of the cluster secret, bound to both nonces, both ids and both
// HELLOs), the connector answers the acceptor's AUTH with its own. Before
// each of those two AUTHs the node decides whether it wants this connection
// (`deciding`): `accept` goes on, `decline` sends a bye instead (another
// connection to the same peer is kept). Any failure sends REFUSE and ends the
// handshake; nothing is retried on the same connection.

#include <troupe/actors/error.hpp>

#include "frame.hpp"
#include "secret.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace troupe::net::internal {

/// Who a node is, as its HELLO tells the peer.
struct node_identity {
    std::uint64_t id = 0;
    std::string name;                  ///< 1 to `max_node_name` bytes
    std::uint64_t type_table_hash = 0; ///< the wire types the node knows (the codec's)
    bool seal = false; ///< wants the link's frames sealed (AEAD) after the handshake
};

/// 2: the connector holds its AUTH until the acceptor's (1 sent both at once).
inline constexpr std::uint16_t protocol_version = 2;
/// Longest node name a HELLO may carry.
inline constexpr std::size_t max_node_name = 255;
/// Longest reason a REFUSE may carry (longer is cut).
inline constexpr std::size_t max_refuse_reason = 1024;
/// Size of the HELLO's random nonce.
inline constexpr std::size_t handshake_nonce_size = 32;
/// The longest handshake frame's `length` (kind and body): a REFUSE with the
/// longest reason; the transport's frame reader needs no more before
/// `established`.
inline constexpr std::uint32_t max_handshake_frame_length = 1 + 1 + 4 + max_refuse_reason;
static_assert(1 + 4 + 2 + 8 + 4 + max_node_name + 8 + handshake_nonce_size <=
                  max_handshake_frame_length,
              "the longest HELLO fits");

/// The link's AEAD keys, one per direction: this side's `tx` is the peer's `rx`.
struct session_keys {
    std::array<unsigned char, 32> tx{};
    std::array<unsigned char, 32> rx{};
};

/// Which end of the connection a handshake is: the side that connected, or
/// the side that accepted.
enum class handshake_role : std::uint8_t { connector, acceptor };

/// One side of the handshake, as a state machine over frames: it performs no
/// I/O; the transport sends what it returns and feeds it what arrives.
///
/// The sequence: both send HELLO. The acceptor, on the connector's HELLO,
/// and the connector, on the acceptor's (verified) AUTH, stop in `deciding`:
/// the owner calls `accept` (the acceptor sends its AUTH and awaits the
/// connector's; the connector sends its AUTH and is `established`) or
/// `decline` (a bye; `declined`). A bye from the peer once its HELLO arrived
/// also ends in `declined`: neither is a failure of the handshake.
///
/// **Threading:** one thread at a time (the connection's).
/// **Failure:** every failure ends in `status::refused`, with a REFUSE frame
/// to send (unless the peer refused first) and the reason in `failure()`:
/// `incompatible` (protocol version or magic), `unauthenticated` (wrong
/// secret, replayed or reflected AUTH), `invalid_argument` (the peer has this
/// node's id: a node connected to itself; or this node's own name is empty
/// or too long), `malformed` (anything else off-protocol), or the code of
/// the peer's REFUSE. Frames after `refused` or `established` are ignored.
class handshake {
public:
    enum class status : std::uint8_t {
        awaiting_hello,
        deciding, ///< the owner must `accept` or `decline`
        awaiting_auth,
        established,
        declined, ///< a bye, sent or received: the peer is linked over another connection
        refused,
    };

    /// What to send now: complete frames (with prefix), possibly none.
    struct step {
        bytes out;
    };

    /// Derives the key from `secret` (not kept) and draws this side's nonce.
    /// `version` is the protocol version this side claims (a seam for tests
    /// of a mismatch). An invalid own name (empty or longer than
    /// `max_node_name`) leaves the handshake `refused` with `invalid_argument`.
    handshake(node_identity self, const cluster_secret& secret, handshake_role role,
              std::uint16_t version = protocol_version);

    handshake(handshake&&) noexcept = default;
    handshake& operator=(handshake&&) noexcept = default;
    handshake(const handshake&) = delete;
    handshake& operator=(const handshake&) = delete;
    ~handshake() = default;

    /// The HELLO frame to send first. Empty on a second call, and if refused.
    /// (`on_frame` before `start` sends the HELLO ahead of its answer.)
    [[nodiscard]] bytes start();

    /// Takes one frame received before `established`; returns what to send.
    [[nodiscard]] step on_frame(frame_view f);

    /// In `deciding`: goes on; returns this side's AUTH to send. Empty in
    /// any other state.
    [[nodiscard]] bytes accept();
    /// Before `established`, once started: ends the handshake in `declined`
    /// and returns the bye to send (`reason`, cut to `max_refuse_reason`).
    /// Empty (and no change) after `established`, `declined` or `refused`.
    [[nodiscard]] bytes decline(std::string_view reason);

    [[nodiscard]] status state() const noexcept { return state_; }
    [[nodiscard]] handshake_role role() const noexcept { return role_; }
    /// Why the handshake was refused, or (`errc::stopped`) declined;
    /// `errc::none` otherwise.
    [[nodiscard]] const error& failure() const noexcept { return failure_; }
    /// The peer's identity; valid once its HELLO arrived (then also after a
    /// refusal that came later).
    [[nodiscard]] const node_identity& peer() const noexcept { return peer_; }
    /// The link's keys once `established`; all zero before.
    [[nodiscard]] session_keys keys() const;

private:
    void on_hello(byte_view body, bytes& out);
    void on_auth(byte_view body, bytes& out);
    void on_refuse(byte_view body, bytes& out);
    void on_bye(byte_view body, bytes& out);
    void append_auth(bytes& out) const;
    // Ends the handshake with `code`; appends a REFUSE to `out` unless null.
    void refuse(errc code, std::string reason, bytes* out);
    // What an AUTH authenticates, sent by this side or by the peer:
    // "troupe-auth-v1" | sender nonce | receiver nonce | sender id |
    // receiver id | blob(sender HELLO body) | blob(receiver HELLO body).
    [[nodiscard]] bytes transcript(bool from_self) const;
    [[nodiscard]] std::array<unsigned char, 32> auth_tag(bool from_self) const;
    [[nodiscard]] std::array<unsigned char, 32> direction_key(bool tx) const;

    node_identity self_;
    handshake_role role_;
    std::uint16_t version_;
    wiped_key key_;
    std::array<unsigned char, handshake_nonce_size> nonce_{};
    std::array<unsigned char, handshake_nonce_size> peer_nonce_{};
    bytes hello_body_;      // this side's HELLO body, for the AUTH transcript
    bytes peer_hello_body_; // the peer's
    node_identity peer_;
    status state_ = status::awaiting_hello;
    bool started_ = false;
    error failure_;
};

} // namespace troupe::net::internal
