// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_counters.hpp>
#include <troupe/actors/actor_info.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/behavior.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/executor.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/spawn_options.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace troupe {

/// How a system is built.
struct system_config {
    /// Scheduler worker threads; 0 means `std::thread::hardware_concurrency()`.
    unsigned workers = 0;
    /// Use this executor instead of the work-stealing scheduler (tests:
    /// `testing::manual_executor`). Not owned; must outlive the system.
    executor* custom_executor = nullptr;
    /// Use this clock instead of the steady clock (tests:
    /// `testing::manual_clock`). Not owned; must outlive the system.
    clock* custom_clock = nullptr;
};

namespace detail {
/// Stands in for a factory that did not compile (its static_assert said
/// why), so the mistake yields that one diagnostic and no follow-up errors.
template <class Impl>
struct refused_factory {
    [[noreturn]] Impl operator()() const { std::abort(); }
};

/// The factory of `spawn(args...)`: it keeps copies of the arguments and
/// builds the behaviour from them at every (re)start.
template <class Impl, class... Args>
auto make_factory(Args&&... args) {
    constexpr bool copyable = (std::is_copy_constructible_v<std::decay_t<Args>> && ...);
    static_assert(copyable,
                  "spawn arguments are copied so that a supervisor can rebuild the actor on "
                  "restart, and this one cannot be copied (move-only). Spawn from a factory "
                  "instead: spawn_from<Impl>(factory) / make_child_from<Impl>(name, factory), "
                  "where the factory is a copyable callable that creates the move-only state "
                  "fresh for each (re)start and returns the Impl");
    if constexpr (!copyable) {
        return refused_factory<Impl>{};
    } else {
        static_assert(std::is_constructible_v<Impl, const std::decay_t<Args>&...>,
                      "the actor class cannot be constructed from (const lvalue copies of) "
                      "these spawn arguments");
        if constexpr (!std::is_constructible_v<Impl, const std::decay_t<Args>&...>) {
            return refused_factory<Impl>{};
        } else {
            return
                [... captured = std::forward<Args>(args)]() -> Impl { return Impl(captured...); };
        }
    }
}

/// Checks a user factory for `spawn_from<Impl>(f)`: copyable, and returning
/// an `Impl` by value. Returns `f`, or a `refused_factory` after the diagnostic.
template <class Impl, class F>
auto checked_factory(F f) {
    constexpr bool copyable = std::is_copy_constructible_v<F>;
    static_assert(copyable, "a spawn factory is kept for restarts: it must be copyable (create "
                            "move-only state inside it, at each call)");
    constexpr bool returns_impl = std::is_same_v<std::invoke_result_t<F&>, Impl>;
    static_assert(returns_impl, "a spawn factory must return the actor class by value: "
                                "[...]() { return Impl(...); }");
    if constexpr (copyable && returns_impl) {
        return f;
    } else {
        return refused_factory<Impl>{};
    }
}

/// Why `name` cannot name an actor (`invalid_argument`), or nothing.
expected<void> check_actor_name(const std::string& name);
/// The path of `parent`'s child called `name`, or `invalid_argument` for a
/// name no actor can have.
expected<std::string> child_path(const cell& parent, std::string_view name);

/// The live actor `c` (looked up at `path`) as a ref speaking `Protocol`:
/// `receiver_down` if there is none, `type_mismatch` for another protocol.
template <class Protocol>
expected<actor_ref<Protocol>> typed_ref(cell_ptr c, std::string_view path) {
    if (!c) {
        return fail(errc::receiver_down, "no actor at " + std::string(path));
    }
    if (c->protocol() != typeid(Protocol)) {
        return fail(errc::type_mismatch, std::string(path) + " speaks another protocol");
    }
    return actor_ref<Protocol>(std::move(c));
}

template <class Impl, class Factory>
cell_ptr spawn_cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name,
                    Factory f) {
    auto valid = validate(opts);
    if (valid && !name.empty()) {
        valid = check_actor_name(name);
    }
    auto* c = new cell_impl<Impl, Factory>(sys, parent, valid ? opts : spawn_options{},
                                           std::move(name), std::move(f));
    cell_ptr ref(c); // one more reference for the caller; the first one is the "alive" one
    if (!valid) {
        c->refuse(valid.error());
    } else {
        (void)parent->adopt(c); // on refusal the cell has terminated with the reason
    }
    return ref;
}
} // namespace detail

/// An actor system: the scheduler, the clock, the actor tree under `/user`,
/// the dead-letter sink, and per-system extension slots. Usually one per
/// process; several may coexist.
///
/// **Threading:** every member may be called from any thread.
/// **Shutdown:** `shutdown(timeout)` (also run by the destructor) stops the
/// tree in order — newest top-level actor first, children before parents —
/// then stops the workers. Called from inside one of this system's own
/// actors it is refused (`would_block`: it would wait for itself); the
/// destructor called there stops the system in the background instead
/// (and says so on stderr). Refs outlive their system: sends then fail with
/// `receiver_down` and become dead letters.
class system {
public:
    system();
    explicit system(system_config cfg);
    system(const system&) = delete;
    system& operator=(const system&) = delete;
    ~system();

    /// Spawns a top-level actor of class `Impl` (derived from
    /// `actor<Protocol>`), constructed from `args` (copied, so a supervisor
    /// can rebuild it).
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn(Args&&... args) {
        return spawn_with<Impl>(spawn_options{}, std::forward<Args>(args)...);
    }
    /// As `spawn`, with mailbox options. Invalid options (see `validate`)
    /// yield a ref to an actor that has already terminated with
    /// `invalid_argument`.
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn_with(const spawn_options& opts, Args&&... args) {
        return actor_ref<typename Impl::protocol>(
            detail::spawn_cell<Impl>(*core_, user_.get(), opts, {},
                                     detail::make_factory<Impl>(std::forward<Args>(args)...)));
    }
    /// Spawns a named top-level actor at `/user/<name>`. Fails with
    /// `invalid_argument` (bad name or options), `name_taken`, or
    /// `receiver_down` (the system is shutting down).
    template <class Impl, class... Args>
    expected<actor_ref<typename Impl::protocol>>
    spawn_named(std::string name, const spawn_options& opts, Args&&... args) {
        if (auto ok = detail::check_actor_name(name); !ok) {
            return troupe::unexpected(ok.error());
        }
        if (auto ok = validate(opts); !ok) {
            return troupe::unexpected(ok.error());
        }
        auto c = detail::spawn_cell<Impl>(*core_, user_.get(), opts, std::move(name),
                                          detail::make_factory<Impl>(std::forward<Args>(args)...));
        if (c->is_terminated() && c->exit_cause()) {
            return troupe::unexpected(c->exit_cause());
        }
        return actor_ref<typename Impl::protocol>(std::move(c));
    }
    /// Spawns a child of `parent` from any thread, even before `parent` ran
    /// its first turn, as `actor_base::spawn_named` does on the parent's own
    /// turn (a refused spawn yields a ref to an actor that has already
    /// terminated with the reason). For modules above the core that must
    /// hand out a child's ref at once, as worker pools do (Akka, too, creates
    /// a pool router's routees in the creating thread). The parent's
    /// behaviour is not told: it learns of the child through its caller.
    /// Fails with `invalid_argument` for an empty `parent`.
    template <class Impl, class... Args>
    static expected<actor_ref<typename Impl::protocol>>
    spawn_child_of(const actor_addr& parent, std::string name, const spawn_options& opts,
                   Args&&... args) {
        if (!parent) {
            return fail(errc::invalid_argument, "spawn_child_of an empty address");
        }
        return actor_ref<typename Impl::protocol>(
            detail::spawn_cell<Impl>(parent.cell()->sys(), parent.cell(), opts, std::move(name),
                                     detail::make_factory<Impl>(std::forward<Args>(args)...)));
    }
    /// Spawns a top-level actor whose behaviour `factory()` builds: at the
    /// spawn and again at every restart, so state that cannot be copied
    /// (a `std::unique_ptr`, a socket) is created fresh per incarnation.
    /// `factory` must be copyable (it is kept, as `spawn` keeps its
    /// arguments) and return an `Impl` by value; it runs on the actor's
    /// turn, and an exception from it fails the actor like one from its
    /// constructor.
    template <class Impl, class F>
    actor_ref<typename Impl::protocol> spawn_from(F factory, const spawn_options& opts = {}) {
        return actor_ref<typename Impl::protocol>(detail::spawn_cell<Impl>(
            *core_, user_.get(), opts, {}, detail::checked_factory<Impl>(std::move(factory))));
    }
    /// Spawns a top-level actor whose behaviour is `f(self, msg)` or `f(msg)`.
    template <class Protocol, class F>
    actor_ref<Protocol> spawn_fn(F f, const spawn_options& opts = {}) {
        return spawn_with<detail::function_actor<Protocol, F>>(opts, std::move(f));
    }

    /// Looks up a named actor by full path. Fails with `receiver_down` (no
    /// such live actor) or `type_mismatch` (another protocol).
    template <class Protocol>
    expected<actor_ref<Protocol>> find(std::string_view path) const {
        return detail::typed_ref<Protocol>(core_->lookup(path), path);
    }

    /// Looks up a live actor by full path, untyped (tooling): a named actor
    /// (`/user/orders`), or an unnamed one by its path as `path()` shows it
    /// (`/user/orders/$42`). Fails with `invalid_argument` (not an absolute
    /// path) or `receiver_down` (no such live actor).
    [[nodiscard]] expected<actor_addr> find_addr(std::string_view path) const;
    /// Looks up a live actor by `actor_addr::id()` (also
    /// `event_meta::source_id`): O(1) average, a sharded index kept on
    /// spawn and termination. Fails with `invalid_argument` for id 0 (no
    /// actor: a plain thread's events carry it) and `receiver_down` when
    /// no live actor has that id (it terminated, or belongs to another
    /// system).
    [[nodiscard]] expected<actor_addr> find_addr(std::uint64_t id) const;

    /// Calls `fn(cause)` once `who` has terminated (at once, on this thread,
    /// if it already has; else on a worker). Must be short. Fails with
    /// `invalid_argument` for an empty address (`fn` is not called).
    expected<void> on_exit(const actor_addr& who, std::function<void(const error&)> fn);
    /// Blocks the calling thread until `who` terminated or `timeout` passed;
    /// returns the exit cause or `timeout`. Refused inside an actor or on a
    /// scheduler worker (`would_block`: it would stall the actors; monitor
    /// `who` instead), and `invalid_argument` for an empty address.
    expected<error> wait_for_exit(const actor_addr& who, duration timeout);

    /// Blocks the calling thread until every actor of this system has
    /// terminated (live_actors() is 0; their leftover messages are
    /// accounted) or `timeout` passed (`timeout`). Refused with
    /// `would_block` on one of the system's own workers or actors (it would
    /// wait for itself). Spawns racing with it may start new actors after
    /// it returned. No polling: the last termination wakes it (O(1) each).
    expected<void> await_all_actors_done(duration timeout);
    /// Blocks until `root` and its descendants terminated, or `timeout`
    /// (`timeout`). Fails with `invalid_argument` for an empty address,
    /// `would_block` as `await_all_actors_done`. Waits on exit observers,
    /// one actor at a time, parents first, each actor's children listed
    /// when the wait reaches it (O(size of the subtree), no polling). A
    /// stop covers the whole subtree: an ordered stop outwaits every child.
    /// A kill does not: the killed actor terminates at once and unlists its
    /// children, which end on their own (killed) turns, so the children of
    /// an actor killed before the wait reached it are not waited for (use
    /// `await_all_actors_done`, or stop instead of kill).
    expected<void> wait_for_subtree(const actor_addr& root, duration timeout);

    /// Counters of one actor (see `actor_counters` for the identity); fails
    /// with `invalid_argument` for an empty address.
    [[nodiscard]] expected<actor_counters> counters(const actor_addr& who) const;
    [[nodiscard]] dead_letter_sink& dead_letters() noexcept { return core_->dead_letters(); }
    [[nodiscard]] troupe::clock& clock() noexcept { return core_->clk(); }
    /// Replies that arrived after their ask completed.
    [[nodiscard]] std::uint64_t late_replies() const noexcept { return core_->late_replies(); }
    /// Actors spawned and not yet terminated (guardians excluded).
    [[nodiscard]] std::int64_t live_actors() const noexcept { return core_->live_actors(); }
    /// Visits every actor of the tree, the root (`/`) and the guardians
    /// (`/user`, `/system`) included: parents before children, oldest child
    /// first, iteratively (any depth). `visit` runs on the calling thread,
    /// outside every lock; it may spawn or stop actors (the walk shows what
    /// it finds when it gets there).
    ///
    /// **Consistency:** not a snapshot of the whole tree. Each actor's
    /// children are listed under its tree lock (one of 64 striped locks,
    /// held only while the list is copied, never during `visit`) when the
    /// walk reaches it; each field is read then (state and counters are
    /// relaxed snapshots). An actor spawned under an already visited parent
    /// is not seen; one that terminated after its parent was visited is
    /// seen as `terminated`. The walk holds a reference to each actor it
    /// still has to visit, so none is freed under it.
    void walk(const std::function<void(const actor_info&)>& visit) const;
    /// The tree as indented text, one actor a line, built on `walk`:
    /// `name [state] behaviour mailbox depth/capacity restarts n`.
    /// Indentation stops at 32 levels; deeper lines start with their depth.
    [[nodiscard]] std::string dump_tree() const;
    /// The same tree as JSON, built on `walk`: nested objects
    /// `{"name", "id", "state", "behaviour", "mailbox": {"depth",
    /// "capacity"}, "restarts", "children": [...]}`, the root outermost
    /// (name `""`). A path is the names from the root down; it is not
    /// repeated in each object, which would make a deep chain's JSON
    /// quadratic in its depth.
    [[nodiscard]] std::string dump_tree_json() const;

    /// Every actor failure (a handler threw, or a supervised exit), before
    /// its parent decides: `failure_hooks().add(fn)`. Hooks run on the
    /// failing actor's worker; see `hook_list`.
    [[nodiscard]] hook_list<const actor_addr&, const error&>& failure_hooks() noexcept {
        return core_->failures;
    }
    /// Every decision a parent took about a failed child.
    [[nodiscard]] hook_list<const actor_addr&, const error&, child_decision>&
    decision_hooks() noexcept {
        return core_->decisions;
    }

    /// The system's extension of type `T`, created by `make()` on first use
    /// (thread-safe: one wins). Extensions live until the system shuts down,
    /// after its actors stopped, and are destroyed newest first: the events
    /// registry, supervision's failure reports, later the net node.
    template <class T, class Make>
    std::shared_ptr<T> extension(Make&& make) {
        return std::static_pointer_cast<T>(core_->extension(
            typeid(T), [&]() -> std::shared_ptr<void> { return std::shared_ptr<T>(make()); }));
    }
    /// The extension of type `T`, or null.
    template <class T>
    [[nodiscard]] std::shared_ptr<T> find_extension() const {
        return std::static_pointer_cast<T>(core_->find_extension(typeid(T)));
    }
    /// As `extension`, for the system the actor `who` belongs to: null for an
    /// empty address, or once that system has shut down.
    template <class T, class Make>
    static std::shared_ptr<T> extension_of(const actor_addr& who, Make&& make) {
        if (!who) {
            return nullptr;
        }
        return std::static_pointer_cast<T>(who.cell()->sys().extension(
            typeid(T), [&]() -> std::shared_ptr<void> { return std::shared_ptr<T>(make()); }));
    }
    /// The extension of type `T` of the system `who` belongs to, or null.
    template <class T>
    [[nodiscard]] static std::shared_ptr<T> find_extension_of(const actor_addr& who) {
        return who ? std::static_pointer_cast<T>(who.cell()->sys().find_extension(typeid(T)))
                   : nullptr;
    }

    /// Stops every actor (ordered) and stops the workers. Returns within
    /// `timeout` plus a small margin: actors still running by then are
    /// abandoned (`timeout` is returned) and a background thread finishes
    /// the shutdown once their handlers return (their messages become dead
    /// letters). Idempotent. Refused with `would_block` from inside one of
    /// this system's actors.
    expected<void> shutdown(duration timeout = std::chrono::seconds(10));

private:
    [[nodiscard]] bool on_own_worker() const noexcept;
    // On a detached thread that keeps the core alive: stop the tree (within
    // `stop_timeout`) and finish the shutdown, or only finish a shutdown whose
    // stop already timed out.
    void stop_in_background(duration stop_timeout);
    void finish_in_background();

    detail::system_core* core_; // owned by the root guardian's cell (root_ keeps it)
    detail::cell_ptr root_;
    detail::cell_ptr system_guardian_;
    detail::cell_ptr user_;
    std::mutex shutdown_mutex_;
    bool shut_down_ = false; // guarded by shutdown_mutex_
};

template <class Protocol>
expected<actor_ref<Protocol>> actor_base::child(std::string_view name) const {
    auto path = detail::child_path(cell(), name);
    if (!path) {
        return troupe::unexpected(path.error());
    }
    return detail::typed_ref<Protocol>(cell().sys().lookup(*path), *path);
}

template <class Protocol>
expected<actor_ref<Protocol>> actor_base::sibling(std::string_view name) const {
    const detail::cell* parent = cell().parent(); // immutable; outlives this actor
    auto path = detail::child_path(*parent, name);
    if (!path) {
        return troupe::unexpected(path.error());
    }
    return detail::typed_ref<Protocol>(cell().sys().lookup(*path), *path);
}

template <class Impl, class F>
actor_ref<typename Impl::protocol> actor_base::spawn_from(F factory, std::string name,
                                                          const spawn_options& opts) {
    return actor_ref<typename Impl::protocol>(
        detail::spawn_cell<Impl>(cell().sys(), &cell(), opts, std::move(name),
                                 detail::checked_factory<Impl>(std::move(factory))));
}

template <class Impl, class... Args>
actor_ref<typename Impl::protocol> actor_base::spawn(Args&&... args) {
    return spawn_named<Impl>(std::string{}, spawn_options{}, std::forward<Args>(args)...);
}

template <class Impl, class... Args>
actor_ref<typename Impl::protocol>
actor_base::spawn_named(std::string name, const spawn_options& opts, Args&&... args) {
    return actor_ref<typename Impl::protocol>(
        detail::spawn_cell<Impl>(cell().sys(), &cell(), opts, std::move(name),
                                 detail::make_factory<Impl>(std::forward<Args>(args)...)));
}

} // namespace troupe
