// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/send_awaiter.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/timer.hpp>

#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

class system;
template <class Protocol>
class behavior;

/// Whether `become` / `unbecome` also replays the stash (`unstash_all`).
enum class unstash : std::uint8_t { none, all };
/// How `become` changes the behaviour stack.
enum class become_mode : std::uint8_t {
    replace, ///< discard the current behaviour (Akka's default, `discardOld`)
    stack,   ///< keep it below the new one: `unbecome` comes back to it
};

/// Delivered to `on_down` when a monitored actor terminates.
struct down_msg {
    actor_addr source; ///< the actor that terminated
    error cause;       ///< its exit cause (`errc::none` for a normal stop)
};

/// Delivered to `on_exit` (with `trap_exits`) when a linked actor terminates.
struct exit_msg {
    actor_addr source;
    error cause;
};

/// Base of every behaviour: the hooks the runtime calls and the operations a
/// handler may use on its own actor. Derive from `actor<Protocol>`.
///
/// **Threading:** hooks and context operations run on the actor's own turn
/// only (never concurrently); calling context operations from other threads
/// is a bug. **Failure:** an exception escaping a handler or hook is caught
/// at the actor boundary and becomes the actor's failure; its parent decides
/// (by default the child is stopped and the parent told, with the cause).
class actor_base {
public:
    actor_base(const actor_base&) = delete;
    actor_base& operator=(const actor_base&) = delete;
    virtual ~actor_base() = default;

    /// Runs before the first message.
    virtual void on_start() {}
    /// Runs once when the actor stops (normally, on request or after a
    /// failure), after its children have stopped; `cause` says why.
    virtual void on_stop(const error& /*cause*/) {}
    /// A monitored actor terminated.
    virtual void on_down(const down_msg& /*msg*/) {}
    /// A linked actor terminated (only with `trap_exits`; without it, an
    /// abnormal exit of a linked actor stops this one with `linked_exit`).
    virtual void on_exit(const exit_msg& /*msg*/) {}
    /// No user message arrived for the idle timeout (`set_idle_timeout`).
    virtual void on_idle() {}
    /// A child failed (or, with `decide_child_exits`, exited on its own: a
    /// normal exit comes with `errc::none`); the answer decides its fate.
    /// Throwing escalates with the thrown cause (`error_exception` sets it
    /// exactly), as `child_decision::escalate` does: the child is stopped,
    /// then this actor's other children newest first, each under its
    /// shutdown timeout, and then this actor fails to its parent. Default:
    /// stop it.
    virtual child_decision on_child_failed(const actor_addr& /*child*/, const error& /*cause*/) {
        return child_decision::stop;
    }

    /// A child overran its shutdown timeout during this actor's ordered stop
    /// and was killed (this actor went on with the next child).
    virtual void on_child_shutdown_timeout(const actor_addr& /*child*/) {}

    /// Spawns a child of this actor (constructed from copies of `args`, so a
    /// supervisor can rebuild it). Defined in <troupe/actors/system.hpp>.
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn(Args&&... args);
    /// As `spawn`, with options and a name (empty: unnamed). A taken name,
    /// an invalid one or invalid options yield a ref to an actor that has
    /// already terminated with `name_taken` / `invalid_argument`.
    template <class Impl, class... Args>
    actor_ref<typename Impl::protocol> spawn_named(std::string name, const spawn_options& opts,
                                                   Args&&... args);
    /// Spawns a child whose behaviour `factory()` builds at the spawn and at
    /// every restart (for move-only state; see `system::spawn_from`), with
    /// an optional name and options as `spawn_named`.
    template <class Impl, class F>
    actor_ref<typename Impl::protocol> spawn_from(F factory, std::string name = {},
                                                  const spawn_options& opts = {});

    /// This actor's address.
    [[nodiscard]] actor_addr addr() const { return actor_addr(detail::cell_ptr(cell_)); }
    /// Full path, e.g. `/user/orders/worker-3`.
    [[nodiscard]] std::string path() const { return cell_->path(); }
    /// The address of this actor's parent (for a top-level actor, the
    /// `/user` guardian). Never empty.
    [[nodiscard]] actor_addr parent() const {
        return actor_addr(detail::cell_ptr(cell_->parent()));
    }
    /// This actor's live child named `name`, as a ref speaking `P`. Fails with
    /// `invalid_argument` (a name no actor can have), `receiver_down` (no
    /// such live child) or `type_mismatch` (it speaks another protocol), as
    /// `system::find` does. A lookup in the system's path index (a hash map):
    /// O(depth + name), whatever the number of actors.
    template <class P>
    [[nodiscard]] expected<actor_ref<P>> child(std::string_view name) const;
    /// The live sibling named `name` (a child of the same parent; for a
    /// supervised child, another child of its supervisor), with the errors of
    /// `child`. Supervisors restart children in place, so a ref obtained once
    /// keeps reaching the sibling across its restarts: no string paths are
    /// needed. Defined in <troupe/actors/system.hpp>.
    template <class P>
    [[nodiscard]] expected<actor_ref<P>> sibling(std::string_view name) const;
    /// The system this actor belongs to.
    [[nodiscard]] troupe::system& system() const noexcept;

    /// Stops this actor after the current handler returns: children first
    /// (newest first), then `on_stop(cause)`. A default cause is a normal
    /// stop. Its stop token is signalled at once. Under a supervisor, the
    /// supervisor decides (see `decide_child_exits`).
    void stop(error cause = {}) {
        cell_->request_stop(std::move(cause), detail::stop_origin::self);
    }
    /// Signalled when this actor is cancelled or stopping (from the thread
    /// that requested it, even while a handler runs).
    [[nodiscard]] std::stop_token stop_token() { return cell_->stop_token(); }
    /// Why the token was signalled (`errc::none` while not signalled).
    [[nodiscard]] const error& stop_cause() const noexcept { return cell_->stop_cause(); }
    /// Watches `other`: `on_down` runs once it terminates (at once if it has;
    /// an empty address: at once, with `noproc`). Monitors stack.
    void monitor(const actor_addr& other) { cell_->monitor(detail::cell_ptr(other.cell())); }
    void demonitor(const actor_addr& other) { cell_->demonitor(detail::cell_ptr(other.cell())); }
    /// Links both ways (idempotent): a non-normal exit of either stops the
    /// other (or, with `trap_exits`, calls its `on_exit`, for every exit).
    /// Linking to an actor that has terminated delivers its exit at once
    /// (an empty address: `noproc`).
    void link(const actor_addr& other) { cell_->link(detail::cell_ptr(other.cell())); }
    void unlink(const actor_addr& other) { cell_->unlink(detail::cell_ptr(other.cell())); }
    /// Calls `on_idle` after `d` without user messages; zero disables,
    /// `duration::max()` never fires.
    void set_idle_timeout(duration d) { cell_->set_idle_timeout(d); }
    /// Trace id of the message being handled (propagated to sends).
    [[nodiscard]] std::uint64_t trace_id() const noexcept {
        return detail::this_thread_context().trace;
    }

    /// Sends `m` to `to` after `delay` (`duration::max()`: never). Cancelled
    /// when this actor stops or restarts.
    template <class P, class M>
    requires protocol_accepts_v<P, M> timer_handle delayed_tell(const actor_ref<P>& to,
                                                                duration delay, M m) {
        return track(detail::start_timer(cell_->sys().clk(), detail::cell_ptr(cell_), to, delay,
                                         duration::zero(), std::move(m)));
    }
    /// Sends `m` to `to` every `interval`. Cancelled when this actor stops
    /// or restarts. Fails with `invalid_argument` unless `interval > 0`.
    template <class P, class M>
    requires protocol_accepts_v<P, M> expected<timer_handle> periodic_tell(const actor_ref<P>& to,
                                                                           duration interval, M m) {
        if (interval <= duration::zero()) {
            return fail(errc::invalid_argument, "a periodic interval must be positive");
        }
        return track(detail::start_timer(cell_->sys().clk(), detail::cell_ptr(cell_), to, interval,
                                         interval, std::move(m)));
    }

    /// `co_await send(to, m)`: like `tell`, but when the receiver's policy is
    /// `suspend` or `block` and its mailbox is full, this actor's task
    /// suspends (its worker moves on) until there is room. Completes with the
    /// send result, or `cancelled` if this actor is cancelled meanwhile.
    template <class P, class M>
    requires protocol_accepts_v<P, M> detail::send_awaiter send(const actor_ref<P>& to, M&& m) {
        auto* e = new detail::user_envelope<P>(std::forward<M>(m));
        e->trace_id = detail::outgoing_trace_id(); // as tell: a trace_scope first
        return detail::send_awaiter(to.cell(), e);
    }
    /// Keeps the message being handled in this actor's stash instead of
    /// handling it now: no reply is sent (an ask stays pending and is
    /// answered when the message is handled after `unstash_all`, within its
    /// own deadline), and it is not counted as processed: stashed messages
    /// count as `queued`. Works in handlers that answer by returning (`void`
    /// or the reply); a coroutine handler or one that takes a
    /// `response_promise` (which waits by keeping the promise) gets
    /// `invalid_argument`, as does a second call for the same message or a
    /// call outside a user-message handler. The stash holds at most
    /// `spawn_options::stash_capacity` messages: beyond, it fails with
    /// `stash_full` and the message becomes a dead letter (`stash_full`,
    /// counted as `dead_lettered`; an asker gets `stash_full`). A handler
    /// that throws after stashing takes it back: the message fails as
    /// `handler_failed`. A restart in place replays the stash to the new
    /// incarnation, first (as Akka's stash does); at termination the stashed
    /// messages become dead letters (`receiver_down`).
    [[nodiscard]] expected<void> stash() { return cell_->stash_current(); }
    /// Puts every stashed message in front of the mailbox, in the order they
    /// were stashed and before messages that arrive later (and before those
    /// an earlier `unstash_all` put there and not yet handled).
    void unstash_all() { cell_->unstash_all(); }
    /// Messages in the stash now.
    [[nodiscard]] std::size_t stash_size() const noexcept { return cell_->stash_size(); }
    /// Behaviours installed by `become` (0: the class's handlers).
    [[nodiscard]] std::size_t behavior_depth() const noexcept { return cell_->behavior_depth(); }

    /// `co_await sleep(d)`: suspends this actor's task for `d` (cancellable).
    [[nodiscard]] detail::sleep_awaiter sleep(duration d) { return detail::sleep_awaiter(d); }

    /// @private runtime
    [[nodiscard]] detail::cell& cell() const noexcept { return *cell_; }

protected:
    actor_base();

    // ---- for supervisors: control of this actor's own children ----------------
    // Each takes effect on the child's turn; a non-child is ignored.

    /// From now on, a child that stops other than by this actor's request
    /// (it stops itself, someone else stops or kills it, a linked peer
    /// fails) does not terminate: it waits, failed, and `on_child_failed`
    /// decides (a normal exit arrives with `errc::none`). Supervisors use it
    /// to restart permanent children in place.
    void decide_child_exits() noexcept { cell_->decide_child_exits(); }
    /// Stops `child` as the parent: children first, each under its shutdown
    /// timeout, then `on_stop`; it terminates with `cause`.
    void stop_child(const actor_addr& child, error cause = {});
    /// Tears `child` down in place (its children, `on_stop`, behaviour) and
    /// builds its behaviour again; its mailbox and every ref stay valid.
    void restart_child(const actor_addr& child, error cause);
    /// A failed `child` goes on with its next message, state kept.
    void resume_child(const actor_addr& child);
    /// Group restart: halts `children` (given in start order) newest first,
    /// each under its shutdown timeout (an overrun is torn down without
    /// `on_stop`), then starts them again in start order, each after the
    /// previous one's `on_start` returned. Requests queue: one group at a time.
    void restart_children(const std::vector<actor_addr>& children, error cause);

private:
    timer_handle track(timer_handle h) {
        cell_->track_timer(h.control());
        return h;
    }
    detail::cell* cell_; // the cell that owns *this; outlives it
};

/// Base of a class-based actor speaking `Protocol` (a message type or a
/// `std::variant` of message types). Handlers are overloads
/// `void on(Msg&)`, `R on(Msg&)` for a message with `reply_type` R, or
/// coroutines returning `task<>` / `task<R>`.
///
/// **Behaviour switching** (Akka's `become`, CAF's `become(keep_behavior,
/// ...)`): `become(behavior<Protocol>{lambdas...})` installs handlers that
/// take over from the class's `on` overloads for the message types they
/// cover; the others still reach the class handlers (a typed protocol has
/// no "unhandled"; to ignore a type in a state, give it an empty handler, to
/// defer it, one that calls `stash()`). `become_mode::replace` (the
/// default) discards the current behaviour; `become_mode::stack` keeps it
/// below, up to `max_behavior_depth` (16) behaviours, and `unbecome()` pops
/// back (to the class handlers when none is left). A restart in place
/// clears the stack: the new incarnation starts with its class handlers.
/// Own turn only, like every context operation.
template <class Protocol>
class actor : public actor_base {
public:
    using protocol = Protocol;
    /// A typed ref to this actor.
    [[nodiscard]] actor_ref<Protocol> self() const {
        return actor_ref<Protocol>(detail::cell_ptr(&cell()));
    }

    /// Switches to `b` from the next message on (see above); with
    /// `unstash::all`, then replays the stash. Fails with `invalid_argument`
    /// for an empty (moved-from) behaviour, or a stacked one past
    /// `max_behavior_depth`: the current behaviour and the stash then stay.
    expected<void> become(behavior<Protocol> b, become_mode mode = become_mode::replace,
                          unstash u = unstash::none) {
        auto ok = cell().install_behavior(
            std::move(b).release(), mode == become_mode::stack ? detail::behavior_change::push
                                                               : detail::behavior_change::replace);
        if (ok && u == unstash::all) {
            unstash_all();
        }
        return ok;
    }
    /// Comes back to the behaviour below the current one (the class's
    /// handlers when none is left; nothing happens when none is installed);
    /// with `unstash::all`, then replays the stash.
    void unbecome(unstash u = unstash::none) {
        cell().restore_behavior();
        if (u == unstash::all) {
            unstash_all();
        }
    }
};

} // namespace troupe
