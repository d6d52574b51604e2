// Part of troupe. See LICENSE at the repository root.

#pragma once

// Frames after the handshake (docs/net.md "Encryption"): each is sealed with
// ChaCha20-Poly1305 (IETF, libsodium) under the direction's session key, as
//
//     u32 length | u8 sealed | ciphertext(u8 kind | body) | 16-byte tag
//
// The 96-bit nonce is 4 zero bytes and a 64-bit little-endian counter, one
// per direction, starting at 0 and never sent: TCP keeps the order, so a
// dropped, replayed or reordered frame fails to open. The counter never
// reaches its last value, 2^64 - 1: at that point sealing and opening fail
// instead of reusing a nonce (the link must reconnect for new keys).

#include <troupe/actors/expected.hpp>

#include "frame.hpp"
#include "secret.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace troupe::net::internal {

/// Bytes a sealed frame adds to the plaintext frame: the outer kind and the tag.
inline constexpr std::size_t seal_overhead = 1 + 16;
/// The counter value that is never used as a nonce (exhaustion).
inline constexpr std::uint64_t last_seal_counter = std::numeric_limits<std::uint64_t>::max();

/// Seals the frames of one direction.
///
/// **Threading:** one thread at a time (the connection's).
/// **Failure:** `seal` fails only when the counter is exhausted
/// (`unauthenticated`; it stays failed) or the body cannot fit a frame
/// (`invalid_argument`); `out` is unchanged then.
class frame_sealer {
public:
    /// `first_counter` is a seam for tests near exhaustion; the link uses 0.
    explicit frame_sealer(const std::array<unsigned char, 32>& key,
                          std::uint64_t first_counter = 0);

    /// Appends one complete `sealed` frame holding `kind | body` to `out`.
    [[nodiscard]] expected<void> seal(frame_kind kind, byte_view body, bytes& out);

    /// The counter the next `seal` uses.
    [[nodiscard]] std::uint64_t counter() const noexcept { return counter_; }

private:
    wiped_key key_;
    std::uint64_t counter_;
};

/// Opens the frames of one direction, in the order they were sealed.
///
/// **Threading:** one thread at a time (the connection's).
/// **Failure:** a frame that does not authenticate under the next counter
/// (tampered, replayed, reordered, dropped before it, another key) is
/// `unauthenticated`; a body too short for the tag, or a sealed frame inside
/// a sealed frame, is `malformed`; at counter exhaustion `unauthenticated`.
/// The first failure sticks: every later `open` fails (the link is over).
class frame_opener {
public:
    /// `first_counter` is a seam for tests near exhaustion; the link uses 0.
    explicit frame_opener(const std::array<unsigned char, 32>& key,
                          std::uint64_t first_counter = 0);

    /// Opens the body of a `sealed` frame; returns the inner kind and body,
    /// a view into this opener's buffer, valid until the next `open`.
    [[nodiscard]] expected<frame_view> open(byte_view sealed_body);

    /// The counter the next `open` expects.
    [[nodiscard]] std::uint64_t counter() const noexcept { return counter_; }

private:
    wiped_key key_;
    std::uint64_t counter_;
    bytes plain_;
    bool failed_ = false;
};

} // namespace troupe::net::internal
