// Part of troupe. See LICENSE at the repository root.
//
// The transport's limit for the two-process benchmarks (docs/net-bench.md): blocking TCP sockets
// over loopback, no framework. Its server takes one thread per connection; a connection's first
// byte picks its mode.
//   limit/remote_ping_pong  : 'e': write 16 bytes, read the 16 the server echoes, per iteration
//   limit/remote_throughput : 'c': throughput_batch frames [u32 length][i32 id][12 chars],
//                             encoded into a 64 KiB buffer written whenever it fills; an empty
//                             frame is the sync, answered with the u64 count of frames so far
// Nothing is decoded or dispatched: this is what the kernel's loopback costs, the ceiling a
// framework can approach.

#include "net/remote_harness.hpp"

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace troupe::bench::remote {
namespace {

constexpr char echo_mode = 'e';
constexpr char count_mode = 'c';
constexpr std::size_t write_chunk = 64U << 10U;

bool write_all(int fd, const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::read(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

void set_nodelay(int fd) {
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/// A connected socket in `mode`, or -1.
int dial(std::uint16_t port, char mode) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    const sockaddr_in a = loopback(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 ||
        !write_all(fd, &mode, 1)) {
        ::close(fd);
        return -1;
    }
    set_nodelay(fd);
    return fd;
}

void serve_echo(int fd) {
    std::array<char, ping_payload.size()> buf{};
    while (read_all(fd, buf.data(), buf.size()) && write_all(fd, buf.data(), buf.size())) {
    }
}

void serve_count(int fd) {
    std::vector<char> buf(256U << 10U);
    std::size_t have = 0; // bytes in buf, starting with an incomplete frame
    std::uint64_t frames = 0;
    while (true) {
        const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        have += static_cast<std::size_t>(n);
        std::size_t at = 0;
        while (have - at >= 4) {
            std::uint32_t len = 0;
            std::memcpy(&len, buf.data() + at, 4);
            if (len == 0) { // the sync
                at += 4;
                if (!write_all(fd, &frames, sizeof(frames))) {
                    return;
                }
                continue;
            }
            if (len > buf.size() - 4) {
                return; // not a frame this benchmark sends
            }
            if (have - at < 4 + len) {
                break;
            }
            at += 4 + len;
            ++frames;
        }
        std::memmove(buf.data(), buf.data() + at, have - at);
        have -= at;
    }
}

void serve_connection(int fd) {
    set_nodelay(fd);
    char mode = 0;
    if (read_all(fd, &mode, 1)) {
        if (mode == echo_mode) {
            serve_echo(fd);
        } else if (mode == count_mode) {
            serve_count(fd);
        }
    }
    ::close(fd);
}

/// The client's two connections, opened once per process.
struct client {
    int echo = -1;
    int count = -1;
};

client* connect(std::string& why) {
    static std::optional<client> instance;
    static std::string failure;
    if (instance || !failure.empty()) {
        why = failure;
        return instance ? &*instance : nullptr;
    }
    server_process* srv = server(server_kind::raw, failure);
    if (srv != nullptr) {
        client c{dial(srv->port, echo_mode), dial(srv->port, count_mode)};
        if (c.echo < 0 || c.count < 0) {
            failure = "cannot connect to the raw server";
        } else {
            instance = c;
            at_exit([] {
                ::close(instance->echo);
                ::close(instance->count);
                instance.reset();
            });
        }
    }
    why = failure;
    return instance ? &*instance : nullptr;
}

void BM_Limit_RemotePingPong(benchmark::State& state) {
    std::string why;
    client* c = connect(why);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    latency_recorder latency;
    latency.reserve(static_cast<std::size_t>(state.max_iterations));
    std::array<char, ping_payload.size()> back{};
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        const bool ok = write_all(c->echo, ping_payload.data(), ping_payload.size()) &&
                        read_all(c->echo, back.data(), back.size());
        latency.add(std::chrono::steady_clock::now() - start);
        if (!ok || std::memcmp(back.data(), ping_payload.data(), back.size()) != 0) {
            state.SkipWithError("the echo failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    latency.report(state);
}

std::optional<std::uint64_t> server_count(int fd) {
    const std::uint32_t sync = 0;
    std::uint64_t n = 0;
    if (!write_all(fd, &sync, sizeof(sync)) || !read_all(fd, &n, sizeof(n))) {
        return std::nullopt;
    }
    return n;
}

void BM_Limit_RemoteThroughput(benchmark::State& state) {
    std::string why;
    client* c = connect(why);
    if (c == nullptr) {
        state.SkipWithError(why.c_str());
        return;
    }
    const auto base = server_count(c->count);
    if (!base) {
        state.SkipWithError("sync failed");
        return;
    }
    constexpr std::uint32_t body = sizeof(std::int32_t) + item_text.size();
    std::vector<char> out;
    out.reserve(write_chunk + 4 + body);
    std::uint64_t sent = 0;
    rss_growth rss(*server(server_kind::raw, why));
    for (auto _ : state) {
        bool ok = true;
        for (std::int64_t i = 0; i < throughput_batch && ok; ++i) {
            const auto id = static_cast<std::int32_t>(i);
            const std::size_t at = out.size();
            out.resize(at + 4 + body);
            std::memcpy(out.data() + at, &body, 4);
            std::memcpy(out.data() + at + 4, &id, 4);
            std::memcpy(out.data() + at + 8, item_text.data(), item_text.size());
            if (out.size() >= write_chunk) {
                ok = write_all(c->count, out.data(), out.size());
                out.clear();
            }
        }
        ok = ok && write_all(c->count, out.data(), out.size());
        out.clear();
        sent += static_cast<std::uint64_t>(throughput_batch);
        const auto seen = ok ? server_count(c->count) : std::nullopt;
        if (!seen || *seen != *base + sent) {
            state.SkipWithError("frames were lost");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    rss.report(state);
}

} // namespace

int serve_raw(int fd) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof(a);
    if (listener < 0 || ::bind(listener, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listener, 16) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::perror("raw server");
        return 1;
    }
    announce_port(fd, ntohs(a.sin_port));
    std::thread([listener] {
        while (true) {
            const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn >= 0) {
                std::thread(serve_connection, conn).detach();
            } else if (errno != EINTR && errno != ECONNABORTED) {
                return;
            }
        }
    }).detach();
    wait_for_stdin_eof();
    // The connection threads are blocked in read: leave without running static destructors
    // under them.
    std::_Exit(0);
}

BENCHMARK(BM_Limit_RemotePingPong)
    ->Name("limit/remote_ping_pong")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Limit_RemoteThroughput)
    ->Name("limit/remote_throughput")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

} // namespace troupe::bench::remote
