// Part of troupe. See LICENSE at the repository root.
//
// frame_reader on arbitrary bytes, fed in arbitrary splits. Oracle: the
// frames (and the failure) are those of the same stream fed at once, no
// frame exceeds the maximum, and the reader never holds more than one frame.

#include "frame.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using namespace troupe::net::internal;

struct owned_frame {
    frame_kind kind;
    bytes body;
    bool operator==(const owned_frame&) const = default;
};

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

struct run {
    std::vector<owned_frame> frames;
    bool failed = false;
    std::size_t buffered = 0;
};

// Feeds `stream` in chunks of the sizes `next_chunk` draws.
template <class Chunks>
run feed(std::uint32_t max, byte_view stream, Chunks next_chunk) {
    run out;
    frame_reader r(max);
    while (!stream.empty() && !out.failed) {
        const std::size_t n = std::min(next_chunk(), stream.size());
        auto ok = r.feed(stream.first(n), [&](frame_view f) {
            check(f.body.size() + 1 <= max);
            out.frames.push_back({f.kind, bytes(f.body.begin(), f.body.end())});
            return true;
        });
        out.failed = !ok;
        check(r.buffered() <= frame_prefix_size + max);
        stream = stream.subspan(n);
    }
    out.buffered = r.buffered();
    return out;
}

} // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider p(data, size);
    const auto max = p.ConsumeIntegralInRange<std::uint32_t>(1, 64);
    std::uint64_t seed = p.ConsumeIntegral<std::uint64_t>() | 1U;
    const std::vector<std::uint8_t> raw = p.ConsumeRemainingBytes<std::uint8_t>();
    const byte_view stream(reinterpret_cast<const std::byte*>(raw.data()), raw.size());

    const run whole = feed(max, stream, [&] { return stream.size(); });
    const run split = feed(max, stream, [&] {
        seed ^= seed << 13U; // xorshift64
        seed ^= seed >> 7U;
        seed ^= seed << 17U;
        return static_cast<std::size_t>(seed % (2 * static_cast<std::uint64_t>(max) + 8));
    });
    check(whole.frames == split.frames);
    check(whole.failed == split.failed);
    check(whole.failed || whole.buffered == split.buffered);
    return 0;
}
