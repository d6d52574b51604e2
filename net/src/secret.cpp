// Part of troupe. See LICENSE at the repository root.

#include "secret.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sodium.h>
#include <utility>

namespace troupe::net::internal {

void init_sodium() noexcept {
    if (sodium_init() < 0) {
        std::fputs("troupe: libsodium failed to initialise\n", stderr);
        std::abort();
    }
}

wiped_key::~wiped_key() { sodium_memzero(bytes.data(), bytes.size()); }

namespace {

void wipe_string(std::string& s) noexcept {
    sodium_memzero(s.data(), s.size());
    s.clear();
}

bool is_trailing_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

} // namespace

expected<cluster_secret> cluster_secret::from_string(std::string_view s) {
    if (s.size() < min_size) {
        return fail(errc::invalid_argument, "the cluster secret has " + std::to_string(s.size()) +
                                                " bytes; at least " + std::to_string(min_size) +
                                                " are needed");
    }
    const auto* p = reinterpret_cast<const std::byte*>(s.data()); // NOLINT: bytes of chars
    return cluster_secret(internal::bytes(p, p + s.size()));
}

expected<cluster_secret> cluster_secret::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(errc::invalid_argument, "cannot read the cluster secret file '" + path + "'");
    }
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        wipe_string(content);
        return fail(errc::invalid_argument, "cannot read the cluster secret file '" + path + "'");
    }
    std::size_t n = content.size();
    while (n > 0 && is_trailing_space(content[n - 1])) {
        --n;
    }
    auto secret = from_string(std::string_view(content).substr(0, n));
    wipe_string(content);
    if (!secret) {
        return fail(errc::invalid_argument,
                    "the cluster secret file '" + path + "': " + secret.error().message());
    }
    return secret;
}

cluster_secret::cluster_secret(cluster_secret&& other) noexcept
    : bytes_(std::exchange(other.bytes_, {})) {}

cluster_secret& cluster_secret::operator=(cluster_secret&& other) noexcept {
    if (this != &other) {
        wipe();
        bytes_ = std::exchange(other.bytes_, {});
    }
    return *this;
}

cluster_secret::~cluster_secret() { wipe(); }

void cluster_secret::wipe() noexcept {
    sodium_memzero(bytes_.data(), bytes_.size());
    bytes_.clear();
}

wiped_key cluster_secret::derive_key() const {
    static constexpr std::string_view label = "troupe-secret-v1";
    init_sodium();
    wiped_key k;
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, k.bytes.size());
    crypto_generichash_update(&st, uchars(label), label.size());
    crypto_generichash_update(&st, uchars(bytes_.data()), bytes_.size());
    crypto_generichash_final(&st, k.bytes.data(), k.bytes.size());
    sodium_memzero(&st, sizeof st);
    return k;
}

} // namespace troupe::net::internal
