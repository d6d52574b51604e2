// Part of troupe. See LICENSE at the repository root.

#pragma once

// The typed glue between actor refs and the wire: what `node::publish` and
// `node::lookup` instantiate for a protocol. Not for direct use.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/current_actor.hpp>
#include <troupe/actors/response_promise.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/actors/task.hpp>
#include <troupe/net/detail/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace troupe::net::detail {

/// A reply awaited from a peer; completed once, by its reply frame or by
/// the link's loss.
class pending_reply {
public:
    pending_reply() = default;
    pending_reply(const pending_reply&) = delete;
    pending_reply& operator=(const pending_reply&) = delete;
    virtual ~pending_reply() = default;
    /// `outcome` set: the ask failed with it; else `payload` holds the value.
    virtual void complete(const error& outcome, byte_view payload) noexcept = 0;
};

class link;

/// One message from a peer for a published actor, as its deliverer sees it
/// (the views live for the call only).
struct inbound {
    std::string_view type;
    std::uint32_t version = 0;
    byte_view payload;
    std::uint64_t trace = 0;
    bool is_ask = false;
    std::uint64_t request = 0; // asks: the peer's request id
    duration timeout{};        // asks: the time the asker has left
    std::shared_ptr<link> from;
    const decode_limits* limits = nullptr;
};

/// An inbound tell or ask, sent as `co_await self.send(...)` would send it:
/// the link actor awaits it before the link's later frames, so a receiver
/// whose policy is `block` or `suspend` makes the link wait for room (credit
/// then stops, and the peer's senders slow down) instead of refusing it.
using pending_send = std::optional<troupe::detail::send_awaiter>;

/// What a deliverer did with an inbound message.
struct delivery {
    /// Direct delivery only: the receiver had no room for the tell or ask.
    /// Nothing was sent; the frame goes to the link actor, which applies the
    /// receiver's overflow policy.
    bool no_room = false;
    /// On the link actor's turn: the send, to be awaited (empty when the
    /// message was refused). An ask's outcome, a refusal of the send
    /// included, goes to the peer's asker by itself.
    pending_send send;
};

/// Delivers an inbound message to a published actor. With `self` null,
/// **directly**, on the I/O thread: only if the receiver has room now,
/// never blocking. With `self`, on the turn of the link actor `self`: the
/// send comes back to be awaited there. An ask's outcome goes back to the
/// peer from the thread that completes it (`ask_handle::on_complete`).
using deliverer = std::function<delivery(const inbound&, actor_base* self)>;

/// What a lookup found: where the proxy of the peer's actor lives.
struct found_actor {
    troupe::system* sys = nullptr;
    std::shared_ptr<link> over;
    std::uint64_t export_id = 0;
    actor_addr parent; ///< the link actor; proxies are its children
    std::string proxy_name;
    std::string proxy_path;
    spawn_options proxy_mailbox;
};

/// One established connection to a peer, shared by the node, the link
/// actor and the proxies of the peer's actors.
///
/// **Threading:** every member from any thread. Frames are queued under the
/// link's lock in call order (FIFO per sender, as a proxy is one sender) and
/// written by the I/O thread. **Failure:** a send on a lost link returns
/// `node_unreachable`; beyond the outbound bound `mailbox_full`; a refused
/// tell is also a dead letter here, a refused ask fails its reply at once.
class link {
public:
    link() = default;
    link(const link&) = delete;
    link& operator=(const link&) = delete;
    virtual ~link() = default;

    /// Queues a tell. `mailbox_full` when the outbound queue is full (wait
    /// for `writable` and retry), `node_unreachable` (a dead letter here),
    /// `invalid_argument` when it exceeds the maximum frame size.
    virtual send_result send_tell(std::uint64_t export_id, std::uint64_t trace,
                                  std::string_view type, std::uint32_t version,
                                  byte_view payload) = 0;
    /// Queues an ask; on success takes `reply`, which the answer or the
    /// link's loss completes. On failure `reply` stays with the caller
    /// (errors as `send_tell`).
    virtual send_result send_ask(std::uint64_t export_id, std::uint64_t trace,
                                 std::string_view type, std::uint32_t version, byte_view payload,
                                 duration timeout, std::unique_ptr<pending_reply>& reply) = 0;
    /// Completes once the outbound queue has room again, the link is lost,
    /// or after `timeout` (with `timeout`). Inside an actor: `co_await` it.
    virtual ask_handle<void> writable(duration timeout) = 0;
    /// A tell given up on a full queue: a `link_overflow` dead letter.
    virtual void overflowed(std::string_view type, std::uint64_t trace) = 0;
    /// Answers the peer's ask `request`.
    virtual void send_reply(std::uint64_t request, const error& outcome, byte_view payload) = 0;
    /// An inbound message this node cannot deliver: a dead letter here, and
    /// the error to the peer's asker.
    virtual void refuse(const inbound& in, const error& why) = 0;
    /// Asks the peer for a `down` when its actor `export_id` terminates.
    virtual void watch(std::uint64_t export_id) = 0;
    /// A local actor linked to the peer's actor `export_id` exited with
    /// `cause`: the peer sends that actor an exit signal
    /// (`actor_addr::signal_exit`).
    virtual void exit(std::uint64_t export_id, const error& cause) = 0;

    // Refs inside messages (`ref_codec`; docs/net.md "Refs inside messages").

    /// What a ref to `who`, speaking the protocol `signature`, becomes in a
    /// message to this link's peer: `yours` with the peer's export id when
    /// `who` is a proxy of this link; else `mine` with an export of `who` on
    /// this node, anonymous, until it terminates (one per actor: `make`
    /// builds its deliverer the first time). A proxy of another link is
    /// exported like a local actor: the peer's messages are routed through
    /// this node.
    virtual expected<wire_ref> ref_to_wire(const actor_addr& who, const std::string& signature,
                                           deliverer (*make)(const actor_addr&)) = 0;
    /// A ref the peer handed back (`yours`): this node's actor exported as
    /// `id`. Fails with `type_mismatch` (it speaks another protocol than
    /// `signature`), `receiver_down` (it terminated), `malformed` (no such
    /// id was ever issued).
    virtual expected<actor_addr> exported_actor(std::uint64_t id, std::string_view signature) = 0;
    /// A ref to the peer's export `id` (`mine`): where its proxy lives, as
    /// for a lookup. Where the message is decoded (any thread).
    virtual expected<found_actor> peer_export(std::uint64_t id) = 0;
    /// `proxy` (made by `proxy_for`) stands for the peer's export `id`: a
    /// ref to it goes back to the peer as `yours`.
    virtual void adopt_proxy(const actor_addr& proxy, std::uint64_t id) = 0;
    /// A tell for the peer did not encode (`why`): a `malformed` dead letter here.
    virtual void not_encoded(std::string_view type, std::uint64_t trace, const error& why) = 0;
};

/// The link whose message this thread encodes or decodes now (what a ref
/// inside the message becomes depends on it), or null.
[[nodiscard]] link* current_link() noexcept;

/// Makes `over` the `current_link()` for its lifetime, then restores the one
/// before (scopes nest). Set where messages are encoded for a link (a
/// proxy's turn, a reply to the peer) and decoded from one (the I/O thread
/// or the link actor's turn); it must not span a `co_await` (the task may move threads).
class link_scope {
public:
    explicit link_scope(link& over) noexcept;
    link_scope(const link_scope&) = delete;
    link_scope& operator=(const link_scope&) = delete;
    link_scope(link_scope&&) = delete;
    link_scope& operator=(link_scope&&) = delete;
    ~link_scope();

private:
    link* previous_;
};

/// An actor a peer asked this node to spawn (`node::allow_spawn`).
struct spawned {
    actor_addr who;
    deliverer deliver;
};
/// Spawns one actor of an allowed kind as a child of `parent` named `name`.
using spawner = std::function<expected<spawned>(const actor_addr& parent, std::string name)>;

/// Thread-local scratch for encoding payloads in the sending thread.
inline bytes& scratch() {
    thread_local bytes buf;
    buf.clear();
    return buf;
}

/// Sends the outcome `r` of a local ask back to the peer's asker.
template <class R>
void answer(link& to, std::uint64_t request, expected<R>& r) {
    if (!r) {
        // `would_block` (a redirect to a receiver that waits for room) means
        // a full mailbox to the peer's asker: the outcome docs/net.md names.
        to.send_reply(request,
                      r.error().code() == errc::would_block
                          ? error{errc::mailbox_full, "the receiver's mailbox is full", r.error()}
                          : r.error(),
                      {});
        return;
    }
    auto& buf = scratch();
    if constexpr (!std::is_void_v<R>) {
        const link_scope scope(to); // refs in the reply become exports for the peer
        if (auto ok = encode(*r, buf); !ok) {
            to.send_reply(request, ok.error(), {});
            return;
        }
    }
    to.send_reply(request, error{}, buf);
}

/// `answer`, from a thread that completed an ask (its replier's turn, the
/// deadline timer's thread), where nothing may throw: a reply that cannot
/// even be built (out of memory) is left to the peer asker's deadline.
template <class R>
void answer_noexcept(link& to, std::uint64_t request, expected<R>& r) noexcept {
    try {
        answer<R>(to, request, r);
    } catch (...) { // NOLINT(bugprone-empty-catch): the asker's deadline answers it
    }
}

template <class P>
deliverer make_deliverer(actor_ref<P> ref) {
    return [ref = std::move(ref)](const inbound& in, actor_base* self) -> delivery {
        delivery out;
        auto ok = decode_protocol<P>(in.type, in.version, in.payload, *in.limits, [&](auto&& m) {
            using msg_t = std::remove_cvref_t<decltype(m)>;
            if (!in.is_ask) {
                if (self == nullptr) {
                    out.no_room = !ref.post_if_room(std::forward<decltype(m)>(m), in.trace);
                    return;
                }
                const trace_scope trace(in.trace); // the send carries the peer sender's trace id
                out.send.emplace(self->send(ref, std::forward<decltype(m)>(m)));
                return;
            }
            if constexpr (askable<msg_t>) {
                using reply_t = typename msg_t::reply_type;
                auto done = [from = in.from, request = in.request](expected<reply_t> r) noexcept {
                    answer_noexcept<reply_t>(*from, request, r);
                };
                if (self == nullptr) {
                    out.no_room =
                        !ref.ask_if_room(std::forward<decltype(m)>(m), in.timeout, in.trace, done);
                } else {
                    out.send.emplace(ref.ask_awaiting_room(std::forward<decltype(m)>(m), in.timeout,
                                                           in.trace, done));
                }
            } else {
                in.from->send_reply(
                    in.request,
                    error{errc::type_mismatch, wire_name<msg_t>() + " was asked but has no reply"},
                    {});
            }
        });
        if (!ok) {
            in.from->refuse(in, ok.error());
        }
        return out;
    };
}

/// Answers a local asker from the peer's reply frame.
template <class R>
class reply_into final : public pending_reply {
public:
    explicit reply_into(response_promise<R> p) noexcept : promise_(std::move(p)) {}
    void complete(const error& outcome, byte_view payload) noexcept override {
        if (outcome) {
            (void)promise_.fail(outcome);
            return;
        }
        if constexpr (std::is_void_v<R>) {
            (void)promise_.reply();
        } else {
            auto v = decode<R>(payload);
            if (!v) {
                (void)promise_.fail(v.error());
            } else {
                (void)promise_.reply(std::move(*v));
            }
        }
    }

private:
    response_promise<R> promise_;
};

/// The local stand-in of a peer's actor: a ref to it is a ref to the remote
/// actor; monitoring or linking it watches or links the remote actor. Each message is encoded on
/// the proxy's turn and queued on the link. When the link's outbound queue is full, the proxy waits
/// (its handler is suspended, so its own mailbox fills and its overflow policy,
/// `node_options::proxy_mailbox`, answers the senders) for up to its
/// `block_timeout`; then a tell becomes a `link_overflow` dead letter and an
/// ask fails with `mailbox_full`. The proxy terminates with the remote
/// actor's exit cause, or with `node_unreachable` when the link is lost.
/// Refs inside a message are encoded for this proxy's link (`ref_codec`); a
/// message that does not encode fails its asker, or is a `malformed` dead
/// letter.
template <class P>
class remote_proxy final : public actor<P> {
public:
    remote_proxy(std::shared_ptr<link> l, std::uint64_t export_id, duration patience)
        : link_(std::move(l)), export_id_(export_id), patience_(patience) {}

    void on_start() override { link_->watch(export_id_); }

    /// A local actor linked to this proxy exited (proxies trap exits): the
    /// exit signal goes on to the remote actor, a normal exit too (an actor
    /// that traps exits hears of it; one that does not ignores it).
    void on_exit(const exit_msg& m) override { link_->exit(export_id_, m.cause); }

    // The handlers return the task that does the work (one coroutine frame
    // per message, not two).
    template <class M>
    requires(!askable<M>) task<> on(M& m) { return tell(m); }

    template <class M>
    requires askable<M> task<> on(M& m, response_promise<typename M::reply_type> reply) {
        if (!reply.has_asker()) {
            return tell(m);
        }
        return ask(m, std::move(reply));
    }

private:
    template <class M>
    task<> ask(M& m, response_promise<typename M::reply_type> reply) {
        const time_point deadline = reply.deadline();
        std::unique_ptr<pending_reply> pending =
            std::make_unique<reply_into<typename M::reply_type>>(std::move(reply));
        for (;;) {
            const time_point now = this->system().clock().now();
            const duration left = deadline == time_point::max() ? duration::max()
                                  : deadline > now              ? deadline - now
                                                                : duration::zero();
            auto buf = encoded(m);
            if (!buf) {
                pending->complete(buf.error(), {});
                co_return;
            }
            auto ok = link_->send_ask(export_id_, this->trace_id(), wire_type<M>::name,
                                      wire_type<M>::version, *buf, left, pending);
            if (ok) {
                co_return;
            }
            if (ok.error().code() != errc::mailbox_full) {
                pending->complete(ok.error(), {});
                co_return;
            }
            if (!(co_await link_->writable(std::min(left, patience_)))) {
                // One more try: the wait also ends when the link is lost, and then
                // the asker should hear node_unreachable, not mailbox_full.
                auto again_buf = encoded(m); // this thread's: the task may have moved
                if (!again_buf) {
                    pending->complete(again_buf.error(), {});
                    co_return;
                }
                auto again = link_->send_ask(export_id_, this->trace_id(), wire_type<M>::name,
                                             wire_type<M>::version, *again_buf, left, pending);
                if (!again) {
                    pending->complete(again.error(), {});
                }
                co_return;
            }
        }
    }

    // Queues `m` as a tell, waiting while the outbound queue is full.
    template <class M>
    task<> tell(M& m) {
        for (;;) {
            auto buf = encoded(m);
            if (!buf) {
                link_->not_encoded(wire_type<M>::name, this->trace_id(), buf.error());
                co_return;
            }
            auto ok = link_->send_tell(export_id_, this->trace_id(), wire_type<M>::name,
                                       wire_type<M>::version, *buf);
            if (ok || ok.error().code() != errc::mailbox_full) {
                co_return;
            }
            if (!(co_await link_->writable(patience_))) {
                // One more try (a lost link then says so: a link_lost dead letter).
                auto again_buf = encoded(m); // this thread's: the task may have moved
                if (!again_buf) {
                    link_->not_encoded(wire_type<M>::name, this->trace_id(), again_buf.error());
                    co_return;
                }
                auto again = link_->send_tell(export_id_, this->trace_id(), wire_type<M>::name,
                                              wire_type<M>::version, *again_buf);
                if (!again && again.error().code() == errc::mailbox_full) {
                    link_->overflowed(wire_type<M>::name, this->trace_id());
                }
                co_return;
            }
        }
    }

    // `m` packed into this thread's scratch buffer for the link (refs inside
    // it become what the peer can use). Valid until the next co_await.
    template <class M>
    expected<byte_view> encoded(const M& m) {
        auto& buf = scratch();
        const link_scope scope(*link_);
        if (auto ok = encode(m, buf); !ok) {
            return troupe::unexpected(ok.error());
        }
        return byte_view(buf);
    }

    std::shared_ptr<link> link_;
    std::uint64_t export_id_;
    duration patience_;
};

/// The proxy of `found` speaking `P`: the existing one, or a new one.
template <class P>
expected<actor_ref<P>> proxy_for(const found_actor& found) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (auto existing = found.sys->template find<P>(found.proxy_path)) {
            return *existing;
        }
        spawn_options opts = found.proxy_mailbox;
        opts.trap_exits = true; // a linked local actor's exit goes to the remote actor
        auto made = troupe::system::spawn_child_of<remote_proxy<P>>(
            found.parent, found.proxy_name, opts, found.over, found.export_id, opts.block_timeout);
        if (!made) {
            return troupe::unexpected(made.error());
        }
        auto cause = made->addr().exit_cause();
        if (!cause || cause->code() != errc::name_taken) {
            // live, or terminated for another reason (the link went down)
            found.over->adopt_proxy(made->addr(), found.export_id);
            return *made;
        }
    }
    return fail(errc::name_taken, "two lookups raced to make the proxy " + found.proxy_path);
}

/// How a ref speaking `P` crosses a link (the msgpack adaptor in
/// ref_adaptor.hpp calls it; docs/net.md "Refs inside messages"). It needs
/// the link the message crosses, `current_link()`: with none, only an empty
/// ref encodes or decodes. Failures throw `ref_error`, which `encode` and
/// `decode` return as their error.
template <class P>
struct ref_codec {
    static_assert(wire_protocol<P>, "a ref inside a wire message must speak a wire protocol");

    /// `protocol_signature<P>()`, computed once.
    static const std::string& signature() {
        static const std::string sig = protocol_signature<P>();
        return sig;
    }

    /// Encoding: what `r` is for the peer of the current link.
    static wire_ref to_wire(const actor_ref<P>& r) {
        if (!r) {
            return {};
        }
        link* over = current_link();
        if (over == nullptr) {
            throw ref_error(error{errc::invalid_argument,
                                  "an actor_ref encodes only in a message to a peer (no link "
                                  "on this thread)"});
        }
        auto w = over->ref_to_wire(r.addr(), signature(), &deliverer_of);
        if (!w) {
            throw ref_error(w.error());
        }
        return *w;
    }

    /// Decoding, where the message is delivered: the ref the peer sent.
    static actor_ref<P> from_wire(wire_ref w, std::string_view sig) {
        if (sig != signature()) {
            throw ref_error(error{errc::type_mismatch, "a ref speaking " + std::string(sig) +
                                                           " where one speaking " + signature() +
                                                           " was expected"});
        }
        if (w.tag == ref_tag::none) {
            if (w.id != 0) {
                throw ref_error(error{errc::malformed, "an empty ref with an export id"});
            }
            return {};
        }
        if (w.tag != ref_tag::yours && w.tag != ref_tag::mine) {
            throw ref_error(
                error{errc::malformed, "a ref with the unknown tag " +
                                           std::to_string(static_cast<unsigned>(w.tag))});
        }
        link* over = current_link();
        if (over == nullptr) {
            throw ref_error(error{errc::invalid_argument,
                                  "an actor_ref decodes only from a peer's message (no link on "
                                  "this thread)"});
        }
        expected<actor_ref<P>> ref;
        if (w.tag == ref_tag::yours) {
            auto who = over->exported_actor(w.id, sig);
            if (!who) {
                throw ref_error(who.error());
            }
            ref = troupe::detail::typed_ref<P>(troupe::detail::cell_ptr(who->cell()),
                                               "the actor exported as " + std::to_string(w.id));
        } else {
            auto found = over->peer_export(w.id);
            if (!found) {
                throw ref_error(found.error());
            }
            ref = proxy_for<P>(*found);
        }
        if (!ref) {
            throw ref_error(ref.error());
        }
        return *std::move(ref);
    }

private:
    // The deliverer of a fresh export of `who` (a ref speaking `P`).
    static deliverer deliverer_of(const actor_addr& who) {
        return make_deliverer<P>(actor_ref<P>(troupe::detail::cell_ptr(who.cell())));
    }
};

} // namespace troupe::net::detail
