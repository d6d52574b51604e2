// Part of troupe. See LICENSE at the repository root.

#pragma once

// The only part of troupe that touches CAF (docs/net.md "Transport"): CAF's
// middleman owns the sockets, accepting, connecting and readiness, on its
// multiplexer thread (the I/O thread). A node gets one `endpoint`: one CAF
// broker holding the node's listening sockets and connections.
//
// **Threading:** nothing of CAF crosses to troupe's threads. Other threads
// reach the broker only through the endpoint's command queue (under its
// mutex) and a byte written to a socket pair the broker reads (the wake-up),
// so every hand-over is ordered by a mutex or a file descriptor (which
// ThreadSanitizer sees too; the distro's CAF is not instrumented). The
// handler's callbacks run on the I/O thread, one at a time.

#include <troupe/actors/clock.hpp>
#include <troupe/actors/expected.hpp>

#include "frame.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace troupe::net::internal {

/// A connection, as the endpoint names it: an id the endpoint never gives
/// to another connection (CAF's handles are reused once a connection
/// closed), so a stale id names nothing rather than a newer connection.
using conn_id = std::int64_t;

/// What a node does with its endpoint's events. Every callback runs on the
/// I/O thread; none may block.
class io_handler {
public:
    io_handler() = default;
    io_handler(const io_handler&) = delete;
    io_handler& operator=(const io_handler&) = delete;
    virtual ~io_handler() = default;
    /// A connection opened (`inbound`: accepted); `peer` is "host:port".
    virtual void on_open(conn_id c, bool inbound, const std::string& peer) = 0;
    /// Bytes arrived on `c`.
    virtual void on_data(conn_id c, byte_view data) = 0;
    /// `c` closed (by the peer, an error, or `close`): no more callbacks for it.
    virtual void on_closed(conn_id c) = 0;
    /// `wake()` was called since the last time: write what is pending.
    virtual void on_wake() = 0;
    /// Every tick interval (heartbeats, handshake deadlines).
    virtual void on_tick() = 0;
};

/// A node's broker. Create with `open_endpoint`.
class endpoint {
public:
    endpoint() = default;
    endpoint(const endpoint&) = delete;
    endpoint& operator=(const endpoint&) = delete;
    virtual ~endpoint() = default;

    /// Any thread: listens on `host:port` (0 picks a port); returns the port.
    virtual expected<std::uint16_t> listen(const std::string& host, std::uint16_t port) = 0;
    /// Any thread: connects (blocking the caller while TCP connects); the
    /// handler's `on_open` with the returned id follows on the I/O thread.
    virtual expected<conn_id> connect(const std::string& host, std::uint16_t port) = 0;
    /// Any thread: `on_wake` runs soon on the I/O thread (wake-ups coalesce).
    virtual void wake() noexcept = 0;

    /// I/O thread only: queues `data` on `c` and flushes (nothing if `c` closed).
    virtual void write(conn_id c, byte_view data) = 0;
    /// I/O thread only: closes `c` after what is queued. No callback for `c`
    /// follows (no `on_closed` either); the id is then unknown.
    virtual void close(conn_id c) = 0;

    /// Any thread but the I/O thread: closes everything and waits until the
    /// broker has stopped; no callback runs afterwards. Idempotent.
    virtual void shutdown() noexcept = 0;
};

/// Opens an endpoint whose events go to `handler` (which must outlive its
/// shutdown), ticking every `tick`. Starts the process's CAF system on first
/// use; it stops when the last endpoint is gone.
expected<std::shared_ptr<endpoint>> open_endpoint(io_handler& handler, duration tick);

} // namespace troupe::net::internal
