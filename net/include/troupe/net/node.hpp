// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/ask.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/hook_list.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/detail/link.hpp>
#include <troupe/net/wire_type.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace troupe::net {

/// How a node talks to its peers (docs/net.md "Configuration").
struct node_options {
    /// This node's name, shown to peers: 1 to 64 of `[A-Za-z0-9_.-]`.
    std::string name;
    /// The cluster's shared secret (at least 16 bytes), or
    std::string secret;
    /// a file holding it (trailing whitespace trimmed). One of the two.
    std::string secret_file;
    /// Largest frame accepted, checked on its length prefix (and the largest
    /// message sent: a bigger one is refused with `invalid_argument`).
    std::uint32_t max_frame_size = 4U << 20U;
    /// Credit: bytes of messages each peer may have in flight to this node
    /// (sent, not yet delivered to their actors); at least `max_frame_size`
    /// + 4. It bounds what a fast peer makes this node hold.
    std::uint64_t receive_window = 8U << 20U;
    /// A connection must finish the handshake within this, or it is closed.
    duration handshake_timeout = std::chrono::seconds(2);
    /// An idle link sends a heartbeat this often;
    duration heartbeat_interval = std::chrono::milliseconds(200);
    /// a link that hears nothing for this long is lost (`node_unreachable`).
    duration heartbeat_timeout = std::chrono::seconds(1);
    /// How long `connect` waits for the handshake.
    duration connect_timeout = std::chrono::seconds(5);
    /// Bytes of messages queued for one peer (beyond what its credit lets
    /// this node send) before sends to it are refused: `mailbox_full` to an
    /// asker, a `link_overflow` dead letter for a tell.
    std::size_t outbound_capacity = 16U << 20U;
    /// Seal every frame after the handshake (AEAD, per-connection keys;
    /// docs/net.md "Encryption"). A link is sealed if either node asks.
    bool encrypt = true;
    /// Mailbox of each proxy (the local stand-in of a remote actor): its
    /// capacity and overflow policy bound what local senders queue for it.
    /// While the outbound queue is full a proxy waits up to its
    /// `block_timeout`, its mailbox fills, and this policy answers senders
    /// (`reject`: `mailbox_full`; `block`: a plain thread waits; `suspend`:
    /// `co_await send` suspends).
    spawn_options proxy_mailbox = {};
};

/// A connected peer.
struct peer_info {
    std::uint64_t id = 0; ///< its node id (random per node instance)
    std::string name;
    std::string address; ///< "host:port" of the connection
    bool sealed = false; ///< its frames are sealed (AEAD), see `node_options::encrypt`
    /// Hash of the wire types its process registered (`TROUPE_WIRE_TYPE`):
    /// equal to this node's when both know the same types and versions.
    std::uint64_t type_table_hash = 0;
};

/// Counters of a node (relaxed snapshots).
struct node_counters {
    /// Peers closed in the handshake (any reason but one: a connection
    /// declined because the two nodes keep another one is not counted).
    std::uint64_t handshakes_refused = 0;
    std::uint64_t handshake_timeouts = 0; ///< of which: too slow
    std::uint64_t links_lost = 0;         ///< established links that went down
    std::uint64_t frames_refused = 0;     ///< malformed / oversized streams closed
    std::uint64_t messages_refused = 0;   ///< inbound messages that could not be delivered
    /// Inbound tells, asks and replies delivered by the I/O thread itself,
    /// and those queued for a link actor (behind a receiver without room,
    /// or behind upkeep such as lookups); docs/net.md "Transport".
    std::uint64_t delivered_directly = 0;
    std::uint64_t delivered_by_link_actor = 0;
};

/// A `troupe::system`'s presence on the network: listens, connects to peers
/// (mutual challenge-response over the cluster secret before anything else),
/// publishes local actors under names and looks up remote ones. A ref from
/// `lookup`, or inside a message from a peer, has exactly the type of a
/// local ref (docs/net.md "Refs inside messages").
///
/// **Semantics:** delivery to a remote actor is at most once; per
/// sender-receiver pair, messages arrive in send order. A remote ref is bound
/// to the link it was looked up over: when that link is lost, the ref's
/// proxy terminates with `node_unreachable` (monitors fire), asks in flight
/// fail with `node_unreachable`, and later sends give `receiver_down`; look
/// the name up again after reconnecting. See docs/net.md.
///
/// **Threading:** every member from any thread. `connect` and `lookup` block
/// the calling thread (up to their timeouts); inside an actor they are
/// refused with `would_block`.
class node {
public:
    /// Attaches a node to `sys` (one per system; a second attach fails with
    /// `name_taken`). Fails with `invalid_argument` for a bad name or
    /// secret. The node closes when `sys` shuts down, or on `close`.
    static expected<std::shared_ptr<node>> attach(troupe::system& sys, node_options opts);

    node(const node&) = delete;
    node& operator=(const node&) = delete;
    virtual ~node() = default;

    [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;
    [[nodiscard]] virtual const std::string& name() const noexcept = 0;

    /// Listens on `host:port` (port 0 picks one); returns the port.
    virtual expected<std::uint16_t> listen(const std::string& host = "127.0.0.1",
                                           std::uint16_t port = 0) = 0;
    /// Connects and completes the handshake. Two nodes have at most one link:
    /// when this node is linked to that peer already, returns the link's peer
    /// as soon as the peer's HELLO names it (the new connection closes); when
    /// another connection between the two is in the handshake (the peer
    /// connects to this node at the same time, or this node connects twice),
    /// one of them is kept, and every such `connect` on either side returns
    /// the kept link's peer once it is up, or fails as it failed
    /// (`node_unreachable` if it was lost). Fails with `node_unreachable` (no
    /// connection), `unauthenticated` (wrong secret), `incompatible` (another
    /// protocol version), `malformed`, `timeout`, `would_block` (inside an
    /// actor).
    virtual expected<peer_info> connect(const std::string& host, std::uint16_t port) = 0;
    /// The peers with an established link now (one entry per peer).
    [[nodiscard]] virtual std::vector<peer_info> peers() const = 0;
    /// Called with (peer, true) when a link comes up and (peer, false,
    /// cause) when it is lost, on the I/O thread (a connection declined in
    /// favour of another to the same peer never was a link and reports
    /// nothing): keep hooks short; from a
    /// hook `connect` and `lookup` are refused (`would_block`) and `close`
    /// does nothing (it would wait for the I/O thread itself).
    [[nodiscard]] virtual hook_list<const peer_info&, bool, const error&>&
    peer_events() noexcept = 0;

    /// Publishes `ref` under `name` for peers to look up. Fails with
    /// `invalid_argument` (empty ref or name) or `name_taken`.
    template <wire_protocol P>
    expected<void> publish(const std::string& name, const actor_ref<P>& ref) {
        if (!ref) {
            return fail(errc::invalid_argument, "publish of an empty actor_ref");
        }
        return publish_erased(name, ref.addr(), detail::protocol_signature<P>(),
                              detail::make_deliverer<P>(ref));
    }
    /// Withdraws a name (refs already looked up keep working).
    virtual expected<void> unpublish(std::string_view name) = 0;

    /// A ref to the actor `peer` published as `name`, speaking `P`. Fails
    /// with `node_unreachable` (no link to `peer`), `receiver_down` (no such
    /// name there), `type_mismatch` (it speaks another protocol), `timeout`,
    /// `would_block` inside an actor (use `lookup_then` there).
    template <wire_protocol P>
    expected<actor_ref<P>> lookup(std::uint64_t peer, std::string_view name, duration timeout) {
        auto pending = lookup_erased(peer, name, detail::protocol_signature<P>(), timeout);
        if (!pending) {
            return troupe::unexpected(pending.error());
        }
        auto found = pending->get();
        if (!found) {
            return troupe::unexpected(found.error());
        }
        return detail::proxy_for<P>(*found);
    }
    /// `lookup` for an actor's handler, without blocking: `fn(expected<actor_ref<P>>)`
    /// runs on this actor's turn once the answer is known (as `ask_handle::then`).
    /// Fails with `invalid_argument` outside an actor's turn, or as `lookup`
    /// at once when there is no link to `peer`.
    template <wire_protocol P, class F>
    requires std::is_invocable_v<F&, expected<actor_ref<P>>> expected<void>
    lookup_then(std::uint64_t peer, std::string_view name, duration timeout, F fn) {
        return then_proxy<P>(lookup_erased(peer, name, detail::protocol_signature<P>(), timeout),
                             std::move(fn));
    }

    /// Lets peers spawn `Impl` here as `kind` (with `spawn_then`, or as a
    /// supervised `remote_child`): each request spawns one, from copies of
    /// `args` with `opts`, as a child of the requesting peer's link actor.
    /// Its lifetime is bound to the actor that asked for it (its owner), as
    /// with Erlang's `spawn_link` across nodes: it stops with the owner's
    /// exit cause when the owner terminates, and with `node_unreachable`
    /// when the link is lost. Fails with `invalid_argument` (a kind is 1 to
    /// 255 bytes) or `name_taken` (a kind allowed already).
    template <class Impl, class... Args>
    requires wire_protocol<typename Impl::protocol> expected<void>
    allow_spawn(std::string_view kind, spawn_options opts, Args... args) {
        static_assert((std::is_copy_constructible_v<Args> && ...),
                      "allow_spawn keeps its arguments to spawn one actor per request: they must "
                      "be copyable");
        using proto = typename Impl::protocol;
        return allow_spawn_erased(
            std::string(kind), detail::protocol_signature<proto>(),
            [opts = std::move(opts), args...](const actor_addr& parent,
                                              std::string name) -> expected<detail::spawned> {
                auto ref =
                    troupe::system::spawn_child_of<Impl>(parent, std::move(name), opts, args...);
                if (!ref) {
                    return troupe::unexpected(ref.error());
                }
                if (ref->addr().is_terminated()) { // a bad option or name
                    auto cause = ref->addr().exit_cause();
                    return troupe::unexpected(error{errc::receiver_down,
                                                    "the spawned actor terminated at once",
                                                    cause ? *cause : error{}});
                }
                return detail::spawned{ref->addr(), detail::make_deliverer<proto>(*ref)};
            });
    }

    /// Spawns a `kind` on the peer named `peer` (allowed there with
    /// `allow_spawn`), owned by `owner`: the remote actor stops when `owner`
    /// terminates, with its exit cause, or when the link is lost. Inside an
    /// actor's turn, like `lookup_then`: `fn(expected<actor_ref<P>>)` runs on
    /// this actor's turn with a ref to it (its proxy), or with
    /// `node_unreachable` (no link to a peer of that name), `receiver_down`
    /// (nothing allowed as `kind` there), `type_mismatch` (it speaks another
    /// protocol), an error of the spawn there, or `timeout`. Fails with
    /// `invalid_argument` outside an actor's turn or for an empty `owner`.
    /// A peer is found by name among the links (O(peers)).
    template <wire_protocol P, class F>
    requires std::is_invocable_v<F&, expected<actor_ref<P>>> expected<void>
    spawn_then(const actor_addr& owner, std::string_view peer, std::string_view kind,
               duration timeout, F fn) {
        return then_proxy<P>(
            spawn_erased(owner, peer, kind, detail::protocol_signature<P>(), timeout),
            std::move(fn));
    }

    /// Counters (relaxed snapshots).
    [[nodiscard]] virtual node_counters counters() const noexcept = 0;

    /// Closes every link (peers see the node go down) and stops listening.
    /// Idempotent; also run when the system shuts down.
    virtual void close() noexcept = 0;

private:
    // `fn` gets a proxy for what `pending` finds, on the asking actor's turn.
    template <class P, class F>
    static expected<void> then_proxy(expected<ask_handle<detail::found_actor>> pending, F fn) {
        if (!pending) {
            return troupe::unexpected(pending.error());
        }
        return pending->then([fn = std::move(fn)](expected<detail::found_actor> found) mutable {
            if (!found) {
                fn(expected<actor_ref<P>>(troupe::unexpected(found.error())));
                return;
            }
            fn(detail::proxy_for<P>(*found));
        });
    }

protected:
    node() = default;

    virtual expected<void> publish_erased(std::string name, actor_addr who, std::string signature,
                                          detail::deliverer deliver) = 0;
    virtual expected<ask_handle<detail::found_actor>> lookup_erased(std::uint64_t peer,
                                                                    std::string_view name,
                                                                    std::string signature,
                                                                    duration timeout) = 0;
    virtual expected<void> allow_spawn_erased(std::string kind, std::string signature,
                                              detail::spawner spawn) = 0;
    virtual expected<ask_handle<detail::found_actor>>
    spawn_erased(const actor_addr& owner, std::string_view peer, std::string_view kind,
                 std::string signature, duration timeout) = 0;
};

} // namespace troupe::net
