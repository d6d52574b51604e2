// Part of troupe. See LICENSE at the repository root.
//
// What the two-process benchmarks (docs/net-bench.md) share: the server child processes, the
// workload constants, latency percentiles and the RSS probes of both processes.
//
// Servers: the benchmark process is the client. The first case of a kind (troupe, caf, raw)
// spawns itself (`/proc/self/exe`) as `--serve=<kind> --port-fd=3` with posix_spawn (safe after
// threads exist); the child listens on 127.0.0.1, writes its port as a decimal line to fd 3 and
// serves until its stdin (a pipe whose write end only the client holds) reaches end of file, or
// until SIGTERM. The server then lives through every repetition and case of the run: the cases are
// interleaved at random, so each must leave its server as it found it. `stop_all()` (main, at exit)
// closes the pipes, reaps the children and escalates to SIGTERM / SIGKILL for one that does not
// exit.
#pragma once

#include "common/rss.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace troupe::bench::remote {

/// Where every server listens.
inline constexpr const char* host = "127.0.0.1";
/// The fd a server writes its port to.
inline constexpr int port_fd = 3;
/// The ping-pong payload: 16 bytes.
inline constexpr std::string_view ping_payload = "sixteen-bytes-ab";
/// The throughput message is (an int32, this 12-char string).
inline constexpr std::string_view item_text = "twelve-chars";
/// One-way messages per throughput iteration.
inline constexpr std::int64_t throughput_batch = 100'000;
/// The cluster secret of the troupe client and server.
inline constexpr std::string_view troupe_secret = "the netbench cluster secret";

/// Kinds of server; each has one `serve_*` below.
enum class server_kind : std::uint8_t { troupe, troupe_plain, caf, raw };

/// A running server child.
struct server_process {
    pid_t pid = -1;
    std::uint16_t port = 0;
    int stdin_fd = -1;            ///< write end of the child's stdin; closing it stops it
    std::size_t rss_at_start = 0; ///< the child's VmRSS once it announced its port
};

/// The server of `kind`, spawned on first use; nullptr (and a message in `why`) if it cannot be
/// started. Benchmark thread only.
server_process* server(server_kind kind, std::string& why);

/// Runs `f` from `stop_all` before the servers go (clients drop their connections first).
void at_exit(std::function<void()> f);

/// Runs the `at_exit` functions (last registered first), then stops and reaps every server.
void stop_all() noexcept;

/// Server side: writes `port` to `port_fd` and closes it.
void announce_port(int fd, std::uint16_t port);
/// Server side: blocks until stdin reaches end of file (or fails).
void wait_for_stdin_eof();

/// The three servers (their own files); each returns the process's exit status.
/// `sealed`: the server asks for sealed links (`node_options::encrypt`).
int serve_troupe(int fd, bool sealed);
int serve_caf(int fd);
int serve_raw(int fd);

/// Per-iteration durations; `report` sets the counters `p50_us` and `p99_us`.
class latency_recorder {
public:
    void reserve(std::size_t n) { samples_.reserve(n); }
    void add(std::chrono::steady_clock::duration d) { samples_.push_back(d); }
    void report(benchmark::State& state);

private:
    std::vector<std::chrono::steady_clock::duration> samples_;
};

/// Peak RSS growth of the client (this process) and of a server over one benchmark run, in
/// MiB, reported as the counters `client_peak_rss_mb` and `server_peak_rss_mb`.
///
/// Client: `peak_rss_sampler` (common/rss.hpp) against the VmRSS at `start`, after
/// `release_free_memory`. Server: the client writes "5" to /proc/<pid>/clear_refs to reset
/// the server's VmHWM to its current RSS and takes that VmRSS as the baseline; where the kernel
/// refuses the write, the growth is the server's VmHWM minus its VmRSS when it started (so it
/// covers every case the server ran so far: an upper bound).
class rss_growth {
public:
    /// Takes both baselines; construct it right before the measured loop.
    explicit rss_growth(const server_process& server);

    /// Ends the run and sets the two counters.
    void report(benchmark::State& state);

private:
    std::string status_path_;       // /proc/<server pid>/status
    std::size_t server_before_ = 0; // bytes
    std::size_t client_before_ = 0; // bytes
    peak_rss_sampler client_peak_;  // last: starts after the baselines
};

} // namespace troupe::bench::remote
