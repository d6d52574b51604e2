// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/mailbox/mailbox.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <typeinfo>

namespace troupe {
class actor_base;
struct actor_counters;
} // namespace troupe

namespace troupe::detail {

class system_core;
struct cell_extras;
struct cell_options;
struct cell_stats;
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

/// The runtime part of an actor: mailbox, lifecycle, tree links, counters.
/// One allocation per actor together with the behaviour (`cell_impl<Impl>`).
///
/// **Threading:** `enqueue_*`, refcounting, `addr`-level getters and counters
/// from any thread; everything else runs on the actor's own turn (one worker at
/// a time, handed over through the mailbox's release/acquire).
class cell {
public:
    cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name);
    cell(const cell&) = delete;
    cell& operator=(const cell&) = delete;
    virtual ~cell();

    // ---- any thread ---------------------------------------------------------

    /// Sends a user message; always takes ownership of `e`. On refusal the
    /// envelope is failed and destroyed (or dead-lettered) here.
    send_result enqueue_user(envelope* e) noexcept;
    /// Sends a system message; never refused for capacity. If the actor has
    /// terminated, the message is answered as a dead actor would (e.g. a
    /// monitor request is answered with `down`).
    void enqueue_system(system_envelope* e) noexcept;
    /// Convenience: `enqueue_system(new system_envelope(k, cause, other))`.
    void post(sys_kind k, error cause = {}, cell_ptr other = {});

    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    [[nodiscard]] std::string path() const;
    [[nodiscard]] std::string name() const;
    [[nodiscard]] cell* parent() const noexcept { return parent_.get(); }
    [[nodiscard]] system_core& sys() const noexcept { return sys_; }
    [[nodiscard]] bool is_terminated() const noexcept {
        return terminated_.load(std::memory_order_acquire); // pairs with finish()
    }
    [[nodiscard]] const mailbox& box() const noexcept { return mailbox_; }
    /// The protocol (message type) this actor speaks.
    [[nodiscard]] virtual const std::type_info& protocol() const noexcept = 0;
    /// The exit cause; meaningful once `is_terminated()`.
    [[nodiscard]] error exit_cause() const;
    void counters(actor_counters& out) const noexcept;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept;

    // ---- the actor's own turn -------------------------------------------------

    /// Runs up to `budget` user messages (0: the actor's throughput setting);
    /// system messages first, always.
    resume_result resume(std::uint32_t budget = 0) noexcept;

    /// Spawning: links `child` into this cell's children (newest last) and
    /// schedules it. Returns false if this cell no longer takes children.
    bool adopt(cell* child) noexcept;
    /// Starts a freshly constructed cell (schedules its first turn).
    void start() noexcept;

    // Context operations for the behaviour (own turn only).
    void request_stop(error cause);
    std::stop_token stop_token();
    [[nodiscard]] const error& stop_cause() const noexcept;
    void monitor(cell* target);
    void demonitor(cell* target);
    void link(cell* peer);
    void unlink(cell* peer);
    void track_timer(const std::shared_ptr<timer_control>& t);
    void set_idle_timeout(duration d);

    /// Registers the awaitable the current coroutine is suspended on; returns
    /// the generation a later `wake` must carry.
    std::uint64_t set_awaiter(awaiter_base* a) noexcept;
    /// Posts a wake for generation `gen` (any thread).
    void wake(std::uint64_t gen);
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
    [[nodiscard]] bool traps_exits() const noexcept;

    /// A coroutine handler is running: `h` is its top frame; `finish` is
    /// called on the actor's turn once it completed (to reply and destroy).
    struct pending_task {
        std::coroutine_handle<> handle;
        void (*complete)(std::coroutine_handle<>, void* reply) = nullptr;
        void* reply = nullptr; // ask state, owned reference
    };
    void begin_task(pending_task t);

protected:
    /// Handles one user message (behaviour-specific, typed).
    virtual void dispatch(envelope& e) = 0;
    /// (Re)constructs the behaviour; returns it.
    virtual actor_base* construct_behaviour() = 0;
    /// Destroys the behaviour (its state, refs it holds, etc.).
    virtual void destroy_behaviour() noexcept = 0;

private:
    friend class system_core;
    enum class state : std::uint8_t { fresh, running, failed, stopping, restarting, terminated };

    cell_extras& extras();
    void handle_system(system_envelope& e);
    void handle_user(envelope* e);
    void intercept_user(envelope* e);
    void deliver_user(envelope* e, bool twice);
    void run_start();
    void fail_actor(error cause, envelope* failed_message);
    void cancel_tree(const error& cause);
    void signal_cancel(const error& cause);
    void begin_stop(error cause, state next);
    void stop_next_child();
    void child_gone(cell* child, const error& cause);
    void finish(error cause, bool run_on_stop);
    void complete_task();
    void drop_task(const error& cause) noexcept;
    void cancel_awaiter(const error& cause);
    void after_task_step();
    void on_space_freed(bool all) noexcept;
    send_result overflow(envelope* e) noexcept;
    /// Finishes a push: schedules on an idle->busy transition, dead-letters
    /// on `closed`, applies the policy on `full`. Takes `e`.
    send_result settle(push_result r, envelope* e) noexcept;
    send_result block_until_space(envelope* e) noexcept;
    void dead_letter(envelope* e, dead_letter_reason reason) noexcept;
    void restart_behaviour(error cause);
    void abandon(error cause) noexcept;
    void arm_idle(time_point at);
    void reply_dead(system_envelope* e) noexcept;
    cell_stats& stats() noexcept;
    [[nodiscard]] bool user_paused() const noexcept;

    // Layout note: an idle actor's whole cost is this object plus its
    // behaviour (bench: spawn/100000, bytes_per_actor), so rare state lives
    // behind `options_`, `extras_` and `stats_`.
    system_core& sys_;                   // owns the tree; outlives every cell
    cell_ptr parent_;                    // immutable; keeps the parent's shell alive
    std::atomic<std::uint32_t> refs_{1}; // the initial reference is the "alive" one
    state state_ = state::fresh;         // own turn only
    bool cancelled_ = false;             // own turn only
    overflow_policy policy_;             // immutable
    bool accepting_children_ = true;     // guarded like the children list
    std::uint16_t throughput_;           // immutable
    std::atomic<bool> terminated_{false};
    std::uint64_t id_; // immutable
    mailbox mailbox_;
    actor_base* behaviour_ = nullptr;     // own turn only (lives in cell_impl storage)
    std::unique_ptr<cell_extras> extras_; // own turn only, lazily created

    // Children: an intrusive list, newest first; guarded by the system's
    // striped lock for this cell (spawns may come from any thread).
    cell* first_child_ = nullptr;
    cell* prev_sibling_ = nullptr;
    cell* next_sibling_ = nullptr;

    // Name and non-default spawn options (overflow settings and waiters,
    // shutdown timeout, interceptor, trap_exits); null when all are default.
    std::unique_ptr<cell_options> options_;
    // Counters of rare outcomes and the exit cause; installed on first use.
    std::atomic<cell_stats*> stats_{nullptr};
    std::atomic<std::uint64_t> processed_{0}; // statistic; single writer: this actor
};

/// Thread-local context of the running actor (null outside handlers).
struct thread_context {
    cell* current = nullptr;
    std::uint64_t trace = 0; // trace id of the message the current actor handles
    void* worker = nullptr;  // non-null on scheduler worker threads
    const void* scheduler = nullptr;
};
thread_context& this_thread_context() noexcept;

inline void intrusive_ptr_add_ref(cell* c) noexcept { c->add_ref(); }
inline void intrusive_ptr_release(cell* c) noexcept { c->release(); }

} // namespace troupe::detail
