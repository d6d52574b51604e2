// Part of troupe. See LICENSE at the repository root.
// The accounting identity of `actor_counters` in every snapshot, read from
// another thread while several senders (blocking, rejected, suspending) feed
// a slow coroutine handler. Synchronisation is by joins and counts only.

#include "test_support.hpp"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace troupe {
namespace {

using namespace test_support;

struct work {
    int n = 0;
};
struct pushes {
    using reply_type = int;
    actor_ref<std::variant<work>> to;
    int count = 0;
};
using slow_proto = std::variant<work>;

/// Every 16th message suspends its coroutine handler for a while, so
/// snapshots catch messages in flight, queued behind it, and senders waiting.
class slow : public actor<slow_proto> {
public:
    task<> on(work& w) {
        if (w.n % 16 == 0) {
            (void)co_await sleep(std::chrono::microseconds(200));
        }
    }
};

/// Sends from a coroutine: under `block`, `co_await send` suspends when full.
class co_sender : public actor<pushes> {
public:
    task<int> on(pushes& m) {
        int sent = 0;
        for (int i = 0; i < m.count; ++i) {
            if (co_await send(m.to, work{i})) {
                ++sent;
            }
        }
        co_return sent;
    }
};

TEST(CountersStress, EverySnapshotBalancesWhileMessagesFlow) {
    system sys(system_config{.workers = 2});
    constexpr std::uint32_t capacity = 8;
    spawn_options blocking = options(capacity, overflow_policy::block);
    blocking.block_timeout = std::chrono::seconds(30);
    auto target = sys.spawn_with<slow>(blocking);
    auto rejecting = sys.spawn_with<slow>(options(capacity, overflow_policy::reject));

    constexpr int per_thread = 1500;
    constexpr int threads = 3;
    std::atomic<int> senders_left{threads + 1};
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                (void)target.tell(work{i}); // blocks while full (a plain thread)
                if (t == 0) {
                    (void)rejecting.tell(work{i}); // refused while full
                }
            }
            senders_left.fetch_sub(1);
        });
    }
    auto co = sys.spawn<co_sender>();
    auto co_done = co.ask(pushes{target, per_thread}, std::chrono::seconds(60));

    std::uint64_t snapshots = 0;
    std::uint64_t last_processed = 0;
    std::thread observer([&] {
        const auto done = static_cast<std::uint64_t>(per_thread) * (threads + 1);
        for (;;) {
            const bool senders_done = senders_left.load() == 0;
            for (const auto& who : {target.addr(), rejecting.addr()}) {
                const actor_counters c = sys.counters(who).value();
                ++snapshots;
                ASSERT_EQ(c.sent, c.accounted())
                    << "processed " << c.processed << " queued " << c.queued << " in_flight "
                    << c.in_flight << " rejected " << c.rejected;
                ASSERT_LE(c.in_flight, 1u);
                ASSERT_LE(c.queued, c.sent) << "no message is counted twice";
            }
            const actor_counters t = sys.counters(target.addr()).value();
            ASSERT_GE(t.processed, last_processed) << "processed only grows";
            last_processed = t.processed;
            if (senders_done && t.processed == done) {
                return;
            }
            std::this_thread::yield(); // a busy observer, not a synchronisation
        }
    });
    for (auto& s : senders) {
        s.join();
    }
    EXPECT_EQ(co_done.get().value_or(-1), per_thread);
    senders_left.fetch_sub(1);
    observer.join();
    EXPECT_GT(snapshots, 0u);

    const actor_counters t = sys.counters(target.addr()).value();
    EXPECT_EQ(t.sent, static_cast<std::uint64_t>(per_thread) * (threads + 1));
    EXPECT_EQ(t.rejected, 0u) << "blocking senders lose nothing";
    EXPECT_EQ(t.queued + t.in_flight, 0u);
    EXPECT_TRUE(sys.shutdown());
    const actor_counters r = sys.counters(rejecting.addr()).value();
    EXPECT_EQ(r.sent, static_cast<std::uint64_t>(per_thread));
    EXPECT_EQ(r.sent, r.processed + r.rejected + r.dead_lettered);
}

} // namespace
} // namespace troupe
