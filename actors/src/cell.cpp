// Part of troupe. See LICENSE at the repository root.
//
// The cell as coordinator: construction, identity, references, stop and
// kill requests (any thread), and the turn loop that hands system and user
// messages to the other parts (cell_system.cpp and friends).

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_counters.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_state.hpp"
#include "cell_util.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::detail {

// The size the header states (an idle actor's cost; bench: bytes_per_actor).
static_assert(sizeof(cell) == 200, "update the layout note in cell.hpp");

std::string_view system_envelope::type_name() const noexcept { return "troupe::system_message"; }

thread_context& this_thread_context() noexcept {
    thread_local thread_context ctx;
    return ctx;
}

cell::cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name)
    : sys_(sys), id_(sys.next_id()), parent_(parent),
      // spawn validates the capacity first; a clamp keeps a bad one harmless
      mailbox_(std::clamp<std::uint32_t>(opts.capacity, 1, mailbox::max_capacity),
               opts.policy == overflow_policy::drop_oldest ? mailbox_eviction::allowed
                                                           : mailbox_eviction::none),
      policy_(opts.policy), throughput_(static_cast<std::uint16_t>(
                                std::clamp<std::uint32_t>(opts.throughput, 1, 0xffff))) {
    set(flag::traps_exits, opts.trap_exits);
    set(flag::intercepts, opts.interceptor != nullptr);
    const bool waits = policy_ == overflow_policy::block || policy_ == overflow_policy::suspend ||
                       policy_ == overflow_policy::redirect;
    if (waits || !name.empty() || opts.interceptor || opts.shutdown_timeout != duration::max() ||
        opts.stash_capacity != spawn_options{}.stash_capacity) {
        options_ = std::make_unique<cell_options>();
        options_->name = std::move(name);
        options_->shutdown_timeout = opts.shutdown_timeout;
        options_->interceptor = opts.interceptor;
        options_->block_timeout = opts.block_timeout;
        options_->redirect = cell_ptr(opts.redirect_to.cell());
        options_->stash_capacity = opts.stash_capacity;
    }
}

cell::~cell() {
    // acquire: pairs with the install in shared(); we are the last owner.
    delete shared_.load(std::memory_order_acquire);
}

cell_shared& cell::shared() noexcept {
    // acquire: pairs with the CAS below (another thread's install).
    cell_shared* s = shared_.load(std::memory_order_acquire);
    if (s != nullptr) {
        return *s;
    }
    // NOLINTNEXTLINE(bugprone-unhandled-exception-at-new): noexcept; out of memory terminates
    auto* fresh = new cell_shared();
    // seq_cst: publishes *fresh, and orders the install before the
    // stop_requested_ check in stop_token() (see request_stop()).
    if (shared_.compare_exchange_strong(s, fresh, std::memory_order_seq_cst,
                                        std::memory_order_acquire)) {
        return *fresh;
    }
    delete fresh;
    return *s;
}

cell_shared* cell::shared_if_any() const noexcept {
    return shared_.load(std::memory_order_acquire); // pairs with the install in shared()
}

void cell::release() noexcept {
    // acq_rel: the thread that frees a cell must see every write made by its
    // other owners before they released. A freed cell drops its reference to
    // its parent here, in the loop, instead of recursing through ~cell.
    cell* c = this;
    while (c != nullptr && c->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        cell* parent = c->parent_.detach();
        system_core* owned_core = parent == nullptr ? &c->sys_ : nullptr; // the root owns it
        delete c;
        delete owned_core;
        c = parent;
    }
}

cell_extras& cell::extras() {
    if (!extras_) {
        extras_ = std::make_unique<cell_extras>();
    }
    return *extras_;
}

std::string cell::name() const {
    if (options_ && !options_->name.empty()) {
        return options_->name;
    }
    return "$" + std::to_string(id_);
}

std::string cell::path() const {
    std::vector<const cell*> chain; // this actor up to, not including, the root
    for (const cell* c = this; c->parent_ != nullptr; c = c->parent_.get()) {
        chain.push_back(c);
    }
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        out += '/';
        out += (*it)->name();
    }
    return out;
}

error cell::exit_cause() const {
    if (!is_terminated()) {
        return {};
    }
    const cell_shared* s = shared_if_any(); // written before terminated_
    return s != nullptr && s->exit_cause ? *s->exit_cause : error{};
}

namespace {

/// The buckets a message moves into, as one snapshot reads them.
struct buckets {
    std::uint64_t rejected = 0;
    std::uint64_t dropped = 0;
    std::uint64_t redirected = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t flight_seq = 0;
    std::uint64_t flight_dropped = 0;
    std::uint64_t flight_dead = 0;
    std::uint64_t handled = 0;
    bool operator==(const buckets&) const = default;
};

} // namespace

void cell::counters(actor_counters& out) const noexcept {
    // The buckets first, `sent_` last (the scheme in cell.hpp). Each acquire
    // pairs with the release write of its bucket, so whatever led a message
    // there (its sent_ increment included) is visible to the loads after it;
    // none of them can move before it.
    const auto read = [this] {
        buckets b;
        const cell_shared* s = shared_if_any();
        if (s != nullptr) {
            b.rejected = s->rejected.load(std::memory_order_acquire);
            b.dropped = s->dropped.load(std::memory_order_acquire);
            b.redirected = s->redirected.load(std::memory_order_acquire);
            b.dead_lettered = s->dead_lettered.load(std::memory_order_acquire);
        }
        for (;;) { // the seqlock's read side; its writer sections are a few stores
            if (s != nullptr) {
                b.flight_seq = s->flight_seq.load(std::memory_order_acquire);
                if ((b.flight_seq & 1U) != 0) {
                    continue;
                }
                b.flight_dropped = s->flight_dropped.load(std::memory_order_acquire);
                b.flight_dead = s->flight_dead.load(std::memory_order_acquire);
            }
            b.handled = handled_.load(std::memory_order_acquire);
            // relaxed: ordered after the acquire loads above.
            if (s == nullptr || s->flight_seq.load(std::memory_order_relaxed) == b.flight_seq) {
                return b;
            }
        }
    };
    // The buckets read again after `sent_`: unchanged means no message moved
    // while `sent_` was read, so `queued` is exact for that instant. Equal
    // reads cannot hide a move: every bucket only grows except `handled_`,
    // which shrinks only inside a flight section (and `flight_seq` grows).
    // A few tries; then the last read before `sent_` stands, which still
    // balances (what moved since counts as queued).
    constexpr int tries = 16;
    buckets b = read();
    std::uint64_t sent = 0;
    for (int i = 0; i < tries; ++i) {
        // acquire: the buckets' re-read below must not move before it.
        sent = sent_.load(std::memory_order_acquire);
        const buckets again = read();
        if (again == b) {
            break;
        }
        if (i + 1 < tries) {
            b = again;
        }
    }
    out.rejected = b.rejected;
    out.dropped = b.dropped + b.flight_dropped;
    out.redirected = b.redirected;
    out.dead_lettered = b.dead_lettered + b.flight_dead;
    out.processed = b.handled >> 1U;
    out.in_flight = b.handled & 1U;
    out.sent = sent;
    out.queued = sent - (out.processed + out.in_flight + out.rejected + out.dropped +
                         out.redirected + out.dead_lettered);
}

actor_state cell::observed_state() const noexcept {
    switch (static_cast<state>(state_)) { // no default: -Wswitch flags a new state
    case state::fresh: return actor_state::fresh;
    case state::running: return actor_state::running;
    case state::failed: {
        const cell_shared* s = shared_if_any();
        // relaxed: a snapshot for tooling.
        return s != nullptr && s->deferred.load(std::memory_order_relaxed) ? actor_state::deferred
                                                                           : actor_state::failed;
    }
    case state::stopping: return actor_state::stopping;
    case state::restarting: return actor_state::restarting;
    case state::halted: return actor_state::halted;
    case state::terminated: return actor_state::terminated;
    }
    return actor_state::terminated;
}

std::uint32_t cell::restarts() const noexcept {
    const cell_shared* s = shared_if_any();
    return s != nullptr ? s->restarts.load(std::memory_order_relaxed) : 0; // statistic
}

void cell::mark_deferred() noexcept {
    shared().deferred.store(true, std::memory_order_relaxed); // a hint for tooling
}

error cell::requested_stop_cause() const {
    const cell_shared* s = shared_if_any();
    if (s == nullptr) {
        return {};
    }
    std::lock_guard lock(s->mutex);
    return s->stop_signalled ? s->stop_cause : error{};
}

// ---- stop and kill requests (any thread) -----------------------------------------

void cell::signal_stop(const error& cause) {
    // The token is signalled on the requesting thread. A normal stop of an
    // actor that never asked for its token needs no shared block: one bit
    // says "requested", and stop_token() checks it after installing the
    // block. seq_cst on both sides (the bit here, then the block pointer;
    // the install there, then the bit) means at least one side sees the other.
    const bool first = !stop_requested_.exchange(true, std::memory_order_seq_cst);
    cell_shared* s = cause ? &shared() : shared_.load(std::memory_order_seq_cst);
    if (s == nullptr) {
        return;
    }
    std::lock_guard lock(s->mutex);
    if (!s->stop_signalled && (first || cause)) {
        s->stop_signalled = true;
        s->stop_cause = cause;
    }
    if (s->stop_source) {
        s->stop_source->request_stop();
    }
}

void cell::request_stop(error cause, stop_origin origin) {
    signal_stop(cause);
    auto* e = new system_envelope(sys_kind::stop, std::move(cause));
    e->origin = origin;
    enqueue_system(e);
}

void cell::request_kill(error cause, stop_origin origin) {
    cell_shared& s = shared();
    {
        std::lock_guard lock(s.mutex);
        s.kill_cause = cause;
        s.kill_origin = origin;
    }
    // release: the cause is written before the mode is seen.
    s.kill.store(cell_shared::kill_mode::terminate, std::memory_order_release);
    signal_stop(cause);
    post(sys_kind::kill, std::move(cause));
}

void cell::request_kill_in_place(error cause) {
    cell_shared& s = shared();
    {
        std::lock_guard lock(s.mutex);
        s.kill_cause = cause;
    }
    auto none = cell_shared::kill_mode::none;
    // release: the cause is written before the mode is seen. Never weakens a
    // pending terminating kill.
    s.kill.compare_exchange_strong(none, cell_shared::kill_mode::in_place,
                                   std::memory_order_release, std::memory_order_relaxed);
    auto* e = new system_envelope(sys_kind::halt, std::move(cause));
    e->brutal = true;
    enqueue_system(e);
}

void cell::wake(std::uint64_t gen) {
    auto* e = new system_envelope(sys_kind::wake);
    e->generation = gen;
    enqueue_system(e);
}

void cell::post_continuation(continuation_ticket ticket) {
    auto* e = new system_envelope(sys_kind::continuation);
    e->generation = ticket.seq;
    e->slot = ticket.slot;
    enqueue_system(e);
}

continuation_ticket cell::add_continuation(unique_function f) {
    return extras().continuations.add(std::move(f));
}

// ---- the actor's own turn -----------------------------------------------------------

std::stop_token cell::stop_token() {
    cell_shared& s = shared();
    std::lock_guard lock(s.mutex);
    if (!s.stop_source) {
        s.stop_source.emplace();
        // seq_cst: after the install in shared(); see signal_stop().
        if (s.stop_signalled || stop_requested_.load(std::memory_order_seq_cst)) {
            s.stop_signalled = true;
            s.stop_source->request_stop();
        }
    }
    return s.stop_source->get_token();
}

const error& cell::stop_cause() const noexcept {
    static const error none;
    const cell_shared* s = shared_if_any();
    if (s == nullptr) {
        return none;
    }
    // Immutable once signalled, until a restart resets it on this turn.
    std::lock_guard lock(s->mutex);
    return s->stop_signalled ? s->stop_cause : none;
}

resume_result cell::resume(std::uint32_t budget) noexcept {
    auto& ctx = this_thread_context();
    struct restore_context {
        restore_context(thread_context& c, cell* p, std::uint64_t t) noexcept
            : ctx(c), previous(p), trace(t) {}
        restore_context(const restore_context&) = delete;
        restore_context& operator=(const restore_context&) = delete;
        thread_context& ctx;
        cell* previous;
        std::uint64_t trace;
        ~restore_context() {
            ctx.current = previous;
            ctx.trace = trace;
        }
    } restore{ctx, std::exchange(ctx.current, this), std::exchange(ctx.trace, 0)};

    if (budget == 0) {
        budget = throughput_;
    }
    if (state_ == state::fresh) {
        run_start();
    }
    for (;;) {
        if (state_ == state::terminated) {
            release(); // the alive reference: *this may be gone now
            return resume_result::done;
        }
        mailbox_.fetch();
        if (mailbox_node* n = mailbox_.pop_system()) {
            std::unique_ptr<system_envelope> e(static_cast<system_envelope*>(n));
            try {
                apply_requested_kill(); // a kill overtakes whatever is queued before it
                if (state_ == state::terminated) {
                    answer_as_dead(e.release());
                    continue;
                }
                handle_system(*e);
            } catch (...) {
                handle_failure(internal::error_from_current_exception(), nullptr);
            }
            continue;
        }
        if (user_paused()) {
            if (mailbox_.try_block_ignoring_user()) {
                return resume_result::idle;
            }
            continue;
        }
        if (budget == 0) {
            return resume_result::again;
        }
        if (has(flag::replaying)) [[unlikely]] { // unstashed messages come first
            --budget;
            handle_user(take_replayed());
            continue;
        }
        mailbox_node* u = mailbox_.pop_user();
        if (u == nullptr) {
            // Going idle with senders still waiting (their wakes may have been
            // stale): wake them all rather than leave them stranded.
            if (options_ && options_->waiting_senders.any()) {
                wake_all_waiting_senders();
            }
            if (mailbox_.try_block()) {
                return resume_result::idle;
            }
            continue;
        }
        --budget;
        // After the slot release in pop_user(); any() is seq_cst and pairs
        // with the waiters' registration (sender_waitlist).
        if (options_ && options_->waiting_senders.any()) {
            wake_waiting_senders();
        }
        handle_user(static_cast<envelope*>(u));
    }
}

bool cell::user_paused() const noexcept {
    return state_ != state::running || has(flag::task_running);
}

void cell::run_start() {
    state_ = state::running;
    try {
        behaviour_ = construct_behaviour();
        behaviour_->on_start();
    } catch (...) {
        handle_failure(internal::error_from_current_exception(), nullptr);
    }
}

// handled_ has one writer, this actor: plain load + store. release: pairs
// with the acquire in counters() (a message seen here is seen sent).
void cell::begin_handling() noexcept {
    handled_.store(handled_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void cell::count_processed() noexcept {
    // 2p + 1 -> 2(p + 1): out of flight and processed in one store.
    handled_.store(handled_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void cell::leave_in_flight(const dead_letter_reason* reason) noexcept {
    // A seqlock write section (one writer: this actor), so a snapshot sees
    // the message in flight or in its new bucket, never in both or neither.
    // The data stores are release: none can move before the odd store, and
    // a reader that sees one of them sees the section begun.
    cell_shared& s = shared();
    const std::uint64_t seq = s.flight_seq.load(std::memory_order_relaxed);
    s.flight_seq.store(seq + 1, std::memory_order_relaxed);
    handled_.store(handled_.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    if (reason != nullptr) {
        auto& bucket = internal::is_drop(*reason) ? s.flight_dropped : s.flight_dead;
        bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    s.flight_seq.store(seq + 2, std::memory_order_release); // pairs with counters()' acquire
}

void cell::count_send() noexcept {
    // relaxed: the push that follows (release) carries it to the consumer,
    // and each refusal's bucket increment (release) is sequenced after it.
    sent_.fetch_add(1, std::memory_order_relaxed);
}

void cell::uncount_send() noexcept {
    // relaxed: the message is in no bucket (its sender keeps it and waits).
    sent_.fetch_sub(1, std::memory_order_relaxed);
}

void cell::handle_user(envelope* e) {
    begin_handling();
    this_thread_context().trace = e->trace_id;
    if (has(flag::stamps_activity)) {
        extras_->timers.stamp_activity(sys_.clk().now());
    }
    if (has(flag::intercepts) && (e->owner_flags & internal::redelivered_flag) == 0) [[unlikely]] {
        intercept_user(e);
        return;
    }
    e->owner_flags = 0;
    deliver_user(e);
}

void cell::deliver_user(envelope* e, int times) {
    thread_context& ctx = this_thread_context();
    try {
        ctx.message = e; // what stash() takes
        ctx.message_fate = 0;
        dispatch(*e);
        // Not when a task started (it owns the message), the lane paused, or
        // the handler stashed it.
        if (times == 2 && !user_paused() && ctx.message_fate == 0) {
            ctx.message = e;
            dispatch(*e);
        }
    } catch (...) {
        ctx.message = nullptr;
        if (std::exchange(ctx.message_fate, 0) ==
            static_cast<std::uint8_t>(message_fate::stashed)) {
            reclaim_stashed(e);
        }
        error cause = internal::error_from_current_exception();
        // The asker learns why: types and text (the dead letter then finds
        // its reply completed).
        e->fail(
            internal::handler_failure(cause, internal::current_exception_type(), e->type_name()));
        handle_failure(std::move(cause), e);
        return;
    }
    ctx.message = nullptr;
    if (ctx.message_fate != 0) [[unlikely]] { // stash() took it
        settle_taken_message(e, std::exchange(ctx.message_fate, 0));
        return;
    }
    if (has(flag::task_running) && !extras_->task.has_message()) {
        extras_->task.attach_message(e); // the task's parameters may refer to it
        finish_task_if_done();
        return;
    }
    count_processed();
    delete e;
}

// ---- the coroutine handler in progress ------------------------------------------------

void cell::begin_task(pending_task t) {
    extras().task.begin(t);
    set(flag::task_running, true);
    t.handle.resume(); // runs until its first suspension or the end
}

std::uint64_t cell::set_awaiter(awaiter_base* a) noexcept { return extras().task.set_awaiter(a); }

void cell::finish_task_if_done() {
    if (has(flag::task_running) && extras_->task.is_finished()) {
        complete_task();
    }
}

void cell::complete_task() {
    auto [t, e] = extras_->task.take();
    set(flag::task_running, false);
    struct cleanup {
        explicit cleanup(pending_task& task) noexcept : t(task) {}
        cleanup(const cleanup&) = delete;
        cleanup& operator=(const cleanup&) = delete;
        pending_task& t;
        ~cleanup() {
            t.handle.destroy();
            if (t.reply != nullptr) {
                static_cast<ask_state_base*>(t.reply)->release();
            }
        }
    } guard{t};
    try {
        t.complete(t.handle, t.reply);
    } catch (...) {
        error cause = internal::error_from_current_exception();
        if (t.reply != nullptr) {
            static_cast<ask_state_base*>(t.reply)->fail(
                internal::handler_failure(cause, internal::current_exception_type(),
                                          e ? e->type_name() : std::string_view("a message")));
        }
        handle_failure(std::move(cause), e.release());
        return;
    }
    count_processed();
}

void cell::drop_task(const error& cause) noexcept {
    if (!has(flag::task_running)) {
        return;
    }
    auto [t, e] = extras_->task.take();
    set(flag::task_running, false);
    t.handle.destroy();
    if (t.reply != nullptr) {
        auto* s = static_cast<ask_state_base*>(t.reply);
        s->fail(error{errc::cancelled, "the handler's task was abandoned", cause});
        s->release();
    }
    if (e) {
        dead_letter_taken(e.release(), dead_letter_reason::receiver_down);
    }
}

void cell::cancel_awaiter(const error& cause) {
    if (!has(flag::task_running)) {
        return;
    }
    if (awaiter_base* a = extras_->task.take_awaiter()) {
        a->on_cancel(cause);
        finish_task_if_done();
    }
}

// ---- context operations ------------------------------------------------------------

void cell::monitor(const cell_ptr& target) {
    if (target) {
        target->post(sys_kind::monitor, {}, cell_ptr(this));
    } else {
        post(sys_kind::down, error{errc::noproc, "no such actor"}, {});
    }
}

void cell::demonitor(const cell_ptr& target) {
    if (target) {
        target->post(sys_kind::demonitor, {}, cell_ptr(this));
    }
}

void cell::link(const cell_ptr& peer) {
    if (!peer) {
        post(sys_kind::exit_signal, error{errc::noproc, "no such actor"}, {});
        return;
    }
    if (peer.get() == this || extras().observers.has_link(peer.get())) {
        return;
    }
    extras_->observers.add({internal::exit_observers::kind::link, peer, {}});
    peer->post(sys_kind::link, {}, cell_ptr(this));
}

void cell::unlink(const cell_ptr& peer) {
    if (!peer || !extras_) {
        return;
    }
    extras_->observers.remove_link(peer.get());
    peer->post(sys_kind::unlink, {}, cell_ptr(this));
}

void cell::track_timer(std::shared_ptr<timer_control> t) { extras().timers.track(std::move(t)); }

void cell::set_idle_timeout(duration d) {
    extras().timers.set_idle(sys_.clk(), cell_ptr(this), d);
    set(flag::stamps_activity, extras_->timers.has_idle());
}

} // namespace troupe::detail
