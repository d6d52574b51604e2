// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/current_actor.hpp>
#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/send_awaiter.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/system.hpp>

#include "ask_deadlines.hpp"

#include <array>
#include <cassert>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <random>

namespace troupe {

actor_base::actor_base() : cell_(detail::constructing_cell()) {
    assert(cell_ != nullptr && "behaviours are constructed by spawn, not directly");
}

troupe::system& actor_base::system() const noexcept { return cell_->sys().owner(); }

namespace {
/// `addr`'s cell if it is a child of `parent`, else null.
detail::cell* child_of(const detail::cell* parent, const actor_addr& addr) noexcept {
    detail::cell* c = addr.cell();
    return c != nullptr && c->parent() == parent ? c : nullptr;
}
} // namespace

void actor_base::stop_child(const actor_addr& child, error cause) {
    if (detail::cell* c = child_of(cell_, child)) {
        c->request_stop(std::move(cause), detail::stop_origin::parent);
    }
}

void actor_base::restart_child(const actor_addr& child, error cause) {
    if (detail::cell* c = child_of(cell_, child)) {
        c->post(detail::sys_kind::restart, std::move(cause));
    }
}

void actor_base::resume_child(const actor_addr& child) {
    if (detail::cell* c = child_of(cell_, child)) {
        c->post(detail::sys_kind::resume);
    }
}

void actor_base::restart_children(const std::vector<actor_addr>& children, error cause) {
    std::vector<detail::cell_ptr> members;
    members.reserve(children.size());
    for (const auto& a : children) {
        if (detail::cell* c = child_of(cell_, a)) {
            members.emplace_back(c);
        }
    }
    if (!members.empty()) {
        cell_->restart_children(std::move(members), std::move(cause));
    }
}

bool on_scheduler_worker() noexcept { return detail::this_thread_context().worker != nullptr; }

actor_addr current_actor() {
    detail::cell* c = detail::this_thread_context().current;
    return c != nullptr ? actor_addr(detail::cell_ptr(c)) : actor_addr{};
}

std::uint64_t current_actor_id() noexcept {
    const detail::cell* c = detail::this_thread_context().current;
    return c != nullptr ? c->id() : 0;
}

std::uint64_t outgoing_trace_id() noexcept { return detail::outgoing_trace_id(); }

namespace {
thread_local std::uint64_t scoped_trace = 0; // the innermost trace_scope's id
} // namespace

trace_scope::trace_scope(std::uint64_t id) noexcept : previous_(scoped_trace) {
    if (id != 0) {
        scoped_trace = id;
    }
}

trace_scope::~trace_scope() { scoped_trace = previous_; }

namespace detail {

cell*& constructing_cell() noexcept {
    thread_local cell* c = nullptr;
    return c;
}

std::uint64_t outgoing_trace_id() noexcept {
    if (scoped_trace != 0) {
        return scoped_trace;
    }
    auto& ctx = this_thread_context();
    if (ctx.current != nullptr && ctx.trace != 0) {
        return ctx.trace;
    }
    // A new trace: 24 random bits per thread, then a per-thread counter.
    thread_local std::uint64_t prefix = (std::random_device{}() & 0xffffffULL) << 40;
    thread_local std::uint64_t counter = 0;
    return prefix | (++counter & 0xffffffffffULL);
}

// ---- send ------------------------------------------------------------------------

send_awaiter::~send_awaiter() {
    disarm_deadline();
    if (envelope_ != nullptr) {
        to_->count_abandoned_send(); // hold_ keeps the receiver while suspended
        envelope_->fail(error{errc::cancelled, "send abandoned"});
        delete envelope_;
    }
}

bool send_awaiter::attempt(cell* self) noexcept {
    bool waiting = false;
    std::uint64_t gen = self != nullptr ? self->set_awaiter(this) : 0;
    result_ = to_->send_or_wait(envelope_, self, gen, waiting);
    if (!waiting && self != nullptr) {
        self->set_awaiter(nullptr);
    }
    if (waiting) {
        arm_deadline(self, gen);
    } else {
        disarm_deadline();
    }
    return !waiting;
}

void send_awaiter::arm_deadline(cell* self, std::uint64_t gen) noexcept {
    if (deadline_ == time_point::max()) {
        return;
    }
    disarm_deadline(); // armed for the previous generation
    try {
        timer_ =
            self->sys().clk().schedule_at(deadline_, [c = cell_ptr(self), gen] { c->wake(gen); });
        waiter_ = self;
    } catch (...) {
        // No memory for the timer: this wait has no deadline (see the header).
    }
}

void send_awaiter::disarm_deadline() noexcept {
    if (timer_ != 0) {
        waiter_->sys().clk().cancel(timer_);
        timer_ = 0;
    }
}

bool send_awaiter::await_ready() noexcept {
    cell* self = this_thread_context().current;
    if (self != nullptr && self->is_cancelled()) {
        to_->count_abandoned_send();
        envelope_->fail(error{errc::cancelled, "sender cancelled"});
        delete std::exchange(envelope_, nullptr);
        result_ =
            troupe::unexpected(error{errc::cancelled, "sender cancelled", self->stop_cause()});
        return true;
    }
    // Fast path: room in the mailbox, no registration needed.
    if (to_->try_send(envelope_, result_)) {
        envelope_ = nullptr;
        return true;
    }
    return attempt(self);
}

bool send_awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    // await_ready registered us with the receiver and kept the message.
    continuation_ = h;
    hold_ = cell_ptr(to_);
    return true;
}

void send_awaiter::on_wake() {
    cell* self = this_thread_context().current;
    if (timer_ != 0 && self->sys().clk().now() >= deadline_) {
        disarm_deadline(); // its wake, or one for room that came as late
        const error why{errc::timeout, "no room in the receiver's mailbox before the deadline"};
        to_->count_abandoned_send();
        envelope_->fail(why);
        delete std::exchange(envelope_, nullptr);
        result_ = troupe::unexpected(why);
        continuation_.resume();
        return;
    }
    if (attempt(self)) {
        continuation_.resume();
    }
}

void send_awaiter::on_cancel(const error& cause) {
    disarm_deadline();
    if (envelope_ != nullptr) {
        to_->count_abandoned_send();
        envelope_->fail(error{errc::cancelled, "sender cancelled", cause});
        delete std::exchange(envelope_, nullptr);
    }
    result_ = troupe::unexpected(error{errc::cancelled, "sender cancelled", cause});
    continuation_.resume();
}

// ---- sleep -----------------------------------------------------------------------

bool sleep_awaiter::await_suspend(std::coroutine_handle<> h) {
    continuation_ = h;
    self_ = this_thread_context().current;
    if (self_->is_cancelled()) {
        result_ =
            troupe::unexpected(error{errc::cancelled, "sleep cancelled", self_->stop_cause()});
        return false;
    }
    std::uint64_t gen = self_->set_awaiter(this);
    auto& clk = self_->sys().clk();
    const time_point at = saturating_add(clk.now(), delay_);
    if (at != time_point::max()) { // forever: only a cancel resumes it
        timer_ = clk.schedule_at(at, [c = cell_ptr(self_), gen] { c->wake(gen); });
    }
    return true;
}

void sleep_awaiter::on_cancel(const error& cause) {
    if (timer_ != 0) {
        self_->sys().clk().cancel(timer_);
    }
    result_ = troupe::unexpected(error{errc::cancelled, "sleep cancelled", cause});
    continuation_.resume();
}

// ---- ask state -------------------------------------------------------------------

bool ask_state_base::fail(error e) noexcept {
    std::unique_lock lock(lock_);
    if (status_.load(std::memory_order_relaxed) != status::pending) {
        return false;
    }
    error_ = std::move(e);
    finish(lock, status::failed);
    return true;
}

namespace {
/// Where threads blocked on an ask park: a stripe of condition variables
/// shared by all asks (an ask itself holds none; blocking is rare).
struct parking_stripe {
    std::mutex mutex;
    std::condition_variable cv;
};
parking_stripe& parking_for(const void* state) noexcept {
    static std::array<parking_stripe, 32> stripes;
    return stripes[(std::hash<const void*>{}(state) >> 6) % stripes.size()];
}
} // namespace

void ask_state_base::finish(std::unique_lock<spin_lock>& lock, status outcome) noexcept {
    status_.store(outcome, std::memory_order_seq_cst); // see parked_
    cell_ptr waiter = std::move(waiter_);
    std::uint64_t gen = generation_;
    std::uint32_t slot = slot_;
    notify how = notify_;
    ask_callback* callback = std::exchange(callback_, nullptr);
    lock.unlock();
    if (parked_.load(std::memory_order_seq_cst)) {
        parking_stripe& p = parking_for(this);
        { std::lock_guard parked(p.mutex); } // a parker is in its wait, or sees the status
        p.cv.notify_all();
    }
    if (armed_) {
        sys_->deadlines().disarm(*this);
    }
    if (callback != nullptr) {
        // Runs last, once: it takes the outcome (the completer holds a reference).
        const std::unique_ptr<ask_callback> run_once(callback);
        run_once->run(*this);
        return;
    }
    if (waiter) {
        if (how == notify::wake) {
            waiter->wake(gen);
        } else {
            waiter->post_continuation(continuation_ticket{gen, slot});
        }
    }
}

void ask_state_base::leave_handler() noexcept {
    if ((promise_flags_.exchange(0, std::memory_order_relaxed) & abandoned) != 0) {
        fail(error{errc::broken_promise,
                   "the response promise was dropped unanswered while an exception passed"});
    }
}

bool ask_state_base::drop_unanswered() noexcept {
    if ((promise_flags_.load(std::memory_order_relaxed) & in_handler) != 0 &&
        std::uncaught_exceptions() > 0) {
        promise_flags_.fetch_or(abandoned, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void ask_state_base::on_late() noexcept {
    if (sys_ == nullptr) {
        return;
    }
    sys_->count_late_reply();
    sys_->dead_letters().record(
        dead_letter{dead_letter_reason::late_reply, actor_addr{}, "reply", 0});
}

void ask_state_base::arm(duration timeout) {
    if (timeout == duration::max() || sys_ == nullptr) {
        return; // no deadline
    }
    armed_ = true;
    sys_->deadlines().arm(*this, timeout);
}

bool ask_state_base::wait_until(time_point deadline) const {
    if (ready()) {
        return true;
    }
    parking_stripe& p = parking_for(this);
    std::unique_lock lock(p.mutex);
    parked_.store(true, std::memory_order_seq_cst);
    return p.cv.wait_until(lock, deadline, [this] {
        return status_.load(std::memory_order_seq_cst) != status::pending; // see parked_
    });
}

void ask_state_base::wait() const {
    if (ready()) {
        return;
    }
    parking_stripe& p = parking_for(this);
    std::unique_lock lock(p.mutex);
    parked_.store(true, std::memory_order_seq_cst);
    p.cv.wait(lock, [this] {
        return status_.load(std::memory_order_seq_cst) != status::pending; // see parked_
    });
}

bool ask_state_base::set_waiter(cell* c, std::uint64_t generation) {
    std::lock_guard lock(lock_);
    if (status_.load(std::memory_order_relaxed) != status::pending) {
        return false;
    }
    waiter_ = cell_ptr(c);
    generation_ = generation;
    notify_ = notify::wake;
    return true;
}

bool ask_state_base::set_waiter(cell* c, continuation_ticket ticket) {
    std::lock_guard lock(lock_);
    if (status_.load(std::memory_order_relaxed) != status::pending) {
        return false;
    }
    waiter_ = cell_ptr(c);
    generation_ = ticket.seq;
    slot_ = ticket.slot;
    notify_ = notify::continuation;
    return true;
}

void ask_state_base::set_callback(std::unique_ptr<ask_callback> cb) noexcept {
    {
        std::lock_guard lock(lock_);
        if (status_.load(std::memory_order_relaxed) == status::pending) {
            delete callback_;
            callback_ = cb.release();
            waiter_.reset();
            notify_ = notify::callback;
            return;
        }
    }
    cb->run(*this);
}

// ---- when_all / when_any ----------------------------------------------------------

bool ask_join::await_ready() const noexcept {
    if (wait_for_ == wait_for::first) {
        return states_.empty() || first_ready() != states_.size();
    }
    for (const ask_state_base* s : states_) {
        if (!s->ready()) {
            return false;
        }
    }
    return true;
}

std::size_t ask_join::first_ready() const noexcept {
    for (std::size_t i = 0; i < states_.size(); ++i) {
        if (states_[i]->ready()) {
            return i;
        }
    }
    return states_.size();
}

bool ask_join::await_suspend(std::coroutine_handle<> h) {
    self_ = this_thread_context().current;
    continuation_ = h;
    if (self_->is_cancelled()) {
        cancel_pending(self_->stop_cause());
        return false;
    }
    return register_wait();
}

bool ask_join::register_wait() {
    const std::uint64_t gen = self_->set_awaiter(this);
    if (wait_for_ == wait_for::first) {
        // One registration on every ask: the first completion wakes this
        // generation; the others' wakes are stale and ignored.
        for (ask_state_base* s : states_) {
            if (!s->set_waiter(self_, gen)) {
                self_->set_awaiter(nullptr);
                return false;
            }
        }
        return true;
    }
    for (; next_ < states_.size(); ++next_) {
        if (states_[next_]->set_waiter(self_, gen)) {
            return true; // woken when this one completes, then on to the next
        }
    }
    self_->set_awaiter(nullptr);
    return false;
}

void ask_join::on_wake() {
    if (wait_for_ == wait_for::all && register_wait()) {
        return;
    }
    continuation_.resume();
}

void ask_join::on_cancel(const error& cause) {
    cancel_pending(cause);
    continuation_.resume();
}

void ask_join::cancel_pending(const error& cause) noexcept {
    for (ask_state_base* s : states_) {
        s->fail(error{errc::cancelled, "asking actor cancelled", cause});
    }
}

} // namespace detail
} // namespace troupe
