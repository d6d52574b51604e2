// Part of troupe. See LICENSE at the repository root.

#include "net/remote_harness.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

extern char** environ; // NOLINT: POSIX declares it nowhere else

namespace troupe::bench::remote {
namespace {

using namespace std::chrono_literals;

const char* kind_name(server_kind kind) {
    switch (kind) {
    case server_kind::troupe: return "troupe";
    case server_kind::troupe_plain: return "troupe-plain";
    case server_kind::caf: return "caf";
    case server_kind::raw: return "raw";
    }
    return "?";
}

std::map<server_kind, server_process>& servers() {
    static std::map<server_kind, server_process> running;
    return running;
}

std::vector<std::function<void()>>& exit_hooks() {
    static std::vector<std::function<void()>> hooks;
    return hooks;
}

/// Moves `fd` above the standard streams and fd 3 (so that dup2 onto 3 in the child always
/// copies, which clears close-on-exec), keeping it close-on-exec here.
int high_fd(int fd) {
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    ::close(fd);
    return moved;
}

bool make_pipe(int (&fds)[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return false;
    }
    fds[0] = high_fd(fds[0]);
    fds[1] = high_fd(fds[1]);
    return fds[0] >= 0 && fds[1] >= 0;
}

/// Reads the child's port line, waiting at most 20 s.
bool read_port(int fd, std::uint16_t& port) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        std::array<char, 32> buf{};
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) {
            return false; // the child exited before announcing
        }
        line.append(buf.data(), static_cast<std::size_t>(n));
    }
    const unsigned long value = std::strtoul(line.c_str(), nullptr, 10);
    if (value == 0 || value > 65535) {
        return false;
    }
    port = static_cast<std::uint16_t>(value);
    return true;
}

/// Waits up to `limit` for `pid` to exit; true once reaped.
bool reap_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms); // polling a child's exit: no event to wait on here
    }
}

void stop(server_process& s) noexcept {
    ::close(s.stdin_fd); // end of file: the server shuts down cleanly
    if (reap_within(s.pid, 5000ms)) {
        return;
    }
    ::kill(s.pid, SIGTERM);
    if (reap_within(s.pid, 2000ms)) {
        return;
    }
    ::kill(s.pid, SIGKILL);
    (void)reap_within(s.pid, 2000ms);
}

} // namespace

server_process* server(server_kind kind, std::string& why) {
    auto& running = servers();
    if (auto it = running.find(kind); it != running.end()) {
        return &it->second;
    }
    int in[2];   // the child's stdin
    int port[2]; // the child's port line
    if (!make_pipe(in) || !make_pipe(port)) {
        why = "pipe failed";
        return nullptr;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, port[1], port_fd);
    std::string serve = std::string("--serve=") + kind_name(kind);
    std::string fd_arg = "--port-fd=" + std::to_string(port_fd);
    // Spawned through /proc/self/exe, but named by its real path: ps and perf then show the
    // server as troupe_net_bench, not "exe".
    std::array<char, 4096> path{};
    const ssize_t path_len = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
    std::string exe = path_len > 0 ? std::string(path.data(), static_cast<std::size_t>(path_len))
                                   : std::string("/proc/self/exe");
    std::array<char*, 4> argv{exe.data(), serve.data(), fd_arg.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(port[1]);
    server_process s;
    s.pid = pid;
    s.stdin_fd = in[1];
    if (rc != 0) {
        ::close(in[1]);
        ::close(port[0]);
        why = std::string("posix_spawn failed for the ") + kind_name(kind) + " server";
        return nullptr;
    }
    const bool announced = read_port(port[0], s.port);
    ::close(port[0]);
    if (!announced) {
        stop(s);
        why = std::string("the ") + kind_name(kind) + " server announced no port";
        return nullptr;
    }
    const std::string status = "/proc/" + std::to_string(pid) + "/status";
    s.rss_at_start = detail::read_status_bytes(status.c_str(), "VmRSS");
    return &running.emplace(kind, s).first->second;
}

void at_exit(std::function<void()> f) { exit_hooks().push_back(std::move(f)); }

void stop_all() noexcept {
    auto& hooks = exit_hooks();
    for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
        (*it)();
    }
    hooks.clear();
    for (auto& [kind, s] : servers()) {
        stop(s);
    }
    servers().clear();
}

void announce_port(int fd, std::uint16_t port) {
    const std::string line = std::to_string(port) + "\n";
    (void)!::write(fd, line.data(), line.size()); // the client sees a failure as a missing port
    ::close(fd);
}

void wait_for_stdin_eof() {
    std::array<char, 256> buf{};
    while (true) {
        const ssize_t n = ::read(0, buf.data(), buf.size());
        if (n == 0 || (n < 0 && errno != EINTR)) {
            return;
        }
    }
}

void latency_recorder::report(benchmark::State& state) {
    if (samples_.empty()) {
        return;
    }
    auto at = [this](double q) {
        auto nth = samples_.begin() +
                   static_cast<std::ptrdiff_t>(q * static_cast<double>(samples_.size() - 1));
        std::nth_element(samples_.begin(), nth, samples_.end());
        return std::chrono::duration<double, std::micro>(*nth).count();
    };
    state.counters["p50_us"] = benchmark::Counter(at(0.50));
    state.counters["p99_us"] = benchmark::Counter(at(0.99));
}

namespace {

/// The server's baseline: its VmRSS after resetting its VmHWM, or its VmRSS at start.
std::size_t server_baseline(const server_process& server, const std::string& status_path) {
    const std::string clear_refs = "/proc/" + std::to_string(server.pid) + "/clear_refs";
    if (reset_peak_rss(clear_refs.c_str())) {
        return detail::read_status_bytes(status_path.c_str(), "VmRSS");
    }
    return server.rss_at_start;
}

std::size_t client_baseline() {
    release_free_memory();
    return current_rss_bytes();
}

} // namespace

// The members are initialised in declaration order: both baselines before the sampler starts.
rss_growth::rss_growth(const server_process& server)
    : status_path_("/proc/" + std::to_string(server.pid) + "/status"),
      server_before_(server_baseline(server, status_path_)), client_before_(client_baseline()) {}

void rss_growth::report(benchmark::State& state) {
    const std::size_t client_peak = client_peak_.stop();
    const std::size_t server_peak = detail::read_status_bytes(status_path_.c_str(), "VmHWM");
    auto growth = [](std::size_t peak, std::size_t before) {
        return static_cast<double>(peak > before ? peak - before : 0) / bytes_per_mib;
    };
    state.counters["client_peak_rss_mb"] = benchmark::Counter(growth(client_peak, client_before_));
    state.counters["server_peak_rss_mb"] = benchmark::Counter(growth(server_peak, server_before_));
}

} // namespace troupe::bench::remote
