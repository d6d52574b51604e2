// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/response_promise.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>
#include <troupe/supervision/child_spec.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::net {

namespace detail {

/// Owns the remote actor of one incarnation of a `remote_stand_in`: a child
/// of the stand-in, so that every teardown (a restart, a stop, a kill) ends
/// it, and the remote actor with it.
struct owner_token {};
class remote_owner final : public actor<owner_token> {
public:
    void on(owner_token& /*unused*/) {}
};

/// The local child that stands for an actor spawned on a peer (see
/// `remote_child`). It forwards every message to the remote actor's proxy
/// (an ask with its reply channel: the proxy answers the asker) and fails with the remote
/// actor's exit cause: so its supervisor sees the remote actor's failure as
/// one of its own children's.
template <class P>
class remote_stand_in final : public actor<P> {
public:
    remote_stand_in(std::shared_ptr<node> on, std::string peer, std::string kind, duration timeout,
                    std::uint32_t capacity)
        : node_(std::move(on)), peer_(std::move(peer)), kind_(std::move(kind)), timeout_(timeout),
          capacity_(capacity) {}

    void on_start() override {
        const auto owner = this->template spawn<remote_owner>();
        auto asked = node_->template spawn_then<P>(
            owner.addr(), peer_, kind_, timeout_, [this](expected<actor_ref<P>> remote) {
                if (!remote) {
                    fail_held(remote.error());
                    throw error_exception(error{remote.error().code(),
                                                "could not spawn " + kind_ + " on " + peer_,
                                                remote.error()});
                }
                remote_ = std::move(*remote);
                this->monitor(remote_.addr());
                auto held = std::exchange(held_, {});
                for (auto& send : held) {
                    send(nullptr);
                }
            });
        if (!asked) {
            throw error_exception(asked.error());
        }
    }

    void on_down(const down_msg& m) override {
        if (m.source != remote_.addr()) {
            return;
        }
        if (m.cause) {
            throw error_exception(m.cause); // the remote actor's failure is this child's
        }
        this->stop();
    }

    void on_stop(const error& cause) override {
        fail_held(cause ? cause : error{errc::receiver_down, "the remote child stopped"});
    }

    template <class M>
    requires(!askable<M>) void on(M& m) {
        if (remote_) {
            (void)remote_.tell(std::move(m));
            return;
        }
        hold([this, m = std::make_shared<M>(std::move(m))](const error* refused) {
            if (refused == nullptr) {
                (void)remote_.tell(std::move(*m));
            } else {
                this->system().dead_letters().record(dead_letter{dead_letter_reason::receiver_down,
                                                                 this->addr(), wire_type<M>::name,
                                                                 this->trace_id()});
            }
        });
    }

    template <class M>
    requires askable<M>
    void on(M& m, response_promise<typename M::reply_type> reply) {
        if (remote_) {
            forward(m, reply);
            return;
        }
        auto held = std::make_shared<std::pair<M, response_promise<typename M::reply_type>>>(
            std::move(m), std::move(reply));
        hold([this, held](const error* refused) {
            if (refused == nullptr) {
                forward(held->first, held->second);
            } else {
                (void)held->second.fail(*refused);
            }
        });
    }

private:
    using held_send = std::function<void(const error* refused)>;

    // Until the remote actor is known: messages wait here, in order, at most
    // as many as this actor's mailbox holds (then they are refused).
    void hold(held_send send) {
        if (held_.size() >= capacity_) {
            const error full{errc::mailbox_full,
                             "the remote child is starting and its queue is full"};
            send(&full);
            return;
        }
        held_.push_back(std::move(send));
    }

    void fail_held(const error& why) {
        auto held = std::exchange(held_, {});
        for (auto& send : held) {
            send(&why);
        }
    }

    // The proxy answers the asker directly (deadline and trace id go along),
    // so a reply in flight survives a restart of this stand-in.
    template <class M>
    void forward(M& m, response_promise<typename M::reply_type>& reply) {
        (void)reply.forward(remote_, std::move(m));
    }

    std::shared_ptr<node> node_;
    std::string peer_;
    std::string kind_;
    duration timeout_;
    std::uint32_t capacity_;
    actor_ref<P> remote_;
    std::vector<held_send> held_;
};

} // namespace detail

/// A supervised child that runs on another node: at every start and restart
/// it spawns a `kind` (allowed there with `node::allow_spawn`) on the peer
/// named `peer`, through `on`. The child in this supervisor's tree is a
/// local stand-in with the remote actor's protocol: a ref to it (from
/// `child<P>(name)` or `sibling<P>(name)`) reaches the current remote
/// incarnation across restarts; messages sent while it starts wait for the
/// remote actor (up to the child's mailbox capacity).
///
/// **Failure:** the child fails, and its supervisor applies its strategy,
/// restart intensity and backoff, with the remote actor's real exit cause
/// when it fails, with `node_unreachable` when the link to its node is
/// lost, and with the spawn's error (`node_unreachable`: no link to a node
/// of that name; `receiver_down`: nothing allowed as `kind`; `type_mismatch`;
/// `timeout`) when it cannot start. When the supervisor stops the child,
/// the remote actor is stopped with the same cause (it does not wait for
/// the remote actor to finish: the shutdown timeout bounds the stand-in
/// only). Messages are delivered at most once, as any remote send.
template <wire_protocol P>
child_spec remote_child(std::string name, std::shared_ptr<node> on, std::string peer,
                        std::string kind, duration spawn_timeout = std::chrono::seconds(5)) {
    child_spec spec;
    spec.name = std::move(name);
    spec.start = [on = std::move(on), peer = std::move(peer), kind = std::move(kind),
                  spawn_timeout](actor_base& parent, const std::string& n,
                                 const spawn_options& opts) {
        return parent
            .template spawn_named<detail::remote_stand_in<P>>(n, opts, on, peer, kind,
                                                              spawn_timeout, opts.capacity)
            .addr();
    };
    return spec;
}

} // namespace troupe::net
