// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_counters.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/system_core.hpp>

#include "cell_extras.hpp"

#include <algorithm>
#include <cassert>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace troupe::detail {

namespace {

errc errc_of(dead_letter_reason r) noexcept {
    switch (r) {
    case dead_letter_reason::receiver_down: return errc::receiver_down;
    case dead_letter_reason::handler_failed: return errc::handler_failed;
    case dead_letter_reason::late_reply: return errc::timeout;
    case dead_letter_reason::dropped_newest:
    case dead_letter_reason::dropped_oldest:
    case dead_letter_reason::redirect_failed: return errc::dropped;
    }
    return errc::dropped;
}

error error_from_current_exception() {
    try {
        throw;
    } catch (const std::exception& ex) {
        return error{errc::exception, ex.what()};
    } catch (...) {
        return error{errc::exception, "non-standard exception"};
    }
}

bool is_abnormal(const error& e) noexcept { return e.code() != errc::none; }

void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed); // statistic
}

// `mailbox_node::owner_flags` of a user message re-delivered after an
// injected delay: it is not intercepted again.
constexpr std::uint8_t redelivered_flag = 1;

} // namespace

std::string_view system_envelope::type_name() const noexcept { return "troupe::system_message"; }

thread_context& this_thread_context() noexcept {
    thread_local thread_context ctx;
    return ctx;
}

cell::cell(system_core& sys, cell* parent, const spawn_options& opts, std::string name)
    : sys_(sys), parent_(parent), policy_(opts.policy),
      throughput_(
          static_cast<std::uint16_t>(std::clamp<std::uint32_t>(opts.throughput, 1, 0xffff))),
      id_(sys.next_id()), mailbox_(opts.capacity == 0 ? 1 : opts.capacity,
                                   opts.policy == overflow_policy::drop_oldest) {
    const bool waits = policy_ == overflow_policy::block || policy_ == overflow_policy::suspend ||
                       policy_ == overflow_policy::redirect;
    if (waits || !name.empty() || opts.trap_exits || opts.interceptor ||
        opts.shutdown_timeout != duration::max()) {
        options_ = std::make_unique<cell_options>();
        options_->name = std::move(name);
        options_->trap_exits = opts.trap_exits;
        options_->shutdown_timeout = opts.shutdown_timeout;
        options_->interceptor = opts.interceptor;
        options_->block_timeout = opts.block_timeout;
        options_->redirect = cell_ptr(opts.redirect_to.cell());
    }
}

cell::~cell() {
    // acquire: pairs with the install in stats(); we are the last owner.
    delete stats_.load(std::memory_order_acquire);
}

cell_stats& cell::stats() noexcept {
    // acquire: pairs with the release CAS below (another thread's install).
    cell_stats* s = stats_.load(std::memory_order_acquire);
    if (s != nullptr) {
        return *s;
    }
    auto* fresh = new cell_stats();
    // acq_rel: publishes *fresh; on failure acquires the winner's install.
    if (stats_.compare_exchange_strong(s, fresh, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        return *fresh;
    }
    delete fresh;
    return *s;
}

bool cell::traps_exits() const noexcept { return options_ && options_->trap_exits; }

void cell::release() noexcept {
    // acq_rel: the thread that frees the cell must see every write made by
    // other owners before they released.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        delete this;
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
    if (parent_ == nullptr) {
        return "";
    }
    return parent_->path() + "/" + name();
}

error cell::exit_cause() const {
    if (!is_terminated()) {
        return {};
    }
    // acquire: pairs with the install in stats(), before terminated_.
    const cell_stats* s = stats_.load(std::memory_order_acquire);
    return s != nullptr && s->exit_cause ? *s->exit_cause : error{};
}

void cell::counters(actor_counters& out) const noexcept {
    out.processed = processed_.load(std::memory_order_relaxed);
    // acquire: pairs with the install in stats().
    if (const cell_stats* s = stats_.load(std::memory_order_acquire)) {
        out.rejected = s->rejected.load(std::memory_order_relaxed);
        out.dropped = s->dropped.load(std::memory_order_relaxed);
        out.redirected = s->redirected.load(std::memory_order_relaxed);
        out.dead_lettered = s->dead_lettered.load(std::memory_order_relaxed);
    }
    out.queued = mailbox_.size();
}

// ---- sending -----------------------------------------------------------------

send_result cell::enqueue_user(envelope* e) noexcept { return settle(mailbox_.push(e), e); }

send_result cell::settle(push_result r, envelope* e) noexcept {
    switch (r) {
    case push_result::accepted: return {};
    case push_result::accepted_unblocked: sys_.exec().schedule(this); return {};
    case push_result::closed:
        dead_letter(e, dead_letter_reason::receiver_down);
        return troupe::fail(errc::receiver_down);
    case push_result::full: return overflow(e);
    }
    return {};
}

send_result cell::overflow(envelope* e) noexcept {
    switch (policy_) {
    case overflow_policy::reject:
        bump(stats().rejected);
        e->fail(error{errc::mailbox_full});
        delete e;
        return troupe::fail(errc::mailbox_full);
    case overflow_policy::drop_newest:
        dead_letter(e, dead_letter_reason::dropped_newest);
        return troupe::fail(errc::dropped);
    case overflow_policy::drop_oldest:
        for (int attempt = 0; attempt < 8; ++attempt) {
            if (mailbox_node* old = mailbox_.evict_oldest()) {
                dead_letter(static_cast<envelope*>(old), dead_letter_reason::dropped_oldest);
            }
            if (push_result r = mailbox_.push(e); r != push_result::full) {
                return settle(r, e);
            }
        }
        // Every queued message is still in flight from other producers: the
        // newest gives way.
        dead_letter(e, dead_letter_reason::dropped_newest);
        return troupe::fail(errc::dropped);
    case overflow_policy::block:
    case overflow_policy::suspend:
        if (this_thread_context().worker != nullptr) {
            bump(stats().rejected);
            e->fail(error{errc::would_block});
            delete e;
            return troupe::fail(
                errc::would_block,
                "a scheduler worker may not block; use co_await send(...) in a task");
        }
        return block_until_space(e);
    case overflow_policy::redirect: {
        cell* target = options_->redirect.get();
        if (target == nullptr || target == this || target->protocol() != protocol()) {
            dead_letter(e, dead_letter_reason::redirect_failed);
            return troupe::fail(errc::dropped, "redirect target missing or of another protocol");
        }
        bump(stats().redirected);
        return target->enqueue_user(e);
    }
    }
    return {};
}

send_result cell::block_until_space(envelope* e) noexcept {
    auto& ov = *options_;
    auto deadline = std::chrono::steady_clock::now() + ov.block_timeout;
    std::unique_lock lock(ov.mutex);
    ++ov.blocked_threads;
    // seq_cst: registering before the retry below means a consumer that frees
    // space after our failed attempt sees us (mailbox::reserve() explains).
    ov.space_waiters.fetch_add(1, std::memory_order_seq_cst);
    send_result result;
    for (;;) {
        push_result r = mailbox_.push(e);
        if (r == push_result::accepted || r == push_result::accepted_unblocked) {
            if (r == push_result::accepted_unblocked) {
                sys_.exec().schedule(this);
            }
            break;
        }
        if (r == push_result::closed) {
            lock.unlock();
            dead_letter(e, dead_letter_reason::receiver_down);
            lock.lock();
            result = troupe::fail(errc::receiver_down);
            break;
        }
        if (ov.space.wait_until(lock, deadline) == std::cv_status::timeout) {
            r = mailbox_.push(e);
            if (r == push_result::accepted_unblocked) {
                sys_.exec().schedule(this);
            }
            if (r == push_result::accepted || r == push_result::accepted_unblocked) {
                break;
            }
            bump(stats().rejected);
            e->fail(error{errc::timeout});
            delete e;
            result = troupe::fail(errc::timeout, "no room in the mailbox before the block timeout");
            break;
        }
    }
    --ov.blocked_threads;
    ov.space_waiters.fetch_sub(1, std::memory_order_acq_rel);
    return result;
}

bool cell::try_send(envelope* e, send_result& result) noexcept {
    push_result r = mailbox_.push(e);
    if (r == push_result::full) {
        return false;
    }
    result = settle(r, e);
    return true;
}

send_result cell::send_or_wait(envelope*& e, cell* waiter, std::uint64_t gen,
                               bool& waiting) noexcept {
    waiting = false;
    push_result r = mailbox_.push(e);
    if (r == push_result::full &&
        (policy_ == overflow_policy::suspend || policy_ == overflow_policy::block)) {
        {
            std::lock_guard lock(options_->mutex);
            options_->suspended.emplace_back(cell_ptr(waiter), gen);
        }
        // seq_cst: pairs with the consumer's slot release in pop_user() and
        // its waiter check (mailbox::reserve() explains).
        options_->space_waiters.fetch_add(1, std::memory_order_seq_cst);
        r = mailbox_.push(e);
        if (r == push_result::full) {
            waiting = true;
            return {};
        }
    }
    return settle(r, std::exchange(e, nullptr));
}

void cell::on_space_freed(bool all) noexcept {
    auto& ov = *options_;
    const std::uint32_t size = mailbox_.size();
    const std::uint32_t capacity = mailbox_.capacity();
    if (!all && size > capacity / 2) {
        return; // hysteresis: wake senders in batches, not one per message
    }
    // Wake suspended senders in FIFO order, about one per 32 free slots: a
    // woken sender fills its share before it suspends again, so a hundred
    // waiting senders cost a few wake-ups per batch instead of a hundred.
    // Every waiter holds a message, so each woken one brings the receiver
    // back here; `all` (stop, or going idle with waiters) wakes the rest.
    std::vector<std::pair<cell_ptr, std::uint64_t>> wake_list;
    {
        std::lock_guard lock(ov.mutex);
        std::size_t n = ov.suspended.size();
        if (!all) {
            n = std::min<std::size_t>(n, std::max<std::uint32_t>(1, (capacity - size) / 32));
        }
        wake_list.assign(
            std::make_move_iterator(ov.suspended.begin()),
            std::make_move_iterator(ov.suspended.begin() + static_cast<std::ptrdiff_t>(n)));
        ov.suspended.erase(ov.suspended.begin(),
                           ov.suspended.begin() + static_cast<std::ptrdiff_t>(n));
        if (ov.blocked_threads != 0) {
            ov.space.notify_all();
        }
    }
    if (!wake_list.empty()) {
        ov.space_waiters.fetch_sub(static_cast<std::uint32_t>(wake_list.size()),
                                   std::memory_order_acq_rel);
        for (auto& [c, gen] : wake_list) {
            c->wake(gen);
        }
    }
}

void cell::enqueue_system(system_envelope* e) noexcept {
    switch (mailbox_.push(e)) {
    case push_result::accepted: return;
    case push_result::accepted_unblocked: sys_.exec().schedule(this); return;
    case push_result::closed:
    case push_result::full: reply_dead(e); return;
    }
}

void cell::post(sys_kind k, error cause, cell_ptr other) {
    enqueue_system(new system_envelope(k, std::move(cause), std::move(other)));
}

void cell::wake(std::uint64_t gen) {
    auto* e = new system_envelope(sys_kind::wake);
    e->generation = gen;
    enqueue_system(e);
}

void cell::reply_dead(system_envelope* e) noexcept {
    std::unique_ptr<system_envelope> owned(e);
    // acquire: pairs with the close() exchange, after the exit cause was written.
    (void)mailbox_.is_closed();
    // finish() closes the mailbox, dead-letters the leftovers, then publishes
    // terminated_: wait for that short window so the exit cause and the final
    // counters are visible (not on the finishing actor's own turn).
    if (this_thread_context().current != this) {
        while (!is_terminated()) {
            std::this_thread::yield();
        }
    }
    error cause = exit_cause();
    switch (e->kind) {
    case sys_kind::monitor:
        if (e->callback) {
            e->callback(cause);
        } else if (e->other) {
            e->other->post(sys_kind::down, cause, cell_ptr(this));
        }
        break;
    case sys_kind::link:
        if (e->other) {
            e->other->post(sys_kind::exit_signal, cause, cell_ptr(this));
        }
        break;
    case sys_kind::child_failed:
        if (e->other) {
            e->other->post(sys_kind::stop, e->cause);
        }
        break;
    default: break;
    }
}

void cell::dead_letter(envelope* e, dead_letter_reason reason) noexcept {
    std::unique_ptr<envelope> owned(e);
    if (reason == dead_letter_reason::dropped_newest ||
        reason == dead_letter_reason::dropped_oldest ||
        reason == dead_letter_reason::redirect_failed) {
        bump(stats().dropped);
    } else {
        bump(stats().dead_lettered);
    }
    sys_.dead_letters().record(
        troupe::dead_letter{reason, actor_addr(cell_ptr(this)), e->type_name(), e->trace_id});
    e->fail(error{errc_of(reason), std::string(to_string(reason))});
}

// ---- tree ----------------------------------------------------------------------

bool cell::adopt(cell* child) noexcept {
    std::lock_guard lock(sys_.tree_lock(this));
    if (!accepting_children_) {
        child->abandon(error{errc::receiver_down, "parent " + path() + " is stopping"});
        return false;
    }
    if (child->options_ && !child->options_->name.empty()) {
        if (auto ok = sys_.register_path(child, child->path()); !ok) {
            child->abandon(ok.error());
            return false;
        }
    }
    if (parent_ != nullptr) { // children of the root are guardians: not counted
        sys_.actor_started();
    }
    child->add_ref();                    // the children list's reference
    child->next_sibling_ = first_child_; // newest first
    if (first_child_ != nullptr) {
        first_child_->prev_sibling_ = child;
    }
    first_child_ = child;
    return true;
}

void cell::abandon(error cause) noexcept {
    stats().exit_cause = std::make_unique<const error>(std::move(cause));
    state_ = state::terminated;
    terminated_.store(true, std::memory_order_release); // pairs with is_terminated()
    mailbox_node* left = mailbox_.close();
    assert(left == nullptr);
    (void)left;
    release(); // the alive reference; the spawner still holds one
}

void cell::start() noexcept {
    if (mailbox_.try_unblock()) {
        sys_.exec().schedule(this);
    }
}

void cell::child_gone(cell* child, const error& cause) {
    {
        std::lock_guard lock(sys_.tree_lock(this));
        // The child may be gone already (never adopted, or removed before).
        bool listed = child->prev_sibling_ != nullptr || first_child_ == child;
        if (listed) {
            if (child->prev_sibling_ != nullptr) {
                child->prev_sibling_->next_sibling_ = child->next_sibling_;
            } else {
                first_child_ = child->next_sibling_;
            }
            if (child->next_sibling_ != nullptr) {
                child->next_sibling_->prev_sibling_ = child->prev_sibling_;
            }
            child->prev_sibling_ = child->next_sibling_ = nullptr;
        } else {
            return;
        }
    }
    (void)cause;
    bool awaited = extras_ && extras_->stopping_child == child;
    child->release(); // the children list's reference
    if (awaited) {
        extras_->stopping_child = nullptr;
        if (extras_->stopping_child_timer != 0) {
            sys_.clk().cancel(std::exchange(extras_->stopping_child_timer, 0));
        }
        stop_next_child();
    }
}

// ---- running -------------------------------------------------------------------

resume_result cell::resume(std::uint32_t budget) noexcept {
    auto& ctx = this_thread_context();
    struct restore_context {
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
                handle_system(*e);
            } catch (...) {
                fail_actor(error_from_current_exception(), nullptr);
            }
            continue;
        }
        if (user_paused()) {
            if (mailbox_.try_block(true)) {
                return resume_result::idle;
            }
            continue;
        }
        if (budget == 0) {
            return resume_result::again;
        }
        mailbox_node* u = mailbox_.pop_user();
        if (u == nullptr) {
            // Going idle with senders still waiting (their wakes may have been
            // stale): wake them all rather than leave them stranded.
            if (options_ && options_->space_waiters.load(std::memory_order_seq_cst) != 0) {
                on_space_freed(true);
            }
            if (mailbox_.try_block(false)) {
                return resume_result::idle;
            }
            continue;
        }
        --budget;
        // seq_cst: after the slot release in pop_user(); pairs with the
        // waiters' registration (block_until_space / send_or_wait).
        if (options_ && options_->space_waiters.load(std::memory_order_seq_cst) != 0) {
            on_space_freed(false);
        }
        handle_user(static_cast<envelope*>(u));
    }
}

bool cell::user_paused() const noexcept {
    return state_ != state::running || (extras_ && extras_->task.handle);
}

void cell::run_start() {
    state_ = state::running;
    try {
        behaviour_ = construct_behaviour();
        behaviour_->on_start();
    } catch (...) {
        fail_actor(error_from_current_exception(), nullptr);
    }
}

void cell::handle_user(envelope* e) {
    this_thread_context().trace = e->trace_id;
    if (extras_ && extras_->idle > duration::zero()) {
        extras_->last_activity = sys_.clk().now();
    }
    if (options_ && options_->interceptor) [[unlikely]] {
        intercept_user(e);
        return;
    }
    deliver_user(e, false);
}

void cell::intercept_user(envelope* e) {
    bool twice = false;
    if ((e->owner_flags & redelivered_flag) != 0) {
        e->owner_flags = 0;
    } else {
        message_interceptor& icpt = *options_->interceptor;
        message_interceptor::action a = message_interceptor::action::deliver;
        try {
            a = icpt.on_user_message(e->type_name());
            if (a == message_interceptor::action::crash) {
                throw std::runtime_error("injected fault: crash");
            }
        } catch (...) {
            fail_actor(error_from_current_exception(), e);
            return;
        }
        switch (a) {
        case message_interceptor::action::deliver:
        case message_interceptor::action::crash: break;
        case message_interceptor::action::drop:
            dead_letter(e, dead_letter_reason::dropped_newest);
            return;
        case message_interceptor::action::duplicate: twice = true; break;
        case message_interceptor::action::hold:
            if (extras().held == nullptr) {
                extras_->held = e;
                return;
            }
            break;
        case message_interceptor::action::delay: {
            // Owns the message while the clock holds it; a timer destroyed
            // unfired fails it without touching the (maybe gone) system.
            struct delayed {
                cell_ptr target;
                envelope* e;
                delayed(cell_ptr t, envelope* m) : target(std::move(t)), e(m) {}
                delayed(const delayed&) = delete;
                delayed& operator=(const delayed&) = delete;
                ~delayed() {
                    if (e != nullptr) {
                        e->fail(error{errc::receiver_down, "delayed message never re-delivered"});
                        delete e;
                    }
                }
            };
            duration d = icpt.delay_for();
            e->owner_flags = redelivered_flag;
            auto p = std::make_shared<delayed>(cell_ptr(this), e);
            (void)sys_.clk().schedule_at(sys_.clk().now() + d, [p] {
                (void)p->target->enqueue_user(std::exchange(p->e, nullptr));
            });
            return;
        }
        }
    }
    deliver_user(e, twice);
    // The held message goes right after the one that followed it.
    if (extras_ && extras_->held != nullptr && !user_paused()) {
        deliver_user(std::exchange(extras_->held, nullptr), false);
    }
}

void cell::deliver_user(envelope* e, bool twice) {
    try {
        dispatch(*e);
        // Not when a task started (it owns the message) or the user lane paused.
        if (twice && !user_paused()) {
            dispatch(*e);
        }
    } catch (...) {
        fail_actor(error_from_current_exception(), e);
        return;
    }
    if (extras_ && extras_->task.handle && extras_->task_envelope == nullptr) {
        extras_->task_envelope = e; // the task's parameters may refer to it
        if (extras_->task.handle.done()) {
            complete_task();
        }
        return;
    }
    processed_.store(processed_.load(std::memory_order_relaxed) + 1,
                     std::memory_order_relaxed); // single writer: this actor
    delete e;
}

void cell::begin_task(pending_task t) {
    auto& x = extras();
    x.task = t;
    x.task_envelope = nullptr;
    t.handle.resume(); // runs until its first suspension or the end
}

void cell::after_task_step() {
    if (extras_ && extras_->task.handle && extras_->task.handle.done() &&
        extras_->task_envelope != nullptr) {
        complete_task();
    }
}

void cell::complete_task() {
    auto& x = *extras_;
    pending_task t = std::exchange(x.task, {});
    std::unique_ptr<envelope> e(std::exchange(x.task_envelope, nullptr));
    struct cleanup {
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
        if (t.reply != nullptr) {
            static_cast<ask_state_base*>(t.reply)->fail(
                error{errc::handler_failed, "the handler's task failed"});
        }
        fail_actor(error_from_current_exception(), e.release());
        return;
    }
    processed_.store(processed_.load(std::memory_order_relaxed) + 1,
                     std::memory_order_relaxed); // single writer: this actor
}

void cell::drop_task(const error& cause) noexcept {
    if (!extras_ || !extras_->task.handle) {
        return;
    }
    auto& x = *extras_;
    x.awaiter = nullptr;
    pending_task t = std::exchange(x.task, {});
    t.handle.destroy();
    if (t.reply != nullptr) {
        auto* s = static_cast<ask_state_base*>(t.reply);
        s->fail(error{errc::cancelled, "the handler's task was abandoned", cause});
        s->release();
    }
    if (envelope* e = std::exchange(x.task_envelope, nullptr)) {
        dead_letter(e, dead_letter_reason::receiver_down);
    }
}

std::uint64_t cell::set_awaiter(awaiter_base* a) noexcept {
    auto& x = extras();
    x.awaiter = a;
    return ++x.await_generation;
}

void cell::cancel_awaiter(const error& cause) {
    if (extras_ == nullptr) {
        return;
    }
    if (awaiter_base* a = std::exchange(extras_->awaiter, nullptr)) {
        a->on_cancel(cause);
        after_task_step();
    }
}

void cell::fail_actor(error cause, envelope* failed_message) {
    if (failed_message != nullptr) {
        dead_letter(failed_message, dead_letter_reason::handler_failed);
    }
    if (state_ == state::terminated) {
        return;
    }
    drop_task(cause);
    if (!sys_.hooks.failures.empty()) {
        sys_.hooks.failures(actor_addr(cell_ptr(this)), cause);
    }
    if (state_ == state::stopping || state_ == state::failed) {
        return; // already on its way out, or already reported
    }
    state_ = state::failed;
    if (parent_) {
        parent_->post(sys_kind::child_failed, std::move(cause), cell_ptr(this));
    } else {
        begin_stop(std::move(cause), state::terminated);
    }
}

void cell::handle_system(system_envelope& e) {
    switch (e.kind) {
    case sys_kind::stop: begin_stop(std::move(e.cause), state::terminated); break;
    case sys_kind::cancel: cancel_tree(e.cause); break;
    case sys_kind::kill: {
        {
            std::lock_guard lock(sys_.tree_lock(this));
            accepting_children_ = false;
            for (cell* c = first_child_; c != nullptr; c = c->next_sibling_) {
                c->post(sys_kind::kill, e.cause);
            }
        }
        finish(error{errc::killed, "killed", e.cause}, false);
        break;
    }
    case sys_kind::child_failed: {
        child_decision d = child_decision::stop;
        actor_addr child(e.other);
        if (behaviour_ != nullptr && state_ == state::running) {
            d = behaviour_->on_child_failed(child, e.cause);
        }
        if (!sys_.hooks.decisions.empty()) {
            sys_.hooks.decisions(child, e.cause, d);
        }
        switch (d) {
        case child_decision::stop: e.other->post(sys_kind::stop, e.cause); break;
        case child_decision::restart: e.other->post(sys_kind::restart, e.cause); break;
        case child_decision::resume: e.other->post(sys_kind::resume); break;
        case child_decision::defer: break; // the parent acts later
        case child_decision::escalate:
            e.other->post(sys_kind::stop, e.cause);
            fail_actor(error{errc::escalated, "child " + child.path() + " failed", e.cause},
                       nullptr);
            break;
        }
        break;
    }
    case sys_kind::child_exited: child_gone(e.other.get(), e.cause); break;
    case sys_kind::restart:
        // From a failed state (the usual case) or running (a sibling restart
        // of one_for_all / rest_for_one strategies).
        if (state_ == state::failed || state_ == state::running) {
            begin_stop(std::move(e.cause), state::restarting);
        }
        break;
    case sys_kind::resume:
        if (state_ == state::failed) {
            state_ = state::running;
        }
        break;
    case sys_kind::monitor:
        extras().watchers.push_back(watcher{std::move(e.other), std::move(e.callback)});
        break;
    case sys_kind::demonitor:
        if (extras_) {
            std::erase_if(extras_->watchers, [&](const watcher& w) { return w.actor == e.other; });
        }
        break;
    case sys_kind::down:
        if (behaviour_ != nullptr) {
            behaviour_->on_down(down_msg{actor_addr(e.other), e.cause});
        }
        break;
    case sys_kind::link: extras().links.push_back(std::move(e.other)); break;
    case sys_kind::unlink:
        if (extras_) {
            std::erase(extras_->links, e.other);
        }
        break;
    case sys_kind::exit_signal: {
        if (extras_) {
            std::erase(extras_->links, e.other);
        }
        if (!is_abnormal(e.cause) || state_ == state::terminated) {
            break;
        }
        if (traps_exits()) {
            if (behaviour_ != nullptr) {
                behaviour_->on_exit(exit_msg{actor_addr(e.other), e.cause});
            }
        } else {
            begin_stop(
                error{errc::linked_exit, "linked actor " + e.other->path() + " exited", e.cause},
                state::terminated);
        }
        break;
    }
    case sys_kind::wake:
        if (extras_ && extras_->awaiter != nullptr && extras_->await_generation == e.generation) {
            awaiter_base* a = std::exchange(extras_->awaiter, nullptr);
            if (extras_->task_envelope != nullptr) { // the task goes on under its message's trace
                this_thread_context().trace = extras_->task_envelope->trace_id;
            }
            a->on_wake();
            after_task_step();
        }
        break;
    case sys_kind::idle_timeout: {
        if (!extras_ || extras_->idle_generation != e.generation ||
            extras_->idle <= duration::zero() || state_ != state::running) {
            break;
        }
        auto& x = *extras_;
        time_point now = sys_.clk().now();
        if (now - x.last_activity >= x.idle) {
            x.last_activity = now;
            arm_idle(now + x.idle);
            if (behaviour_ != nullptr) {
                behaviour_->on_idle();
            }
        } else {
            arm_idle(x.last_activity + x.idle);
        }
        break;
    }
    case sys_kind::call:
        if (e.callback) {
            e.callback(error{});
        }
        break;
    }
}

// ---- stopping --------------------------------------------------------------------

void cell::request_stop(error cause) {
    // From the actor's own handler: queue it so the handler finishes first.
    post(sys_kind::stop, std::move(cause));
}

std::stop_token cell::stop_token() {
    auto& x = extras();
    if (!x.stop_source) {
        x.stop_source.emplace();
        if (cancelled_) {
            x.stop_source->request_stop();
        }
    }
    return x.stop_source->get_token();
}

const error& cell::stop_cause() const noexcept {
    static const error none;
    return extras_ ? extras_->stop_cause : none;
}

void cell::cancel_tree(const error& cause) {
    signal_cancel(cause);
    std::lock_guard lock(sys_.tree_lock(this));
    for (cell* c = first_child_; c != nullptr; c = c->next_sibling_) {
        c->post(sys_kind::cancel, cause);
    }
}

void cell::signal_cancel(const error& cause) {
    if (!cancelled_) {
        cancelled_ = true;
        // A normal cause needs no record (stop_cause() reads as none) unless
        // the extras exist anyway: most actors stop without allocating them.
        if (cause || extras_) {
            auto& x = extras();
            x.stop_cause = cause;
            if (x.stop_source) {
                x.stop_source->request_stop();
            }
        }
    }
    cancel_awaiter(cause);
}

void cell::begin_stop(error cause, state next) {
    if (state_ == state::stopping || state_ == state::terminated ||
        (state_ == state::restarting && next == state::restarting)) {
        return;
    }
    bool has_children = false;
    if (next == state::terminated) {
        signal_cancel(cause);
        // One lock: refuse new children, pass the cancel on, see who is left.
        std::lock_guard lock(sys_.tree_lock(this));
        accepting_children_ = false;
        for (cell* c = first_child_; c != nullptr; c = c->next_sibling_) {
            c->post(sys_kind::cancel, cause);
        }
        has_children = first_child_ != nullptr;
    } else {
        cancel_awaiter(cause);
        std::lock_guard lock(sys_.tree_lock(this));
        has_children = first_child_ != nullptr;
    }
    state_ = next == state::terminated ? state::stopping : state::restarting;
    if (!has_children) { // the common case: no bookkeeping needed
        if (state_ == state::restarting) {
            restart_behaviour(std::move(cause));
        } else {
            finish(std::move(cause), true);
        }
        return;
    }
    extras().stopping_cause = std::move(cause);
    stop_next_child();
}

void cell::stop_next_child() {
    cell* next = nullptr;
    {
        std::lock_guard lock(sys_.tree_lock(this));
        next = first_child_; // the newest
    }
    auto& x = extras();
    if (next != nullptr) {
        x.stopping_child = next;
        duration limit = next->options_ ? next->options_->shutdown_timeout : duration::max();
        if (limit <= duration::zero()) { // brutal kill
            next->post(sys_kind::kill, x.stopping_cause);
            return;
        }
        next->post(sys_kind::stop, x.stopping_cause);
        if (limit != duration::max()) {
            // On overrun the child is killed and this cell moves on at once
            // (a child stuck in a handler would otherwise hold the stop).
            auto on_overrun = [self = cell_ptr(this), c = cell_ptr(next)](const error&) {
                if (!self->extras_ || self->extras_->stopping_child != c.get()) {
                    return; // it stopped in time
                }
                self->extras_->stopping_child_timer = 0;
                c->post(sys_kind::kill, error{errc::timeout, "shutdown timeout overrun",
                                              self->extras_->stopping_cause});
                if (self->behaviour_ != nullptr) {
                    try {
                        self->behaviour_->on_child_shutdown_timeout(actor_addr(c));
                    } catch (...) {
                        // a recording hook cannot change the outcome
                    }
                }
                self->child_gone(c.get(), error{errc::killed});
            };
            // The timer runs on the clock's thread; the check runs on our turn.
            x.stopping_child_timer = sys_.clk().schedule_at(
                sys_.clk().now() + limit, [self = cell_ptr(this), on_overrun] {
                    auto* e = new system_envelope(sys_kind::call);
                    e->callback = on_overrun;
                    self->enqueue_system(e);
                });
        }
        return;
    }
    if (state_ == state::restarting) {
        restart_behaviour(x.stopping_cause);
    } else if (state_ == state::stopping) {
        finish(x.stopping_cause, true);
    }
}

void cell::restart_behaviour(error cause) {
    drop_task(cause);
    if (behaviour_ != nullptr) {
        try {
            behaviour_->on_stop(cause);
        } catch (...) {
            // The old instance is discarded either way.
        }
        if (extras_) {
            for (auto& t : extras_->timers) {
                t->cancel();
            }
            extras_->timers.clear();
        }
        destroy_behaviour();
        behaviour_ = nullptr;
    }
    cancelled_ = false;
    if (extras_) {
        extras_->stop_cause = {};
        extras_->stop_source.reset();
    }
    state_ = state::fresh;
    run_start();
}

void cell::finish(error cause, bool run_on_stop) {
    if (state_ == state::terminated) {
        return;
    }
    drop_task(cause);
    if (run_on_stop && behaviour_ != nullptr) {
        try {
            behaviour_->on_stop(cause);
        } catch (...) {
            // on_stop failing cannot change the outcome; the stop goes on.
        }
    }
    if (extras_) {
        for (auto& t : extras_->timers) {
            t->cancel();
        }
        if (extras_->idle_timer != 0) {
            sys_.clk().cancel(extras_->idle_timer);
        }
    }
    if (behaviour_ != nullptr) {
        destroy_behaviour();
        behaviour_ = nullptr;
    }
    // Children left behind (kill does not wait for them) are released. Once
    // accepting_children_ is false only this turn changes the list, so an
    // empty list needs no lock.
    if (accepting_children_ || first_child_ != nullptr) {
        std::lock_guard lock(sys_.tree_lock(this));
        accepting_children_ = false;
        for (cell* c = first_child_; c != nullptr;) {
            cell* next = c->next_sibling_;
            c->prev_sibling_ = c->next_sibling_ = nullptr;
            c->release();
            c = next;
        }
        first_child_ = nullptr;
    }
    state_ = state::terminated;
    if (cause) { // a normal exit is recorded as no cause
        stats().exit_cause = std::make_unique<const error>(cause);
    }
    // terminated_ is published below, once the leftovers are accounted.
    if (parent_ && parent_->parent_ != nullptr) { // guardians are not counted
        sys_.actor_exited(); // before any exit observer runs (live_actors() agrees with it)
    }
    if (options_ && !options_->name.empty()) {
        sys_.unregister_path(path());
    }
    // User messages first: a queued monitor's observer (e.g. wait_for_exit)
    // must see this actor's final counters, so it is answered only after every
    // leftover user message has been dead-lettered.
    mailbox_node* leftover_system = nullptr;
    mailbox_node** system_tail = &leftover_system;
    for (mailbox_node* n = mailbox_.close(); n != nullptr;) {
        mailbox_node* next = n->next;
        if (n->lane_kind == lane::system) {
            n->next = nullptr;
            *system_tail = n;
            system_tail = &n->next;
        } else {
            dead_letter(static_cast<envelope*>(n), dead_letter_reason::receiver_down);
        }
        n = next;
    }
    if (extras_ && extras_->held != nullptr) { // held back by fault injection
        dead_letter(std::exchange(extras_->held, nullptr), dead_letter_reason::receiver_down);
    }
    // Published only now: a sender that found the mailbox closed waits for it
    // in reply_dead(), so its exit observer sees final counters.
    terminated_.store(true, std::memory_order_release); // pairs with is_terminated()
    for (mailbox_node* n = leftover_system; n != nullptr;) {
        mailbox_node* next = n->next;
        reply_dead(static_cast<system_envelope*>(n));
        n = next;
    }
    if (options_) {
        on_space_freed(true);
    }
    cell_ptr self(this);
    if (extras_) {
        for (auto& w : extras_->watchers) {
            if (w.observer) {
                w.observer(cause);
            } else if (w.actor) {
                w.actor->post(sys_kind::down, cause, self);
            }
        }
        for (auto& l : extras_->links) {
            l->post(sys_kind::exit_signal, cause, self);
        }
        extras_.reset();
    }
    if (parent_) {
        parent_->post(sys_kind::child_exited, cause, self);
    }
}

// ---- context operations ---------------------------------------------------------

void cell::monitor(cell* target) {
    if (target != nullptr) {
        target->post(sys_kind::monitor, {}, cell_ptr(this));
    }
}

void cell::demonitor(cell* target) {
    if (target != nullptr) {
        target->post(sys_kind::demonitor, {}, cell_ptr(this));
    }
}

void cell::link(cell* peer) {
    if (peer == nullptr || peer == this) {
        return;
    }
    extras().links.emplace_back(peer);
    peer->post(sys_kind::link, {}, cell_ptr(this));
}

void cell::unlink(cell* peer) {
    if (peer == nullptr || !extras_) {
        return;
    }
    std::erase(extras_->links, cell_ptr(peer));
    peer->post(sys_kind::unlink, {}, cell_ptr(this));
}

void cell::track_timer(const std::shared_ptr<timer_control>& t) {
    auto& timers = extras().timers;
    std::erase_if(timers, [](const auto& c) { return !c->is_active(); });
    timers.push_back(t);
}

void cell::set_idle_timeout(duration d) {
    auto& x = extras();
    ++x.idle_generation;
    if (x.idle_timer != 0) {
        sys_.clk().cancel(x.idle_timer);
        x.idle_timer = 0;
    }
    x.idle = d;
    if (d > duration::zero()) {
        x.last_activity = sys_.clk().now();
        arm_idle(x.last_activity + d);
    }
}

void cell::arm_idle(time_point at) {
    auto& x = extras();
    x.idle_timer = sys_.clk().schedule_at(at, [c = cell_ptr(this), gen = x.idle_generation] {
        auto* e = new system_envelope(sys_kind::idle_timeout);
        e->generation = gen;
        c->enqueue_system(e);
    });
}

} // namespace troupe::detail
