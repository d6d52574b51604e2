// Part of troupe. See LICENSE at the repository root.
//
// The message codec (docs/net-codec.md) against CAF 0.17's own serializers on
// the same structs:
//   troupe/codec_roundtrip/* : troupe::net::detail::encode into a reused
//                              buffer, then decode (validation pass, unpack,
//                              convert)
//   caf/codec_roundtrip/*    : caf::binary_serializer into a reused buffer,
//                              then caf::binary_deserializer (an `inspect`
//                              overload; no actor system: neither side needs one)
// small: {i32 id; 16-char name}. large: {256 x i32; 1 KiB string}.
// items = round trips; bytes = encoded bytes per round trip (each side's own
// size: msgpack's varints make its payloads smaller than CAF's fixed-width ones).

#include <troupe/net/detail/codec.hpp>
#include <troupe/net/wire_type.hpp>

#include <benchmark/benchmark.h>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace codec_bench {

struct small {
    std::int32_t id = 0;
    std::string name;
    MSGPACK_DEFINE(id, name)

    template <class Inspector>
    friend typename Inspector::result_type inspect(Inspector& f, small& x) {
        return f(x.id, x.name);
    }
};

struct large {
    std::vector<std::int32_t> values;
    std::string text;
    MSGPACK_DEFINE(values, text)

    template <class Inspector>
    friend typename Inspector::result_type inspect(Inspector& f, large& x) {
        return f(x.values, x.text);
    }
};

small make_small() { return {42, "sixteen-chars-ab"}; }

large make_large() {
    large x;
    for (std::int32_t i = 0; i < 256; ++i) {
        x.values.push_back(i * 1'000'003); // a mix of 1- to 5-byte msgpack integers
    }
    x.text.assign(1024, 'q');
    return x;
}

} // namespace codec_bench

TROUPE_WIRE_TYPE(::codec_bench::small, "bench.small", 1);
TROUPE_WIRE_TYPE(::codec_bench::large, "bench.large", 1);

namespace {

namespace net = troupe::net::detail;

template <class T, T (*Make)()>
void BM_Troupe_CodecRoundtrip(benchmark::State& state) {
    const T msg = Make();
    net::bytes buf;
    for (auto _ : state) {
        buf.clear();
        if (!net::encode(msg, buf)) {
            state.SkipWithError("encode failed");
            break;
        }
        auto back = net::decode<T>(buf);
        if (!back) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(back);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buf.size()));
}

template <class T, T (*Make)()>
void BM_Caf_CodecRoundtrip(benchmark::State& state) {
    T msg = Make(); // CAF's inspect takes non-const references
    std::vector<char> buf;
    for (auto _ : state) {
        buf.clear();
        caf::binary_serializer sink{nullptr, buf};
        if (auto err = sink(msg)) {
            state.SkipWithError("serialize failed");
            break;
        }
        T back;
        caf::binary_deserializer source{nullptr, buf};
        if (auto err = source(back)) {
            state.SkipWithError("deserialize failed");
            break;
        }
        benchmark::DoNotOptimize(back);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buf.size()));
}

} // namespace

BENCHMARK(BM_Troupe_CodecRoundtrip<codec_bench::small, codec_bench::make_small>)
    ->Name("troupe/codec_roundtrip/small");
BENCHMARK(BM_Caf_CodecRoundtrip<codec_bench::small, codec_bench::make_small>)
    ->Name("caf/codec_roundtrip/small");
BENCHMARK(BM_Troupe_CodecRoundtrip<codec_bench::large, codec_bench::make_large>)
    ->Name("troupe/codec_roundtrip/large");
BENCHMARK(BM_Caf_CodecRoundtrip<codec_bench::large, codec_bench::make_large>)
    ->Name("caf/codec_roundtrip/large");
