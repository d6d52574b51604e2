// Part of troupe. See LICENSE at the repository root.
//
// The mailbox's queue against the alternatives for the same role (STYLE §6:
// a hand-written structure must beat Boost.Lockfree where it is used):
//   troupe/mailbox/* : troupe::mailbox (intrusive LIFO inbox + slot counter)
//   boost/mailbox/*  : boost::lockfree::queue<T*> with a fixed pool (bounded_push)
//   caf/mailbox/*    : CAF 0.17's caf::intrusive::lifo_inbox (unbounded)
// Nodes are preallocated for every variant, so only the queues are measured.
// push_pop: one thread pushes and pops one node (capacity 1024). mpsc/8: 8
// producer threads, one consumer thread, capacity 65,534 (Boost's largest
// fixed pool) so that the queues are measured rather than producers yielding
// on a full lane (CAF: unbounded); items = messages.

#include <troupe/mailbox/mailbox.hpp>

#include <benchmark/benchmark.h>
#include <boost/lockfree/queue.hpp>
#include <caf/intrusive/lifo_inbox.hpp>
#include <caf/intrusive/singly_linked.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

constexpr std::uint32_t capacity = 1024;
constexpr std::uint32_t mpsc_capacity = 65'534;
constexpr std::int64_t per_producer = 100'000;
constexpr int producers = 8;

struct troupe_node : troupe::mailbox_node {
    std::int64_t value = 0;
};

struct caf_node : caf::intrusive::singly_linked<caf_node> {
    std::int64_t value = 0;
};
struct caf_policy {
    using mapped_type = caf_node;
    struct deleter_type {
        void operator()(caf_node* /*unused*/) const noexcept {} // nodes are preallocated
    };
    using unique_pointer = std::unique_ptr<caf_node, deleter_type>;
};
using caf_inbox = caf::intrusive::lifo_inbox<caf_policy>;

void BM_Troupe_MailboxPushPop(benchmark::State& state) {
    troupe::mailbox box(capacity, false);
    troupe_node n;
    for (auto _ : state) {
        (void)box.push(&n);
        box.fetch();
        benchmark::DoNotOptimize(box.pop_user());
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Boost_MailboxPushPop(benchmark::State& state) {
    boost::lockfree::queue<troupe_node*> q(capacity);
    troupe_node n;
    troupe_node* out = nullptr;
    for (auto _ : state) {
        (void)q.bounded_push(&n);
        (void)q.pop(out);
        benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Caf_MailboxPushPop(benchmark::State& state) {
    caf_inbox inbox;
    caf_node n;
    for (auto _ : state) {
        (void)inbox.push_front(&n);
        benchmark::DoNotOptimize(inbox.take_head());
    }
    state.SetItemsProcessed(state.iterations());
}

/// Runs `producers` threads calling `push(node)` for their nodes and the
/// calling thread popping with `pop()` (returns how many it got) until all
/// arrived.
template <class Node, class Push, class Pop>
void run_mpsc(benchmark::State& state, Push push, Pop pop) {
    std::vector<Node> nodes(static_cast<std::size_t>(producers * per_producer));
    for (auto _ : state) {
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        threads.reserve(producers);
        for (int p = 0; p < producers; ++p) {
            threads.emplace_back([&, p] {
                while (!go.load(std::memory_order_acquire)) {
                }
                for (std::int64_t i = 0; i < per_producer; ++i) {
                    push(&nodes[static_cast<std::size_t>(p * per_producer + i)]);
                }
            });
        }
        go.store(true, std::memory_order_release);
        std::int64_t received = 0;
        while (received < producers * per_producer) {
            received += pop();
        }
        for (auto& t : threads) {
            t.join();
        }
    }
    state.SetItemsProcessed(state.iterations() * producers * per_producer);
}

void BM_Troupe_MailboxMpsc(benchmark::State& state) {
    troupe::mailbox box(mpsc_capacity, false);
    run_mpsc<troupe_node>(
        state,
        [&](troupe_node* n) {
            while (box.push(n) == troupe::push_result::full) {
                std::this_thread::yield();
            }
        },
        [&]() -> std::int64_t {
            box.fetch();
            std::int64_t got = 0;
            while (box.pop_user() != nullptr) {
                ++got;
            }
            return got;
        });
}

void BM_Boost_MailboxMpsc(benchmark::State& state) {
    boost::lockfree::queue<troupe_node*> q(mpsc_capacity);
    run_mpsc<troupe_node>(
        state,
        [&](troupe_node* n) {
            while (!q.bounded_push(n)) {
                std::this_thread::yield();
            }
        },
        [&]() -> std::int64_t {
            std::int64_t got = 0;
            troupe_node* out = nullptr;
            while (q.pop(out)) {
                ++got;
            }
            return got;
        });
}

void BM_Caf_MailboxMpsc(benchmark::State& state) {
    caf_inbox inbox;
    run_mpsc<caf_node>(
        state, [&](caf_node* n) { (void)inbox.push_front(n); },
        [&]() -> std::int64_t {
            std::int64_t got = 0;
            for (caf_node* n = inbox.take_head(); n != nullptr;
                 n = static_cast<caf_node*>(n->next)) {
                ++got;
            }
            return got;
        });
}

} // namespace

BENCHMARK(BM_Troupe_MailboxPushPop)->Name("troupe/mailbox/push_pop");
BENCHMARK(BM_Boost_MailboxPushPop)->Name("boost/mailbox/push_pop");
BENCHMARK(BM_Caf_MailboxPushPop)->Name("caf/mailbox/push_pop");
BENCHMARK(BM_Troupe_MailboxMpsc)
    ->Name("troupe/mailbox/mpsc/8")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Boost_MailboxMpsc)
    ->Name("boost/mailbox/mpsc/8")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Caf_MailboxMpsc)
    ->Name("caf/mailbox/mpsc/8")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
