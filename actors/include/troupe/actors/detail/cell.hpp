// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/actor_info.hpp>
#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/child_list.hpp>
#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/detail/unique_function.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/mailbox/mailbox.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <typeinfo>
#include <vector>

namespace troupe {
class actor_base;
struct actor_counters;
} // namespace troupe

namespace troupe::detail {

class system_core;
struct cell_extras;
struct cell_options;
struct cell_shared;
struct timer_control;

/// What a worker should do with a cell after `resume`.
enum class resume_result : std::uint8_t {
    idle,  ///< nothing to do; a later push reschedules it
    again, ///< budget used up with work left: requeue (behind others)
    done,  ///< terminated; the worker must not touch it again
};

/// A troupe awaitable suspended inside a handler. The cell calls back on the
/// actor's own turn: `on_wake` when the awaited thing completed, `on_cancel`
/// when the actor is cancelled or stopped. Either one resumes the coroutine.
struct awaiter_base {
    virtual void on_wake() = 0;
    virtual void on_cancel(const error& cause) = 0;

protected:
    ~awaiter_base() = default;
};

/// A coroutine handler in progress: `handle` is its top frame; `complete` is
/// called on the actor's turn once it finished (to reply, then destroy).
struct pending_task {
    std::coroutine_handle<> handle;
    void (*complete)(std::coroutine_handle<>, void* reply) = nullptr;
    void* reply = nullptr; // ask state, owned reference
};

/// A behaviour installed by `become`: handlers for some of the protocol's
/// message types. `dispatch` runs the handler of `e`'s type and returns true,
/// or returns false when it has none (then the class's handlers run).
struct behavior_base {
    behavior_base() = default;
    behavior_base(const behavior_base&) = delete;
    behavior_base& operator=(const behavior_base&) = delete;
    virtual ~behavior_base() = default;
    virtual bool dispatch(cell& c, envelope& e) = 0;
};

/// How `cell::install_behavior` changes the behaviour stack.
enum class behavior_change : std::uint8_t {
    replace, ///< the new behaviour replaces the top (or becomes the only one)
    push,    ///< the new behaviour goes on top; `restore_behavior` comes back
};

/// Most behaviours a stack holds (`become_mode::stack`).
inline constexpr std::size_t max_behavior_depth = 16;

/// Whether a teardown runs the behaviour's `on_stop`.
enum class run_on_stop : std::uint8_t { no, yes };

/// The runtime part of an actor: mailbox, lifecycle, tree links, counters.
/// One allocation per actor together with the behaviour (`cell_impl<Impl>`).
/// The cell coordinates; each job lives in its own file (actors/src/):
/// `cell_send.cpp` (send side, overflow), `cell.cpp` (identity, the turn),
/// `cell_system.cpp` (system messages: the table below), `cell_failure.cpp`
/// (failures and the parent's decisions), `cell_stop.cpp` (ordered stop,
/// restarts, termination), `cell_group.cpp` (group restarts),
/// `cell_intercept.cpp` (interceptors), `cell_behavior.cpp` (become and the
/// stash), with the leaf classes `child_list`, `sender_waitlist`,
/// `task_slot`, `exit_observers`, `actor_timers` and `message_stash`.
///
/// ## Lifecycle
///
/// States: **fresh** (built, first turn not run), **running**, **failed**
/// (a handler threw, or a supervised exit: waiting for the parent's decision,
/// possibly through a backoff; user messages wait), **stopping** (stopping
/// its children newest first, then itself), **restarting** (tearing down in
/// place: children, `on_stop`, behaviour; mailbox and refs stay), **halted**
/// (torn down in place, waiting for `start`: the middle of a group restart),
/// **terminated** (mailbox closed; refs reach dead letters).
///
/// | system message | fresh / running | failed | stopping | restarting | halted | terminated |
/// |---|---|---|---|---|---|---|
/// | stop(cause, origin) | stop¹ | stop¹ | ignored | becomes a stop | stop | answered dead² |
/// | kill(cause, origin) | terminate `killed` at once, children killed, no `on_stop`⁵ | same | same | same | same | answered dead |
/// | cancel(cause) | token, awaiter, children cancelled | same | same | same | ignored | ignored |
/// | restart(cause) | tear down, start again⁶ | same | ignored | ignored | start⁶ | ignored |
/// | halt(cause, brutal) | tear down, → halted, tell parent | same | ignored | → halted at the end | tell parent | ignored |
/// | start | ignored | ignored | ignored | start at the end | start, tell parent | ignored |
/// | resume | ignored | → running | ignored | ignored | ignored | ignored |
/// | child_failed(child) | parent decides³ | child stopped | child stopped | child stopped | child stopped | answered dead |
/// | child_exited(child) | unlisted; next of an ordered stop or group job | same | same | same | same | ignored |
/// | child_halted / child_started | next of the group job | same | same | same | same | ignored |
/// | monitor / link | observer added | same | same | same | same | down / exit at once² |
/// | demonitor / unlink | observer removed | same | same | same | same | ignored |
/// | down / exit_signal | `on_down` / trap⁴ | same (the behaviour is kept) | same | ignored | ignored | ignored |
/// | wake(gen) | resumes the awaiter of that generation | same | same | same | ignored | ignored |
/// | idle_timeout(gen) | `on_idle` (running only) | ignored | ignored | ignored | ignored | ignored |
/// | call(fn) | `fn()` | same | same | same | same | ignored |
/// | continuation(id) | runs that `then` continuation⁷ | same | same | ignored | ignored | ignored |
///
/// 1. Stop: the stop token is signalled when the stop is *requested*
///    (`request_stop`, any thread). A stop from the parent (origin `parent`)
///    is the parent's business: children newest first, each under its
///    shutdown timeout (overrun: killed, exit cause `killed` <- `timeout`),
///    then `on_stop`, then terminate. Any other stop (the actor's own, a
///    third party's, a linked exit) of a child whose parent decides exits
///    (supervisors) is turned into a failure report instead (→ failed, the
///    parent decides: restart in place, stop, ...); otherwise as from the
///    parent.
/// 2. A request that finds the actor terminated is answered as a dead actor
///    would: monitor → `down` with the exit cause, link → exit signal with
///    the exit cause, child_failed → the child is stopped.
/// 3. `on_child_failed` decides: stop, restart, resume, escalate or defer
///    (the parent acts later). Escalating (or throwing from it) stops the
///    child and fails this actor as an Erlang/OTP supervisor that gives up:
///    → failed at once, its other children stop newest first, each under its
///    shutdown timeout, and only then is its parent told (so the parent
///    never rules on it while its children still run).
/// 4. Exit signal of a linked peer: with `trap_exits`, `on_exit` for every
///    cause, normal ones included; without, a non-normal cause stops this
///    actor with `linked_exit` (normal ones are ignored).
/// 5. A kill is a flag checked before every system message, so it overtakes
///    whatever was queued before it (the `kill` message only wakes the
///    actor). Not from the parent, for a child whose parent decides exits:
///    torn down at once (children killed, no `on_stop`), then failed with
///    `killed` for the parent to decide (a restart builds it anew).
/// 6. A restart in place keeps the actor's identity: its mailbox, refs and
///    the monitors others hold on it stay; the links of the old incarnation
///    are broken on both sides (as a restarted Erlang process has none).
///    The behaviours `become` installed go; the stash is replayed to the new
///    incarnation before the mailbox (at termination it is dead-lettered).
/// 7. A continuation (`ask(...).then`) belongs to the behaviour that asked:
///    a teardown (restart, halt, termination) drops the ones still pending,
///    so a reply never reaches a later incarnation.
///
/// **Threading:** `enqueue_*`, `request_stop`, `request_kill`, refcounting,
/// identity getters and counters from any thread; everything else runs on the
/// actor's own turn (one worker at a time, handed over through the mailbox's
/// release/acquire).
class cell {
public:
    cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name);
    cell(const cell&) = delete;
    cell& operator=(const cell&) = delete;
    virtual ~cell();

    // ---- any thread ---------------------------------------------------------

    /// Sends a user message; always takes ownership of `e`. On refusal the
    /// envelope is failed and destroyed (or dead-lettered) here. Counted in
    /// `sent` (see `counters` for the accounting).
    send_result enqueue_user(envelope* e) noexcept;
    /// As `enqueue_user` for a message this actor already counted as sent
    /// (an interceptor's held message going back to the queue).
    send_result requeue_user(envelope* e) noexcept;
    /// A send given up before its message was placed (a `co_await send`
    /// cancelled or abandoned): counted as sent and rejected.
    void count_abandoned_send() noexcept;
    /// Sends a system message; never refused for capacity. If the actor has
    /// terminated, the request is answered as a dead actor would (see the
    /// table) and `e` is destroyed.
    void enqueue_system(system_envelope* e) noexcept;
    /// Convenience: `enqueue_system(new system_envelope(k, cause, other))`.
    void post(sys_kind k, error cause = {}, cell_ptr other = {});
    /// Requests a stop: signals the stop token now (on this thread) and
    /// queues the stop. The first cause requested is the one that sticks.
    void request_stop(error cause, stop_origin origin);
    /// Requests a kill: it overtakes everything still queued (a pending
    /// stop included), so the exit cause is `killed` <- `cause`. A kill not
    /// from the parent, of a child whose parent decides exits, tears it down
    /// without `on_stop` and reports it as a failure instead.
    void request_kill(error cause, stop_origin origin);
    /// As `request_kill`, but the actor is torn down in place (no `on_stop`)
    /// and halts instead of terminating: a group-restart member that overran
    /// its shutdown timeout.
    void request_kill_in_place(error cause);
    /// Signals the stop token with `cause` (the first cause sticks) without
    /// queuing anything: the parent's stop reaching its children at once.
    void signal_stop(const error& cause);
    /// Posts a wake for generation `gen`.
    void wake(std::uint64_t gen);
    /// Posts `continuation(ticket)`: the ask that `add_continuation`
    /// returned `ticket` for has completed.
    void post_continuation(continuation_ticket ticket);
    /// Own turn: keeps `f` until `continuation(ticket)` arrives (then it runs
    /// on this actor's turn) or the behaviour is torn down (then it is
    /// dropped). Tickets never repeat within the cell's life.
    continuation_ticket add_continuation(unique_function f);

    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    /// Full path (`/user/a/b`); built iteratively, whatever the depth.
    [[nodiscard]] std::string path() const;
    [[nodiscard]] std::string name() const;
    [[nodiscard]] cell* parent() const noexcept { return parent_.get(); }
    [[nodiscard]] system_core& sys() const noexcept { return sys_; }
    [[nodiscard]] bool is_terminated() const noexcept {
        return terminated_.load(std::memory_order_acquire); // pairs with terminate()
    }
    [[nodiscard]] const mailbox& box() const noexcept { return mailbox_; }
    /// The protocol (message type) this actor speaks.
    [[nodiscard]] virtual const std::type_info& protocol() const noexcept = 0;
    /// The behaviour's type, demangled; valid for the life of the process.
    [[nodiscard]] virtual std::string_view behaviour_name() const noexcept = 0;
    /// Its lifecycle state as tooling sees it (a relaxed snapshot).
    [[nodiscard]] actor_state observed_state() const noexcept;
    /// Restarts in place so far (a statistic).
    [[nodiscard]] std::uint32_t restarts() const noexcept;
    /// The parent deferred its decision about this failed child (on the
    /// parent's turn); cleared when the child fails anew.
    void mark_deferred() noexcept;
    /// The exit cause; meaningful once `is_terminated()`.
    [[nodiscard]] error exit_cause() const;
    /// A snapshot of the counters in which the identity of
    /// `actor_counters` holds exactly, whatever runs concurrently. How:
    /// - every message adds to `sent_` (its sender, before the push) before
    ///   it enters any bucket; `queued` is not counted but is what remains,
    ///   `sent` minus the other buckets;
    /// - every move is one visible step: from the queue (or a sender) into a
    ///   bucket, one release RMW or store; out of flight into dropped,
    ///   dead_lettered or back to queued, a seqlock write section of the
    ///   actor's own (`cell_shared::flight_seq`) around `handled_` and the
    ///   flight buckets; processed and in flight share `handled_`;
    /// - the snapshot reads the buckets (acquire), then `sent_`, then the
    ///   buckets again: a message seen in a bucket is seen sent, and never in
    ///   two. Equal reads mean nothing moved meanwhile, so every value is
    ///   the one of the instant `sent_` was read. After 16 unequal tries the
    ///   last one stands: still balanced and never negative, with `queued`
    ///   including what moved while it read.
    /// Cost on the hot path: one relaxed RMW on `sent_` per send (on the
    /// sender's side, beside the mailbox's producer counters) and one
    /// release store per take and per finish (plain stores on x86).
    void counters(actor_counters& out) const noexcept;
    /// Why a stop was requested (`errc::none` while none was): readable on
    /// any thread once the stop token is signalled.
    [[nodiscard]] error requested_stop_cause() const;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    /// Drops a reference; the last one frees the cell, then drops the cell's
    /// reference to its parent the same way (a loop, not a recursion, so a
    /// chain of 100,000 nested actors unwinds on a small stack).
    void release() noexcept;

    // ---- the actor's own turn -------------------------------------------------

    /// Runs up to `budget` user messages (0: the actor's throughput setting);
    /// system messages first, always.
    resume_result resume(std::uint32_t budget = 0) noexcept;

    /// Spawning (any thread): lists `child` as this cell's newest child and
    /// starts it. If this cell no longer takes children (stopping, or gone)
    /// or the child's name is taken, `child` terminates at once with that
    /// cause instead. Returns whether it was adopted.
    bool adopt(cell* child) noexcept;
    /// Terminates a cell that was never adopted (its spawn was refused) with
    /// `cause`; drops the alive reference.
    void refuse(error cause) noexcept;

    // Context operations for the behaviour (own turn only).
    std::stop_token stop_token();
    [[nodiscard]] const error& stop_cause() const noexcept;
    void monitor(const cell_ptr& target);
    void demonitor(const cell_ptr& target);
    void link(const cell_ptr& peer);
    void unlink(const cell_ptr& peer);
    void track_timer(std::shared_ptr<timer_control> t);
    void set_idle_timeout(duration d);
    /// Children whose stop was not requested by this actor are reported to
    /// it as failures (see the table) instead of terminating.
    void decide_child_exits() noexcept {
        decides_child_exits_.store(true, std::memory_order_relaxed); // read at the child's exit
    }
    /// Group restart (one_for_all / rest_for_one): halts `members` (start
    /// order) newest first, each under its shutdown timeout, then starts them
    /// in start order, each after the previous one's `on_start` ran.
    void restart_children(std::vector<cell_ptr> members, error cause);

    /// Registers the awaitable the current coroutine is suspended on; returns
    /// the generation a later `wake` must carry.
    std::uint64_t set_awaiter(awaiter_base* a) noexcept;
    /// Pushes `e` without applying the overflow policy: returns false (and
    /// keeps `e` with the caller) if the user lane is full; otherwise takes
    /// `e` and sets `result` (accepted, or `receiver_down`).
    bool try_send(envelope* e, send_result& result) noexcept;
    /// For `co_await send`: sends `e`, or (policies suspend/block, full)
    /// registers `waiter`/`gen` for a wake and leaves `e` with the caller,
    /// setting `waiting`. Takes `e` (sets it null) in every other case.
    send_result send_or_wait(envelope*& e, cell* waiter, std::uint64_t gen, bool& waiting) noexcept;
    [[nodiscard]] bool is_cancelled() const noexcept { return cancelled_; }
    [[nodiscard]] actor_base* behaviour() const noexcept { return behaviour_; }
    [[nodiscard]] bool traps_exits() const noexcept { return has(flag::traps_exits); }
    /// Starts a coroutine handler: runs it to its first suspension.
    void begin_task(pending_task t);
    /// Makes `e` a dead letter of this actor (counted; an ask fails).
    void dead_letter_message(envelope* e, dead_letter_reason reason) noexcept;

    // Behaviour switching and the stash (own turn; cell_behavior.cpp).

    /// The behaviour `become` installed, or null: the class's handlers.
    /// Behaviours replaced or popped while one of their handlers may still
    /// run are destroyed here, at the next message.
    [[nodiscard]] behavior_base* current_behavior() { return extras_ ? top_behavior() : nullptr; }
    /// Fails with `invalid_argument` for a null behaviour or a push past
    /// `max_behavior_depth` (the stack is unchanged).
    expected<void> install_behavior(std::unique_ptr<behavior_base> b, behavior_change how);
    /// Pops the top behaviour (none left: the class's handlers); no-op if
    /// the stack is empty.
    void restore_behavior();
    [[nodiscard]] std::size_t behavior_depth() const noexcept;
    /// Keeps the message being handled in the stash (see `actor_base::stash`).
    expected<void> stash_current();
    /// Puts the stash in front of the user lane, oldest first.
    void unstash_all();
    [[nodiscard]] std::size_t stash_size() const noexcept;

    /// The links this cell keeps in its parent's `child_list`.
    sibling_links<cell> siblings; // guarded by the parent's tree lock
    /// The next cell in its bucket of the system's id index.
    cell* id_next = nullptr; // guarded by that index shard's lock
    /// This cell's children. @pre the caller holds this cell's tree lock.
    [[nodiscard]] const child_list<cell>& children() const noexcept { return children_; }

protected:
    /// Handles one user message (behaviour-specific, typed).
    virtual void dispatch(envelope& e) = 0;
    /// (Re)constructs the behaviour; returns it.
    virtual actor_base* construct_behaviour() = 0;
    /// Destroys the behaviour (its state, refs it holds, etc.).
    virtual void destroy_behaviour() noexcept = 0;

private:
    friend class system_core;
    enum class state : std::uint8_t {
        fresh,
        running,
        failed,
        stopping,
        restarting,
        halted,
        terminated
    };
    /// Own-turn bits, kept on the consumer's cache line.
    enum class flag : std::uint8_t {
        task_running = 1,          // a coroutine handler is in progress: user lane paused
        intercepts = 2,            // an interceptor sees every user message (immutable)
        stamps_activity = 4,       // an idle timeout is armed: user messages stamp the time
        traps_exits = 8,           // immutable
        start_after_teardown = 16, // a `start` arrived while tearing down for a halt
        halt_after_teardown = 32,  // the teardown in progress ends halted, not rebuilt
        escalating = 64,           // failed by escalating: children stop, then the parent hears
        replaying = 128,           // unstashed messages come before the user lane
    };
    [[nodiscard]] bool has(flag f) const noexcept {
        return (flags_ & static_cast<std::uint8_t>(f)) != 0;
    }
    void set(flag f, bool on) noexcept {
        flags_ = on ? (flags_ | static_cast<std::uint8_t>(f))
                    : (flags_ & static_cast<std::uint8_t>(~static_cast<std::uint8_t>(f)));
    }

    enum class teardown_end : std::uint8_t { rebuild, halt };

    /// The lifecycle state: written on the own turn, read there and by
    /// tooling on any thread (`observed_state`). relaxed: a snapshot; the
    /// own turn is its only writer and needs no ordering from it.
    class state_word {
    public:
        explicit state_word(state s) noexcept : v_(s) {}
        // NOLINTNEXTLINE(google-explicit-constructor): reads like the plain enum it replaced
        operator state() const noexcept { return v_.load(std::memory_order_relaxed); }
        state_word& operator=(state s) noexcept {
            v_.store(s, std::memory_order_relaxed);
            return *this;
        }
        state_word(const state_word&) = delete;
        state_word& operator=(const state_word&) = delete;
        ~state_word() = default;

    private:
        std::atomic<state> v_;
    };

    // cell.cpp: identity, requests, the turn
    cell_extras& extras();
    cell_shared& shared() noexcept;
    [[nodiscard]] cell_shared* shared_if_any() const noexcept;
    void handle_user(envelope* e);
    void deliver_user(envelope* e, int times = 1);
    void apply_requested_kill();
    void run_start();
    [[nodiscard]] bool user_paused() const noexcept;
    void begin_handling() noexcept;  // a message taken from the queue: in flight
    void count_processed() noexcept; // the message in flight was handled
    /// The message in flight leaves it, into `dropped`, `dead_lettered`
    /// (`reason`'s bucket) or, with no reason, back to `queued` (an
    /// interceptor holds it).
    void leave_in_flight(const dead_letter_reason* reason = nullptr) noexcept;
    void count_send() noexcept;   // before a push: the message is sent
    void uncount_send() noexcept; // a refused push whose sender waits for room
    void dead_letter_taken(envelope* e, dead_letter_reason reason) noexcept; // was in flight
    void finish_task_if_done();
    void complete_task();
    void drop_task(const error& cause) noexcept;
    // cell_behavior.cpp
    behavior_base* top_behavior();
    envelope* take_replayed() noexcept;
    void settle_taken_message(envelope* e, std::uint8_t fate);
    void reclaim_stashed(envelope* e) noexcept;
    void reset_behaviors() noexcept;
    void drop_parked() noexcept;
    void cancel_awaiter(const error& cause);
    // cell_intercept.cpp
    void intercept_user(envelope* e);
    // cell_send.cpp: the send side
    send_result place(push_result r, envelope* e) noexcept;
    send_result overflow(envelope* e) noexcept;
    send_result block_until_space(envelope* e) noexcept;
    void dead_letter(envelope* e, dead_letter_reason reason) noexcept; // counted: from the queue
    void publish_dead_letter(envelope* e, dead_letter_reason reason) noexcept; // the sink, the ask
    void answer_as_dead(system_envelope* e) noexcept;
    void wake_waiting_senders() noexcept;     // as many as the freed space warrants
    void wake_all_waiting_senders() noexcept; // stopping, or going idle with waiters
    // cell_system.cpp: the table
    void handle_system(system_envelope& e);
    void handle_halt(system_envelope& e);
    void handle_exit_signal(system_envelope& e);
    [[nodiscard]] bool observes_exits() const noexcept;
    void handle_idle_timeout(std::uint64_t generation);
    void handle_wake(std::uint64_t generation);
    void run_continuation(continuation_ticket ticket);
    // cell_failure.cpp: failures and decisions
    void handle_failure(error cause, envelope* failed_message);
    void enter_failed() noexcept;
    void report_exit_to_parent(error cause);
    void fail_after_children(error cause);
    [[nodiscard]] bool group_will_halt(const cell* child) const noexcept;
    void decide_about_child(system_envelope& e);
    void apply_decision(child_decision d, const cell_ptr& child, const error& cause);
    // cell_stop.cpp: adoption, stop, restarts, termination
    void begin_stop(error cause, stop_origin origin);
    void begin_teardown(error cause, teardown_end end);
    void cancel(const error& cause);
    void start_child_stops(error cause);
    void stop_next_child();
    void on_child_shutdown_overrun(const cell_ptr& child);
    void unlist_child(cell* child);
    void after_children_stopped(error cause);
    void tear_down_behaviour(const error& cause, run_on_stop on_stop);
    void rebuild();
    void enter_halted();
    void halt_brutally(const error& cause);
    // cell_group.cpp: group restarts
    void group_next();
    void on_group_member_overrun(const cell_ptr& member);
    void on_group_member_done(cell* member);
    void drop_group_restarts() noexcept;
    void kill(const error& cause, stop_origin origin);
    void terminate(error cause, run_on_stop on_stop);
    void close_and_account();
    void notify_exit(const error& cause);

    // Layout (200 bytes; a static_assert pins it; `sent_` and `id_next`
    // added 16 to the 184 of before): an idle actor's whole
    // cost is this object plus its behaviour (bench: bytes_per_actor), so
    // rare state lives behind `options_`, `shared_` and `extras_`, and the
    // small fields share one word at the end (its last 2 bytes of padding
    // hold `cell_impl`'s first field). The cell is not cache-line aligned:
    // aligned allocation cost ~150 bytes per actor in malloc's padding
    // (measured: 353 vs 208 bytes per idle actor). The mailbox keeps its
    // producer and consumer counters on separate lines by its own layout
    // instead (see mailbox.hpp), 8 bytes more than when they could share one.
    system_core& sys_;                          // the tree's owner; outlives every cell
    std::unique_ptr<cell_options> options_;     // null when all defaults; immutable
    std::uint64_t id_;                          // immutable
    std::atomic<cell_shared*> shared_{nullptr}; // installed on first use, any thread
    actor_base* behaviour_ = nullptr;           // own turn only (lives in cell_impl storage)
    std::unique_ptr<cell_extras> extras_;       // own turn only, lazily created
    cell_ptr parent_;                           // immutable; keeps the parent's shell alive
    child_list<cell> children_;                 // guarded by this cell's tree lock
    // 2 * processed + in_flight (0 or 1): the handled message and the one in
    // flight in one word, so that move is a single store. Single writer: this
    // actor (release stores; counters() loads with acquire).
    std::atomic<std::uint64_t> handled_{0};
    [[no_unique_address]] mailbox mailbox_; // any tail padding would hold the fields below
    std::atomic<std::uint64_t> sent_{0};    // senders (RMW); beside the mailbox's producer counters
    std::atomic<std::uint32_t> refs_{1};    // the initial reference is the "alive" one
    overflow_policy policy_;                // immutable
    std::atomic<bool> terminated_{false};   // set once, release
    std::uint16_t throughput_;              // immutable
    std::atomic<bool> decides_child_exits_{false}; // set by the behaviour; relaxed
    std::atomic<bool> stop_requested_{false};      // set once per incarnation; see request_stop()
    bool takes_children_ = true;                   // guarded by this cell's tree lock
    state_word state_{state::fresh};               // own turn writes; any thread reads
    bool cancelled_ = false;                       // own turn only
    std::uint8_t flags_ = 0;                       // own turn only (`flag` bits)
};

/// Thread-local context of the running actor (null outside handlers).
struct thread_context {
    cell* current = nullptr;
    std::uint64_t trace = 0; // trace id of the message the current actor handles
    void* worker = nullptr;  // non-null on scheduler worker threads
    const void* scheduler = nullptr;
    /// The user message a handler that answers by returning is handling
    /// (what `stash()` takes); null otherwise (coroutine and promise
    /// handlers, hooks).
    envelope* message = nullptr;
    /// What became of `message` in its handler (`message_fate`).
    std::uint8_t message_fate = 0;
};

/// What a handler did with the message it handles (`thread_context`).
enum class message_fate : std::uint8_t {
    kept = 0,       ///< the normal case: handled, then destroyed
    stashed = 1,    ///< in the stash; no reply now
    stash_full = 2, ///< refused by a full stash: a dead letter after the handler
};
thread_context& this_thread_context() noexcept;
/// True where blocking the thread would stall actors: on a scheduler worker,
/// or inside any actor's turn (also under a custom executor).
[[nodiscard]] inline bool blocking_would_stall() noexcept {
    const thread_context& ctx = this_thread_context();
    return ctx.worker != nullptr || ctx.current != nullptr;
}

inline void intrusive_ptr_add_ref(cell* c) noexcept { c->add_ref(); }
inline void intrusive_ptr_release(cell* c) noexcept { c->release(); }

} // namespace troupe::detail
