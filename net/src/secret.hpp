// Part of troupe. See LICENSE at the repository root.

#pragma once

// The cluster's shared secret (docs/net.md "Authentication and threat
// model"), and the 32-byte keys derived from it, wiped when they go.

#include <troupe/actors/expected.hpp>

#include "frame.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace troupe::net::internal {

/// Initialises libsodium once (thread-safe, idempotent); aborts if the
/// library cannot start (no usable random source), as nothing on the wire
/// could be trusted then.
void init_sodium() noexcept;

/// libsodium's view of bytes.
inline const unsigned char* uchars(const std::byte* p) noexcept {
    return reinterpret_cast<const unsigned char*>(p); // NOLINT: same object representation
}
inline const unsigned char* uchars(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data()); // NOLINT: same object representation
}

/// A 32-byte key that wipes itself (sodium_memzero) on destruction.
struct wiped_key {
    std::array<unsigned char, 32> bytes{};

    wiped_key() noexcept = default;
    explicit wiped_key(const std::array<unsigned char, 32>& k) noexcept : bytes(k) {}
    wiped_key(const wiped_key&) noexcept = default;
    wiped_key& operator=(const wiped_key&) noexcept = default;
    wiped_key(wiped_key&&) noexcept = default; // copies: the source wipes itself when it goes
    wiped_key& operator=(wiped_key&&) noexcept = default;
    ~wiped_key();
};

/// The secret every node of a cluster shares; the handshake proves knowledge
/// of it without sending it.
///
/// **Lifetime:** move-only; the bytes are wiped on destruction, and a
/// moved-from secret is empty. Nothing prints the bytes, not even an error.
/// **Threading:** immutable once built; `bytes()` from any thread.
class cluster_secret {
public:
    /// Fewer bytes than this are refused (`invalid_argument`).
    static constexpr std::size_t min_size = 16;

    /// The content of the file at `path`, trailing whitespace and newlines
    /// trimmed. An unreadable file, or fewer than `min_size` bytes left, is
    /// `invalid_argument` (the message names the path, never the content).
    [[nodiscard]] static expected<cluster_secret> from_file(const std::string& path);
    /// The bytes of `s` as they are; fewer than `min_size` is `invalid_argument`.
    [[nodiscard]] static expected<cluster_secret> from_string(std::string_view s);

    cluster_secret(cluster_secret&& other) noexcept;
    cluster_secret& operator=(cluster_secret&& other) noexcept;
    cluster_secret(const cluster_secret&) = delete;
    cluster_secret& operator=(const cluster_secret&) = delete;
    ~cluster_secret();

    [[nodiscard]] byte_view bytes() const noexcept { return bytes_; }

    /// The 32-byte key the handshake uses: BLAKE2b-256("troupe-secret-v1" | secret).
    [[nodiscard]] wiped_key derive_key() const;

private:
    explicit cluster_secret(internal::bytes b) noexcept : bytes_(std::move(b)) {}
    void wipe() noexcept;

    internal::bytes bytes_;
};

} // namespace troupe::net::internal
