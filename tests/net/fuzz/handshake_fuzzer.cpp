// Part of troupe. See LICENSE at the repository root.
//
// A handshake fed an arbitrary byte stream, framed: from the start (mode 0),
// after a genuine peer's HELLO so that the AUTH state is reached (mode 1);
// and frame sealing after a genuine handshake (mode 2): arbitrary frames
// sealed by one side must open unchanged on the other, and the same bytes
// given to an opener as a sealed body must never open (no forgery).
// Oracles: nothing forged establishes a link, everything a handshake sends
// is whole frames, a refused handshake has a failure and stays silent.

#include "frame.hpp"
#include "handshake.hpp"
#include "seal.hpp"
#include "secret.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using namespace troupe::net::internal;
using status = handshake::status;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

const cluster_secret& secret() {
    static const cluster_secret s =
        std::move(cluster_secret::from_string("the fuzzer's cluster secret").value());
    return s;
}

// What `h` says to `in`, which must be whole frames.
bytes answer(handshake& h, const bytes& in) {
    bytes out;
    frame_reader r(1 << 16);
    check(r.feed(in, [&](frame_view f) {
               const status before = h.state();
               auto s = h.on_frame(f);
               if (before == status::refused || before == status::established) {
                   check(s.out.empty());
               }
               out.insert(out.end(), s.out.begin(), s.out.end());
               return true;
           }).has_value());
    check(!r.mid_frame());
    return out;
}

void fuzz_handshake(bool after_hello, byte_view stream) {
    handshake b({2, "beta", 0}, secret(), handshake_role::acceptor);
    (void)b.start();
    if (after_hello) {
        handshake a({1, "alpha", 0}, secret(), handshake_role::connector);
        (void)answer(b, a.start());
        check(b.state() == status::deciding);
        (void)b.accept();
        check(b.state() == status::awaiting_auth);
    }
    frame_reader r(4096);
    (void)r.feed(stream, [&](frame_view f) {
        const status before = b.state();
        auto s = b.on_frame(f);
        check(b.state() != status::established); // nobody forges an AUTH
        if (before == status::refused) {
            check(s.out.empty());
        }
        if (b.state() == status::refused) {
            check(static_cast<bool>(b.failure()));
        }
        frame_reader sent(1 << 16);
        check(sent.feed(s.out, [](frame_view) { return true; }).has_value());
        check(!sent.mid_frame());
        return true;
    });
}

void fuzz_seal(byte_view stream) {
    handshake a({1, "alpha", 0}, secret(), handshake_role::connector);
    handshake b({2, "beta", 0}, secret(), handshake_role::acceptor);
    const bytes to_b = a.start();
    const bytes to_a = b.start();
    (void)answer(a, to_a); // a holds its AUTH
    (void)answer(b, to_b);
    (void)answer(a, b.accept());
    (void)answer(b, a.accept());
    check(a.state() == status::established && b.state() == status::established);
    frame_sealer sealer(a.keys().tx);
    frame_opener opener(b.keys().rx);
    frame_reader r(4096);
    bool open = true;
    (void)r.feed(stream, [&](frame_view f) {
        check(!frame_opener(b.keys().rx).open(f.body).has_value());
        bytes wire;
        check(sealer.seal(f.kind, f.body, wire).has_value());
        frame_reader inner(1 << 16);
        check(inner
                  .feed(wire,
                        [&](frame_view s) {
                            check(s.kind == frame_kind::sealed);
                            auto plain = opener.open(s.body);
                            if (f.kind == frame_kind::sealed) {
                                check(!plain.has_value());
                                open = false;
                                return false;
                            }
                            check(plain.has_value() && plain->kind == f.kind &&
                                  std::equal(plain->body.begin(), plain->body.end(), f.body.begin(),
                                             f.body.end()));
                            return true;
                        })
                  .has_value());
        return open;
    });
}

} // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider p(data, size);
    const int mode = p.ConsumeIntegralInRange<int>(0, 2);
    const std::vector<std::uint8_t> raw = p.ConsumeRemainingBytes<std::uint8_t>();
    const byte_view stream(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
    switch (mode) {
    case 0: fuzz_handshake(false, stream); break;
    case 1: fuzz_handshake(true, stream); break;
    default: fuzz_seal(stream); break;
    }
    return 0;
}
