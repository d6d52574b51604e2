// Part of troupe. See LICENSE at the repository root.

// Pools on real threads: several threads ask through one pool, with every
// routing, while one of them keeps crashing workers. Every ask completes
// (a reply, or handler_failed for the crashes), the workers handled exactly
// the asks that were answered, consistent hashing never splits a key, and
// broadcasts race with membership changes.
#include <troupe/supervision/broadcast_group.hpp>
#include <troupe/supervision/pool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using namespace troupe;

namespace {

struct work {
    using reply_type = int;
    int key = 0;
};
struct crash {
    using reply_type = int;
};
struct ping {};
using sproto = std::variant<work, crash, ping>;

/// Which worker saw which key, and how many messages were handled.
struct ledger {
    std::mutex m;
    std::map<int, std::set<std::string>> owners; // guarded by m
    std::atomic<int> handled{0};
    std::atomic<int> pings{0};
};

class sworker : public actor<sproto> {
public:
    explicit sworker(std::shared_ptr<ledger> l) : ledger_(std::move(l)) {}
    int on(work& w) {
        {
            std::lock_guard lock(ledger_->m);
            ledger_->owners[w.key].insert(path());
        }
        ledger_->handled.fetch_add(1, std::memory_order_relaxed);
        return w.key;
    }
    int on(crash& /*m*/) { throw std::runtime_error("crash on purpose"); }
    void on(ping& /*m*/) { ledger_->pings.fetch_add(1, std::memory_order_relaxed); }

private:
    std::shared_ptr<ledger> ledger_;
};

struct PoolStressTest : ::testing::TestWithParam<pool_routing> {};

TEST_P(PoolStressTest, EveryAskCompletesWhileWorkersCrash) {
    troupe::system sys(system_config{.workers = 2});
    auto book = std::make_shared<ledger>();
    pool_options<sproto> o{.size = 4, .routing = GetParam()};
    o.key = message_key<sproto>([](const auto& m) -> std::uint64_t {
        if constexpr (requires { m.key; }) {
            return static_cast<std::uint64_t>(m.key);
        } else {
            return 0;
        }
    });
    o.supervision.max_restarts = 1'000'000;
    auto pool = spawn_pool<sworker>(sys, o, book);
    ASSERT_TRUE(pool);
    constexpr int threads = 4;
    constexpr int rounds = 40;
    constexpr int batch = 50; // 4 x 50 in flight stays far below a mailbox's 1024
    std::atomic<int> replies{0};
    std::atomic<int> failures{0};
    std::atomic<int> other{0};
    std::vector<std::thread> senders;
    senders.reserve(threads);
    for (int t = 0; t < threads; ++t) {
        senders.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                std::vector<ask_handle<int>> pending;
                pending.reserve(batch + 1);
                for (int i = 0; i < batch; ++i) {
                    pending.push_back(pool->ask(work{(t * 7919 + r * batch + i) % 97}, 30s));
                }
                if (t == 0) {
                    pending.push_back(pool->ask(crash{}, 30s));
                }
                for (auto& h : pending) {
                    auto out = h.get();
                    if (out) {
                        replies.fetch_add(1, std::memory_order_relaxed);
                    } else if (out.error().code() == errc::handler_failed) {
                        failures.fetch_add(1, std::memory_order_relaxed);
                    } else {
                        other.fetch_add(1, std::memory_order_relaxed);
                    }
                }
            }
        });
    }
    for (auto& t : senders) {
        t.join();
    }
    EXPECT_EQ(replies.load(), threads * rounds * batch);
    EXPECT_EQ(failures.load(), rounds);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(book->handled.load(), replies.load());
    std::set<std::string> used;
    {
        std::lock_guard lock(book->m);
        for (const auto& [key, owners] : book->owners) {
            if (GetParam() == pool_routing::consistent_hash) {
                EXPECT_EQ(owners.size(), 1u) << "key " << key;
            }
            used.insert(owners.begin(), owners.end());
        }
    }
    EXPECT_EQ(used.size(), 4u);
    for (const auto& w : pool->workers()) {
        EXPECT_FALSE(w.addr().is_terminated()) << "restarted in place";
    }
    ASSERT_TRUE(sys.shutdown(30s));
}

INSTANTIATE_TEST_SUITE_P(Routing, PoolStressTest,
                         ::testing::Values(pool_routing::round_robin, pool_routing::least_loaded,
                                           pool_routing::consistent_hash),
                         [](const ::testing::TestParamInfo<pool_routing>& param) {
                             switch (param.param) {
                             case pool_routing::round_robin: return std::string("RoundRobin");
                             case pool_routing::least_loaded: return std::string("LeastLoaded");
                             case pool_routing::consistent_hash:
                                 return std::string("ConsistentHash");
                             }
                             return std::string("Unknown");
                         });

TEST(PoolStressSpawn, TheHandleAndTheSupervisorAgreeOnTheWorkers) {
    // The supervisor's first turn races with the spawning thread's
    // spawn-ahead of the workers: either way each worker is spawned once.
    troupe::system sys(system_config{.workers = 2});
    auto book = std::make_shared<ledger>();
    for (int i = 0; i < 30; ++i) {
        const std::string name = "p" + std::to_string(i);
        auto pool = spawn_pool<sworker>(sys, {.size = 3, .name = name}, book);
        ASSERT_TRUE(pool);
        ASSERT_TRUE(pool->ask(work{i}, 30s).get());
        auto sup = sys.find<supervisor_protocol>("/user/" + name);
        ASSERT_TRUE(sup);
        auto kids = sup->ask(which_children{}, 30s).get();
        ASSERT_TRUE(kids);
        const auto workers = pool->workers();
        ASSERT_EQ(kids->size(), workers.size());
        for (std::size_t k = 0; k < workers.size(); ++k) {
            EXPECT_EQ((*kids)[k].addr, workers[k].addr());
        }
    }
    EXPECT_EQ(sys.live_actors(), 30 * 4);
    ASSERT_TRUE(sys.shutdown(30s));
}

TEST(BroadcastGroupStress, BroadcastsRaceWithMembershipChanges) {
    troupe::system sys(system_config{.workers = 2});
    auto book = std::make_shared<ledger>();
    std::vector<actor_ref<sproto>> actors;
    actors.reserve(8);
    for (int i = 0; i < 8; ++i) {
        actors.push_back(sys.spawn<sworker>(book));
    }
    broadcast_group<sproto> group;
    for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(group.add(actors[i]));
    }
    std::atomic<bool> done{false};
    std::thread churn([&] {
        // Members 4..7 come and go; 0..3 stay.
        for (int i = 0; !done.load(std::memory_order_relaxed) || i < 100; ++i) {
            const auto& a = actors[4 + static_cast<std::size_t>(i) % 4];
            if (i % 2 == 0) {
                (void)group.add(a);
            } else {
                (void)group.remove(a);
            }
        }
    });
    std::atomic<int> accepted{0};
    std::vector<std::thread> senders;
    senders.reserve(2);
    for (int t = 0; t < 2; ++t) {
        senders.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                auto r = group.tell(ping{});
                ASSERT_TRUE(r);
                EXPECT_GE(r->accepted, 4u);
                EXPECT_EQ(r->removed, 0u);
                accepted.fetch_add(static_cast<int>(r->accepted), std::memory_order_relaxed);
            }
        });
    }
    for (auto& t : senders) {
        t.join();
    }
    done.store(true, std::memory_order_relaxed);
    churn.join();
    // Every accepted ping is handled before the reply to a later ask from
    // this thread (the senders have joined: their pushes came first).
    for (const auto& a : actors) {
        ASSERT_TRUE(a.ask(work{0}, 30s).get());
    }
    EXPECT_EQ(book->pings.load(), accepted.load());
    ASSERT_TRUE(sys.shutdown(30s));
}

} // namespace
