// Part of troupe. See LICENSE at the repository root.

#pragma once

// Shared by the net tests: node options, a probe for an actor's exit, a
// loopback socket and a forged ref.

#include <troupe/actors/error.hpp>
#include <troupe/net/detail/codec.hpp>
#include <troupe/net/node.hpp>

#include <msgpack.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace troupe::net::testing {

/// Options of a test node named `name`, with a cluster secret.
inline node_options options(std::string name, std::string secret = "a shared cluster secret") {
    node_options o;
    o.name = std::move(name);
    o.secret = std::move(secret);
    return o;
}

/// The payload of a message whose one field is a ref, written as a peer
/// could forge it: [tag, export id, protocol signature].
inline detail::bytes ref_payload(std::uint64_t tag, std::uint64_t id, const std::string& sig) {
    msgpack::sbuffer sb;
    msgpack::packer<msgpack::sbuffer> pk(sb);
    pk.pack_array(1);
    pk.pack_array(3);
    pk.pack(tag);
    pk.pack(id);
    pk.pack(sig);
    const auto* p = reinterpret_cast<const std::byte*>(sb.data()); // NOLINT: byte view
    return {p, p + sb.size()};
}

/// Records the exit cause an observer (`system::on_exit`) reports; `wait`
/// returns it, or nullopt after 20 s.
struct down_probe {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<error> cause;
    void set(const error& e) {
        {
            std::lock_guard lock(mutex);
            cause = e;
        }
        cv.notify_all();
    }
    std::optional<error> wait() {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, std::chrono::seconds(20), [&] { return cause.has_value(); });
        return cause;
    }
};

/// A blocking TCP socket connected to 127.0.0.1:`port`, whose reads give up
/// after 10 s; -1 if the connection failed. The caller closes it.
inline int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace troupe::net::testing
