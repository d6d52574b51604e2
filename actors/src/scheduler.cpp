// Part of troupe. See LICENSE at the repository root.
//
// Work-stealing scheduler.
//
// - Each worker owns a LIFO slot (the actor made runnable by the actor it is
//   running: ping-pong and request/reply stay on one core, hot in cache), and
//   a bounded run queue (boost::lockfree::queue with a fixed node pool, so it
//   never allocates); other workers steal from it when idle.
// - Threads that are not workers push to a shared injection queue
//   (boost::lockfree::queue). It can grow, but holds each actor at most once
//   (the mailbox's idle bit), so it is bounded by the number of actors.
// - Fairness: an actor that used its throughput budget goes to the back of the
//   run queue; the LIFO slot is bypassed after `lifo_streak_limit` uses in a
//   row; the injection queue is polled first every `injection_poll_interval`
//   turns.
// - Idle workers spin briefly, yield their core a few times, then park on a
//   futex (std::atomic::wait): no timed polling sleeps.

#include "scheduler.hpp"

#include <troupe/actors/detail/cell.hpp>
#include <troupe/mailbox/cache_line.hpp>

#include <boost/lockfree/queue.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TROUPE_CPU_RELAX() _mm_pause()
#else
#define TROUPE_CPU_RELAX() ((void)0)
#endif

namespace troupe::internal {

namespace {

using detail::cell;
using detail::resume_result;

constexpr std::size_t local_queue_capacity = 4096;
constexpr unsigned lifo_streak_limit = 32;
constexpr unsigned injection_poll_interval = 61;
// An idle worker first spins `spin_rounds` times (64 pauses between looks
// for work), then yields its core `yield_rounds` times (between looks), then
// parks. Yielding lets threads outside the scheduler that share the core run
// at once (net's I/O thread, a sender blocked on a reply): a worker that
// only spun held the core from the very thread that would hand it work
// (docs/net-bench.md has the remote round trips before and after).
constexpr unsigned spin_rounds = 4;
constexpr unsigned yield_rounds = 128;
constexpr unsigned steal_batch = 32;

class work_stealing_scheduler;

struct alignas(cache_line_size) worker {
    boost::lockfree::queue<cell*, boost::lockfree::capacity<local_queue_capacity>> queue;
    cell* lifo = nullptr;     // owner only
    unsigned lifo_streak = 0; // owner only
    unsigned ticks = 0;       // owner only
    std::thread thread;
};

class work_stealing_scheduler final : public executor {
public:
    explicit work_stealing_scheduler(unsigned n) : workers_(n) {
        for (auto& w : workers_) {
            w = std::make_unique<worker>();
        }
        for (unsigned i = 0; i < n; ++i) {
            workers_[i]->thread = std::thread([this, i] { run(i); });
        }
    }
    ~work_stealing_scheduler() override { shutdown(); }
    work_stealing_scheduler(const work_stealing_scheduler&) = delete;
    work_stealing_scheduler& operator=(const work_stealing_scheduler&) = delete;

    void schedule(cell* c) noexcept override {
        auto& ctx = detail::this_thread_context();
        if (ctx.scheduler == this) {
            auto* w = static_cast<worker*>(ctx.worker);
            if (cell* displaced = std::exchange(w->lifo, c)) {
                push_local(*w, displaced);
            }
            return;
        }
        while (!injection_.push(c)) {
            // Allocation of a queue node failed: nothing sensible to do but retry.
            std::this_thread::yield();
        }
        notify_one();
    }

    void shutdown() noexcept override {
        if (stopping_.exchange(true, std::memory_order_acq_rel)) {
            return;
        }
        // release: pairs with the acquire loads in park().
        wake_seq_.fetch_add(1, std::memory_order_release);
        wake_seq_.notify_all();
        for (auto& w : workers_) {
            if (w->thread.joinable()) {
                w->thread.join();
            }
        }
    }

private:
    void push_local(worker& w, cell* c) noexcept {
        if (!w.queue.bounded_push(c)) {
            while (!injection_.push(c)) {
                std::this_thread::yield();
            }
        }
        notify_one();
    }

    /// Wakes one parked worker if any is parked.
    void notify_one() noexcept {
        // seq_cst RMW (not a load): a parker's registration and our push are
        // then ordered through this atomic — either we see the parker, or
        // the parker's re-check sees our push (it acquires our release).
        if (sleepers_.fetch_add(0, std::memory_order_seq_cst) == 0) {
            return;
        }
        wake_seq_.fetch_add(1, std::memory_order_release); // pairs with park()
        wake_seq_.notify_one();
    }

    /// Takes one actor to run now and moves up to `steal_batch - 1` more of
    /// the victim's queue into our own: stealing one at a time makes the
    /// thief come back for every actor the busy worker wakes, and each trip
    /// moves that actor's cache lines across cores.
    cell* steal(worker& w, unsigned self) noexcept {
        const auto n = static_cast<unsigned>(workers_.size());
        for (unsigned k = 1; k < n; ++k) {
            auto& victim = workers_[(self + k) % n]->queue;
            cell* first = nullptr;
            if (!victim.pop(first)) {
                continue;
            }
            cell* extra = nullptr;
            for (unsigned i = 1; i < steal_batch && victim.pop(extra); ++i) {
                if (!w.queue.bounded_push(extra)) {
                    while (!injection_.push(extra)) {
                        std::this_thread::yield();
                    }
                }
            }
            return first;
        }
        return nullptr;
    }

    cell* find_work(worker& w, unsigned self) noexcept {
        cell* c = nullptr;
        if (++w.ticks % injection_poll_interval == 0 && injection_.pop(c)) {
            return c;
        }
        if (w.lifo != nullptr && w.lifo_streak < lifo_streak_limit) {
            ++w.lifo_streak;
            return std::exchange(w.lifo, nullptr);
        }
        w.lifo_streak = 0;
        if (w.lifo != nullptr) {
            // Streak over: the LIFO actor waits its turn behind the queue.
            push_local(w, std::exchange(w.lifo, nullptr));
        }
        if (w.queue.pop(c) || injection_.pop(c)) {
            return c;
        }
        return steal(w, self);
    }

    void park(worker& w, unsigned self, cell*& found) noexcept {
        // acquire: pairs with the release increments in notify_one/shutdown.
        std::uint32_t seq = wake_seq_.load(std::memory_order_acquire);
        sleepers_.fetch_add(1, std::memory_order_seq_cst); // see notify_one()
        if (stopping_.load(std::memory_order_acquire) || (found = find_work(w, self)) != nullptr) {
            sleepers_.fetch_sub(1, std::memory_order_seq_cst);
            return;
        }
        wake_seq_.wait(seq, std::memory_order_acquire);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }

    void run(unsigned self) {
        worker& w = *workers_[self];
        auto& ctx = detail::this_thread_context();
        ctx.worker = &w;
        ctx.scheduler = this;
        unsigned idle_rounds = 0;
        for (;;) {
            cell* c = find_work(w, self);
            if (c == nullptr) {
                if (stopping_.load(std::memory_order_acquire)) {
                    break;
                }
                if (++idle_rounds < spin_rounds) {
                    for (int i = 0; i < 64; ++i) {
                        TROUPE_CPU_RELAX();
                    }
                    continue;
                }
                if (idle_rounds < spin_rounds + yield_rounds) {
                    std::this_thread::yield();
                    continue;
                }
                park(w, self, c);
                if (c == nullptr) {
                    continue;
                }
            }
            idle_rounds = 0;
            if (c->resume() == resume_result::again) {
                push_local(w, c);
            }
        }
        ctx.worker = nullptr;
        ctx.scheduler = nullptr;
    }

    std::vector<std::unique_ptr<worker>> workers_;
    boost::lockfree::queue<cell*> injection_{1024};
    alignas(cache_line_size) std::atomic<std::uint32_t> sleepers_{0}; // parked or about to park
    alignas(cache_line_size) std::atomic<std::uint32_t> wake_seq_{0}; // futex word
    std::atomic<bool> stopping_{false};
};

} // namespace

std::unique_ptr<executor> make_work_stealing_scheduler(unsigned n) {
    return std::make_unique<work_stealing_scheduler>(n);
}

} // namespace troupe::internal
