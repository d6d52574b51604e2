// Part of troupe. See LICENSE at the repository root.
//
// troupe-node: a node hosting a demo service, the first thing to run when
// trying distribution (README "Two nodes"), and what the multi-process tests
// and benchmarks drive.
//
//   troupe-node --listen HOST:PORT --name NAME --secret-file FILE [--connect HOST:PORT]...
//
// Publishes `echo` and `counter` (examples/node/demo_protocol.hpp), prints
// `listening on HOST:PORT` once it accepts connections, and exits cleanly on
// SIGTERM or SIGINT.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "demo_protocol.hpp"

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

class echo_actor final : public troupe::actor<troupe_demo::echo_protocol> {
public:
    std::string on(troupe_demo::echo& e) { return std::move(e.payload); }
};

class counter_actor final : public troupe::actor<troupe_demo::counter_protocol> {
public:
    void on(troupe_demo::bump& b) { count_ += b.by; }
    std::int64_t on(troupe_demo::increment& i) { return count_ += i.by; }
    std::int64_t on(troupe_demo::get_count& /*unused*/) const { return count_; }

private:
    std::int64_t count_ = 0;
};

struct endpoint {
    std::string host;
    std::uint16_t port = 0;
};

std::optional<endpoint> parse_endpoint(const std::string& s) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return std::nullopt;
    }
    try {
        const unsigned long port = std::stoul(s.substr(colon + 1));
        if (port > 65535) {
            return std::nullopt;
        }
        return endpoint{s.substr(0, colon), static_cast<std::uint16_t>(port)};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

int usage() {
    std::cerr << "usage: troupe-node --listen HOST:PORT --name NAME --secret-file FILE "
                 "[--connect HOST:PORT]...\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::optional<endpoint> listen_on;
    std::vector<endpoint> peers;
    troupe::net::node_options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) {
            return usage();
        }
        const std::string value = argv[++i];
        if (arg == "--listen") {
            listen_on = parse_endpoint(value);
            if (!listen_on) {
                return usage();
            }
        } else if (arg == "--connect") {
            auto peer = parse_endpoint(value);
            if (!peer) {
                return usage();
            }
            peers.push_back(*peer);
        } else if (arg == "--name") {
            opts.name = value;
        } else if (arg == "--secret-file") {
            opts.secret_file = value;
        } else {
            return usage();
        }
    }
    if (!listen_on || opts.name.empty() || opts.secret_file.empty()) {
        return usage();
    }

    // Block the stop signals before any thread starts; the main thread waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    troupe::system sys;
    auto node = troupe::net::node::attach(sys, opts);
    if (!node) {
        std::cerr << "troupe-node: " << node.error() << "\n";
        return 1;
    }
    auto echo = sys.spawn<echo_actor>();
    auto counter = sys.spawn<counter_actor>();
    if (!(*node)->publish("echo", echo) || !(*node)->publish("counter", counter)) {
        std::cerr << "troupe-node: cannot publish the demo actors\n";
        return 1;
    }
    auto port = (*node)->listen(listen_on->host, listen_on->port);
    if (!port) {
        std::cerr << "troupe-node: " << port.error() << "\n";
        return 1;
    }
    for (const auto& p : peers) {
        auto peer = (*node)->connect(p.host, p.port);
        if (!peer) {
            std::cerr << "troupe-node: connect to " << p.host << ":" << p.port << ": "
                      << peer.error() << "\n";
            return 1;
        }
        std::cout << "connected to " << peer->name << " at " << p.host << ":" << p.port
                  << std::endl;
    }
    std::cout << "listening on " << listen_on->host << ":" << *port << std::endl;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cout << "stopping (" << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ")" << std::endl;
    (*node)->close();
    if (auto down = sys.shutdown(std::chrono::seconds(10)); !down) {
        std::cerr << "troupe-node: shutdown: " << down.error() << "\n";
        std::cerr << sys.dump_tree();
        return 1;
    }
    return 0;
}
