// Part of troupe. See LICENSE at the repository root.
// Lifecycle races on real threads (work-stealing scheduler): exit observers
// registered while the actor terminates, and a stop token signalled by the
// requesting thread while a handler runs. Synchronisation is by latches,
// futures and bounded condition-variable waits; nothing is timed.

#include "test_support.hpp"

#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>

namespace troupe {
namespace {

using namespace test_support;

/// Counts callbacks from any thread; waits (bounded) for a number of them.
struct counter {
    std::mutex m;
    std::condition_variable cv;
    int n = 0;
    std::vector<errc> codes;
    void hit(const error& e) {
        {
            std::lock_guard lock(m);
            ++n;
            codes.push_back(e.code());
        }
        cv.notify_all();
    }
    /// Up to 600 waits of 100 ms (a minute).
    bool wait_for_count(int want) {
        std::unique_lock lock(m);
        for (int i = 0; i < 600 && n < want; ++i) {
            cv.wait_for(lock, std::chrono::milliseconds(100));
        }
        return n >= want;
    }
};

TEST(LifecycleStressTest, ExitObserversRacingWithTerminationAreAllAnswered) {
    system sys({.workers = 2});
    constexpr int rounds = 50;
    constexpr int threads = 3;
    constexpr int per_thread = 20;
    for (int round = 0; round < rounds; ++round) {
        record rec;
        auto a = sys.spawn<recorder>(&rec);
        auto hits = std::make_shared<counter>();
        std::latch go(threads + 1);
        std::vector<std::thread> watchers;
        watchers.reserve(threads);
        for (int t = 0; t < threads; ++t) {
            watchers.emplace_back([&, hits] {
                go.arrive_and_wait();
                for (int i = 0; i < per_thread; ++i) {
                    EXPECT_TRUE(sys.on_exit(a.addr(), [hits](const error& e) { hits->hit(e); }));
                }
            });
        }
        go.arrive_and_wait();
        ASSERT_TRUE(a.stop(error{errc::stopped, "racing"}));
        for (auto& w : watchers) {
            w.join();
        }
        ASSERT_TRUE(hits->wait_for_count(threads * per_thread)) << "round " << round;
        ASSERT_TRUE(sys.wait_for_exit(a.addr(), 60s));
        std::lock_guard lock(hits->m);
        EXPECT_EQ(hits->n, threads * per_thread) << "each observer is told exactly once";
        for (errc c : hits->codes) {
            EXPECT_EQ(c, errc::stopped);
        }
    }
}

struct park {
    std::latch* entered;
    std::latch* release;
    std::promise<std::stop_token>* token;
};
class parker : public actor<park> {
public:
    void on(park& p) {
        p.token->set_value(stop_token());
        p.entered->count_down();
        p.release->wait();
    }
};

TEST(LifecycleStressTest, StopSignalsTheTokenOfARunningHandlerBeforeItReturns) {
    system sys({.workers = 2});
    for (bool by_kill : {false, true}) {
        SCOPED_TRACE(by_kill ? "kill" : "stop");
        auto a = sys.spawn<parker>();
        std::latch entered(1);
        std::latch release(1);
        std::promise<std::stop_token> token;
        auto got = token.get_future();
        ASSERT_TRUE(a.tell(park{&entered, &release, &token}));
        entered.wait();
        const std::stop_token t = got.get();
        EXPECT_FALSE(t.stop_requested());
        if (by_kill) {
            ASSERT_TRUE(a.addr().kill());
        } else {
            ASSERT_TRUE(a.stop());
        }
        EXPECT_TRUE(t.stop_requested()) << "signalled on this thread, while the handler runs";
        EXPECT_FALSE(a.addr().is_terminated());
        release.count_down();
        auto cause = sys.wait_for_exit(a.addr(), 60s);
        ASSERT_TRUE(cause);
        EXPECT_EQ(cause->code(), by_kill ? errc::killed : errc::none);
    }
}

} // namespace
} // namespace troupe
