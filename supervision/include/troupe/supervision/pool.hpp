// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/ask.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/supervision/child_spec.hpp>
#include <troupe/supervision/detail/pool_state.hpp>
#include <troupe/supervision/pool_routing.hpp>
#include <troupe/supervision/supervisor.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

/// A key for consistent-hash routing: `f(msg)` for every message type of
/// `Protocol` (a generic lambda, or an overload set), converted to
/// `std::uint64_t`. It runs in the sending thread, outside any lock, and
/// must be thread-safe and must not throw.
template <class Protocol>
class message_key {
public:
    message_key() = default;
    template <class F>
    requires detail::keys_every_message<Protocol, F>
    explicit message_key(F f)
        : fn_([f = std::move(f)](std::size_t alt, const void* msg) {
              return detail::call_key(
                  f, alt, msg,
                  static_cast<typename detail::alternatives<Protocol>::type*>(nullptr));
          }) {}

    /// True if a function was given.
    explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
    /// @private the type-erased form: `(alternative index, message address)`.
    [[nodiscard]] const typename detail::pool_state<Protocol>::key_function&
    erased() const noexcept {
        return fn_;
    }

private:
    typename detail::pool_state<Protocol>::key_function fn_;
};

/// How a pool is built.
template <class Protocol>
struct pool_options {
    /// Number of workers; must be positive.
    std::size_t size = 1;
    pool_routing routing = pool_routing::round_robin;
    /// The key of a message; required for (and only used by) `consistent_hash`.
    message_key<Protocol> key{};
    /// The pool's supervisor (strategy, intensity, backoff, events). Workers
    /// are permanent children named `worker-0` ... `worker-<size-1>`.
    supervisor_options supervision{};
    /// Every worker's mailbox and shutdown options.
    spawn_options worker{};
    /// The supervisor's name (`spawn_pool`: empty means unnamed; a pool
    /// child: required, the child's name).
    std::string name{};
};

/// A handle to a pool of workers speaking `Protocol`, with the sending API
/// of `actor_ref<Protocol>`: each `tell`/`ask` picks one worker (per the
/// pool's routing) in the sending thread and posts straight into that
/// worker's mailbox (no router actor in between, no extra hop), under the
/// sender's trace id. The worker's own mailbox policy applies.
///
/// The workers are children of the pool's supervisor (`addr()`), which
/// restarts a failed worker in place: its mailbox and ref stay, so the pool
/// keeps routing to it. If the supervisor itself is restarted (by its
/// parent), its new incarnation spawns new workers, and the handle routes
/// to those from then on.
///
/// **Threading:** copyable and cheap (one shared pointer); every member may
/// be called from any thread. A send takes the pool's mutex to pick and
/// copy one worker ref (round robin: a counter; least loaded: a scan of N
/// relaxed mailbox-depth snapshots, stale by the time the message lands;
/// consistent hash: jump hash of the key, computed before the lock).
/// **Ordering:** per sender and worker, as for `actor_ref`; with round robin
/// or least loaded a sender's messages may go to different workers, so
/// there is no order between them; with consistent hash, equal keys go to
/// one worker, in order.
/// **Failure:** an empty handle fails with `invalid_argument`; a pool whose
/// workers have terminated (it was stopped, or is between incarnations)
/// answers `receiver_down`; a worker whose handler throws answers that
/// ask with `handler_failed` and is restarted per the supervisor's policy.
template <class Protocol>
class pool_ref {
public:
    using protocol = Protocol;

    pool_ref() noexcept = default;
    /// @private
    explicit pool_ref(std::shared_ptr<detail::pool_state<Protocol>> state) noexcept
        : state_(std::move(state)) {}

    /// Sends `m` to one worker; returns what that worker's `tell` returns.
    template <class M>
    requires protocol_accepts_v<Protocol, M> send_result tell(M&& m)
    const {
        if (!state_) {
            return fail(errc::invalid_argument, "tell on an empty pool_ref");
        }
        const actor_ref<Protocol> worker = pick(m);
        if (!worker) {
            return fail(errc::receiver_down, "the pool has not started");
        }
        return worker.tell(std::forward<M>(m));
    }

    /// Asks one worker; see `actor_ref::ask` for the outcomes.
    template <class M>
    requires protocol_accepts_v<Protocol, M> && askable<std::remove_cvref_t<M>>
        ask_handle<typename std::remove_cvref_t<M>::reply_type> ask(M&& m, duration timeout)
    const {
        using reply = typename std::remove_cvref_t<M>::reply_type;
        if (!state_) {
            return detail::failed_ask<reply>(
                error{errc::invalid_argument, "ask on an empty pool_ref"});
        }
        const actor_ref<Protocol> worker = pick(m);
        if (!worker) {
            return detail::failed_ask<reply>(
                error{errc::receiver_down, "the pool has not started"});
        }
        return worker.ask(std::forward<M>(m), timeout);
    }

    /// Stops the pool: its supervisor stops the workers (newest first), then
    /// itself. Under a parent supervisor, that parent decides (as for any
    /// child: a permanent pool is started again). `invalid_argument` on an
    /// empty handle.
    expected<void> stop(error cause = {}) const { return addr().stop(std::move(cause)); }

    /// The pool's supervisor (empty for an empty handle, or a pool child
    /// that its parent has not started yet).
    [[nodiscard]] actor_addr addr() const { return state_ ? state_->supervisor() : actor_addr{}; }
    /// Number of workers (0 for an empty handle).
    [[nodiscard]] std::size_t size() const noexcept { return state_ ? state_->size() : 0; }
    /// The workers' refs, in slot order (`worker-0` first).
    [[nodiscard]] std::vector<actor_ref<Protocol>> workers() const {
        return state_ ? state_->workers() : std::vector<actor_ref<Protocol>>{};
    }
    explicit operator bool() const noexcept { return static_cast<bool>(state_); }

private:
    template <class M>
    [[nodiscard]] actor_ref<Protocol> pick(const M& m) const {
        using message = std::remove_cvref_t<M>;
        return state_->pick(detail::alternative_index_v<Protocol, message>,
                            static_cast<const void*>(std::addressof(m)));
    }

    std::shared_ptr<detail::pool_state<Protocol>> state_;
};

/// A pool as a child of another supervisor: the spec to add, and the pool's
/// handle (routing from the moment its parent has started it).
template <class Protocol>
struct pool_child {
    child_spec spec;
    pool_ref<Protocol> ref;
};

namespace detail {

/// What a pool's supervisor is spawned from: the worker specs and the
/// supervisor's options (no refs to actors, so spawn arguments can hold it).
template <class Protocol>
struct pool_recipe {
    supervisor_options supervision;
    std::vector<child_spec> workers;
    worker_spawner<Protocol> spawn;
    std::weak_ptr<pool_state<Protocol>> state;
};

/// Checks `options` and builds the state and the recipe for `Worker`s built
/// from copies of `args`.
template <class Worker, class... Args>
expected<std::pair<std::shared_ptr<pool_state<typename Worker::protocol>>,
                   std::shared_ptr<const pool_recipe<typename Worker::protocol>>>>
plan_pool(pool_options<typename Worker::protocol>& options, Args... args) {
    using protocol = typename Worker::protocol;
    if (options.size == 0 || options.size > std::numeric_limits<std::uint32_t>::max()) {
        return fail(errc::invalid_argument, "a pool needs at least one worker");
    }
    if (options.routing == pool_routing::consistent_hash && !options.key) {
        return fail(errc::invalid_argument, "consistent_hash routing needs a message key");
    }
    if (auto ok = validate(options.worker); !ok) {
        return troupe::unexpected(ok.error());
    }
    auto state =
        std::make_shared<pool_state<protocol>>(options.size, options.routing, options.key.erased());
    auto recipe = std::make_shared<pool_recipe<protocol>>();
    recipe->supervision = std::move(options.supervision);
    recipe->state = state;
    recipe->spawn = [... captured = std::move(args)](const actor_addr& parent,
                                                     const std::string& name,
                                                     const spawn_options& opts) {
        auto r = system::spawn_child_of<Worker>(parent, name, opts, captured...);
        return r ? *r : actor_ref<protocol>{};
    };
    for (std::size_t i = 0; i < options.size; ++i) {
        child_spec s;
        s.name = "worker-" + std::to_string(i);
        s.options = options.worker;
        s.start = [weak = recipe->state, spawn = recipe->spawn,
                   i](actor_base& parent, const std::string& name, const spawn_options& opts) {
            if (auto st = weak.lock()) {
                return st->ensure(i, parent.addr(), name, opts, spawn);
            }
            return spawn(parent.addr(), name, opts).addr(); // no handle left: nobody routes
        };
        recipe->workers.push_back(std::move(s));
    }
    return std::pair{std::move(state), std::shared_ptr<const pool_recipe<protocol>>(recipe)};
}

/// The pool's handle once its supervisor `sup` was spawned (a refused spawn:
/// its reason).
template <class Protocol>
expected<pool_ref<Protocol>> launch_pool(const actor_ref<supervisor_protocol>& sup,
                                         const std::shared_ptr<pool_state<Protocol>>& state,
                                         const pool_recipe<Protocol>& recipe) {
    if (sup.addr().is_terminated()) {
        auto cause = sup.addr().exit_cause();
        return troupe::unexpected(cause && *cause ? *cause
                                                  : error{errc::receiver_down, "pool refused"});
    }
    state->spawn_ahead(sup.addr(), recipe.workers, recipe.spawn);
    return pool_ref<Protocol>(state);
}

} // namespace detail

/// Spawns a pool of `options.size` workers of class `Worker` (each built
/// from copies of `args`) under a new top-level supervisor (named
/// `options.name`, or unnamed). The workers exist when this returns, so the
/// handle routes at once. Fails with `invalid_argument` (size 0, a
/// consistent hash without a key, bad worker options or name),
/// `name_taken`, or `receiver_down` (the system is shutting down).
/// @threadsafe
template <class Worker, class... Args>
expected<pool_ref<typename Worker::protocol>>
spawn_pool(system& sys, pool_options<typename Worker::protocol> options, Args... args) {
    auto plan = detail::plan_pool<Worker>(options, std::move(args)...);
    if (!plan) {
        return troupe::unexpected(plan.error());
    }
    auto& [state, recipe] = *plan;
    actor_ref<supervisor_protocol> sup;
    if (options.name.empty()) {
        sup = sys.spawn_with<detail::pool_supervisor>(spawn_options{}, recipe->supervision,
                                                      recipe->workers, recipe->state);
    } else {
        auto named = sys.spawn_named<detail::pool_supervisor>(
            options.name, spawn_options{}, recipe->supervision, recipe->workers, recipe->state);
        if (!named) {
            return troupe::unexpected(named.error());
        }
        sup = *named;
    }
    return detail::launch_pool(sup, state, *recipe);
}

/// As above, with the pool's supervisor a child of `parent` (on `parent`'s
/// own turn, like `actor_base::spawn`). The pool is not supervised by
/// `parent` beyond what `parent`'s `on_child_failed` decides; to put it
/// under a supervisor, use `make_pool_child`.
template <class Worker, class... Args>
expected<pool_ref<typename Worker::protocol>>
spawn_pool(actor_base& parent, pool_options<typename Worker::protocol> options, Args... args) {
    auto plan = detail::plan_pool<Worker>(options, std::move(args)...);
    if (!plan) {
        return troupe::unexpected(plan.error());
    }
    auto& [state, recipe] = *plan;
    auto sup = parent.spawn_named<detail::pool_supervisor>(
        options.name, spawn_options{}, recipe->supervision, recipe->workers, recipe->state);
    return detail::launch_pool(sup, state, *recipe);
}

/// A pool as a supervised child named `options.name`: add `spec` to a
/// supervisor's children (or `add_child`); `ref` routes once that
/// supervisor has started it (before: `receiver_down`), and keeps routing
/// to the new pool whenever the parent restarts it. Fails with
/// `invalid_argument` as `spawn_pool` does, or for an empty name.
template <class Worker, class... Args>
expected<pool_child<typename Worker::protocol>>
make_pool_child(pool_options<typename Worker::protocol> options, Args... args) {
    using protocol = typename Worker::protocol;
    if (options.name.empty()) {
        return fail(errc::invalid_argument, "a pool child needs a name");
    }
    auto plan = detail::plan_pool<Worker>(options, std::move(args)...);
    if (!plan) {
        return troupe::unexpected(plan.error());
    }
    auto& [state, recipe] = *plan;
    child_spec spec;
    spec.name = options.name;
    spec.start = [recipe = recipe](actor_base& parent, const std::string& name,
                                   const spawn_options& opts) {
        auto sup = parent.spawn_named<detail::pool_supervisor>(name, opts, recipe->supervision,
                                                               recipe->workers, recipe->state);
        if (auto st = recipe->state.lock(); st && !sup.addr().is_terminated()) {
            st->spawn_ahead(sup.addr(), recipe->workers, recipe->spawn);
        }
        return sup.addr();
    };
    return pool_child<protocol>{std::move(spec), pool_ref<protocol>(state)};
}

} // namespace troupe
