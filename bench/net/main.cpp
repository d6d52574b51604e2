// Part of troupe. See LICENSE at the repository root.
//
// troupe_net_bench's entry point. Without arguments of its own it runs Google Benchmark (the codec
// cases and the two-process remote cases, docs/net-bench.md). With
//
//   troupe_net_bench --serve=<troupe|troupe-plain|caf|raw> --port-fd=N
//
// it is the server of the remote cases: it listens on 127.0.0.1, writes its port to fd N and
// serves until its stdin closes or it gets SIGTERM. The client process spawns these itself
// (remote_harness.hpp); running one by hand is for debugging.

#include "net/remote_harness.hpp"

#include <benchmark/benchmark.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace remote = troupe::bench::remote;

struct serve_args {
    std::string kind;
    int fd = -1;
};

/// `--serve=KIND --port-fd=N` (both, nothing else), or nullopt: a benchmark run.
std::optional<serve_args> parse_serve(int argc, char** argv) {
    serve_args args;
    bool serving = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--serve=")) {
            args.kind = arg.substr(8);
            serving = true;
        } else if (arg.starts_with("--port-fd=")) {
            args.fd = std::atoi(argv[i] + 10);
        }
    }
    if (!serving) {
        return std::nullopt;
    }
    return args;
}

int serve(const serve_args& args) {
    if (args.fd < 0) {
        std::fputs("troupe_net_bench: --serve needs --port-fd=N\n", stderr);
        return 2;
    }
    if (args.kind == "troupe") {
        return remote::serve_troupe(args.fd, true);
    }
    if (args.kind == "troupe-plain") {
        return remote::serve_troupe(args.fd, false);
    }
    if (args.kind == "caf") {
        return remote::serve_caf(args.fd);
    }
    if (args.kind == "raw") {
        return remote::serve_raw(args.fd);
    }
    std::fprintf(stderr, "troupe_net_bench: unknown server kind '%s'\n", args.kind.c_str());
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    // A peer that goes away must show up as a failed write, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    if (auto args = parse_serve(argc, argv)) {
        return serve(*args);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    remote::stop_all();
    return 0;
}
