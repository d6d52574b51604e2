// Part of troupe. See LICENSE at the repository root.

#include "seal.hpp"

#include <sodium.h>
#include <string>

namespace troupe::net::internal {

namespace {

constexpr std::size_t tag_size = crypto_aead_chacha20poly1305_IETF_ABYTES;
static_assert(seal_overhead == 1 + tag_size);

using nonce = std::array<unsigned char, crypto_aead_chacha20poly1305_IETF_NPUBBYTES>;

nonce nonce_of(std::uint64_t counter) noexcept {
    nonce n{};
    for (std::size_t i = 0; i < 8; ++i) {
        n[4 + i] = static_cast<unsigned char>((counter >> (8 * i)) & 0xffU);
    }
    return n;
}

unsigned char* uchars_mut(std::byte* p) noexcept {
    return reinterpret_cast<unsigned char*>(p); // NOLINT: same object representation
}

tl::unexpected<error> exhausted() {
    return fail(errc::unauthenticated,
                "the link's 2^64 - 1 nonces are used up; reconnect for new keys");
}

} // namespace

frame_sealer::frame_sealer(const std::array<unsigned char, 32>& key, std::uint64_t first_counter)
    : key_(key), counter_(first_counter) {
    init_sodium();
}

expected<void> frame_sealer::seal(frame_kind kind, byte_view body, bytes& out) {
    if (counter_ == last_seal_counter) {
        return exhausted();
    }
    // length = outer kind + inner kind + body + tag
    constexpr std::size_t fixed = seal_overhead + 1;
    if (body.size() > std::numeric_limits<std::uint32_t>::max() - fixed) {
        return fail(errc::invalid_argument,
                    "a body of " + std::to_string(body.size()) + " bytes cannot be framed");
    }
    const std::size_t at = out.size();
    out.reserve(at + frame_prefix_size + fixed + body.size());
    wire_writer w(out);
    w.u32(static_cast<std::uint32_t>(fixed + body.size()));
    w.u8(static_cast<std::uint8_t>(frame_kind::sealed));
    const std::size_t plain_at = out.size();
    w.u8(static_cast<std::uint8_t>(kind));
    w.raw(body);
    const std::size_t plain_size = out.size() - plain_at;
    out.resize(out.size() + tag_size);
    const nonce n = nonce_of(counter_);
    unsigned char* plain = uchars_mut(out.data() + plain_at);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(plain, plain + plain_size, nullptr, plain,
                                                       plain_size, nullptr, 0, nullptr, n.data(),
                                                       key_.bytes.data());
    ++counter_;
    return {};
}

frame_opener::frame_opener(const std::array<unsigned char, 32>& key, std::uint64_t first_counter)
    : key_(key), counter_(first_counter) {
    init_sodium();
}

expected<frame_view> frame_opener::open(byte_view sealed_body) {
    if (failed_) {
        return fail(errc::unauthenticated, "the link failed to open an earlier frame");
    }
    if (counter_ == last_seal_counter) {
        failed_ = true;
        return exhausted();
    }
    if (sealed_body.size() < 1 + tag_size) {
        failed_ = true;
        return fail(errc::malformed, "a sealed frame of " + std::to_string(sealed_body.size()) +
                                         " bytes is shorter than its tag and kind");
    }
    const std::size_t plain_size = sealed_body.size() - tag_size;
    plain_.resize(plain_size);
    const nonce n = nonce_of(counter_);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
            uchars_mut(plain_.data()), nullptr, uchars(sealed_body.data()), plain_size,
            uchars(sealed_body.data() + plain_size), nullptr, 0, n.data(),
            key_.bytes.data()) != 0) {
        failed_ = true;
        return fail(errc::unauthenticated,
                    "sealed frame " + std::to_string(counter_) +
                        " does not authenticate: tampered, replayed, reordered or another key");
    }
    ++counter_;
    const auto kind = static_cast<frame_kind>(plain_[0]);
    if (kind == frame_kind::sealed) {
        failed_ = true;
        return fail(errc::malformed, "a sealed frame inside a sealed frame");
    }
    return frame_view{kind, byte_view(plain_).subspan(1)};
}

} // namespace troupe::net::internal
