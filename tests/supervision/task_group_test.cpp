// Part of troupe. See LICENSE at the repository root.

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <condition_variable>

using namespace std::chrono_literals;
using namespace troupe;
using namespace sup_test;

namespace {

TEST(TaskGroup, CollectAllReturnsEveryErrorAndHonoursLimit) {
    troupe::system sys(system_config{.workers = 4});
    task_group g(sys, {.mode = group_mode::collect_all, .limit = 7});
    std::atomic<int> ran{0};
    for (int i = 0; i < 100; ++i) {
        g.spawn_task([i, &ran](std::stop_token) {
            ran.fetch_add(1);
            if (i % 3 == 0) {
                throw std::runtime_error("task " + std::to_string(i));
            }
        });
    }
    aggregate_error errors = g.join();
    EXPECT_EQ(ran.load(), 100);
    EXPECT_EQ(errors.size(), 34u); // 0, 3, ..., 99
    for (const auto& f : errors.failures()) {
        EXPECT_EQ(f.cause.code(), errc::exception);
    }
    EXPECT_LE(g.peak_running(), 7u);
    EXPECT_GE(g.peak_running(), 1u);
    EXPECT_EQ(g.cancelled(), 0u);
}

TEST(TaskGroup, ActorMembersCollectAll) {
    troupe::system sys(system_config{.workers = 2});
    auto log = std::make_shared<event_log>();
    task_group g(sys, {.mode = group_mode::collect_all, .limit = 10});
    std::vector<std::string> names;
    for (int i = 0; i < 100; ++i) {
        g.spawn<worker>(std::to_string(i), log);
    }
    // Members are top-level actors; end them through the group: cancel.
    g.cancel();
    auto errors = g.join();
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(g.cancelled(), 100u); // 10 running stopped + 90 never started
    EXPECT_LE(g.peak_running(), 10u);
}

TEST(TaskGroup, CancelOnFirstErrorStopsSiblingsAndDropsQueued) {
    troupe::system sys(system_config{.workers = 8});
    task_group g(sys, {.mode = group_mode::cancel_on_first_error, .limit = 5});
    std::atomic<int> started{0};
    for (int i = 0; i < 100; ++i) {
        g.spawn_task([i, &started](std::stop_token token) {
            started.fetch_add(1);
            if (i == 4) {
                throw std::runtime_error("first failure");
            }
            // Cooperative: wait until the group cancels.
            std::mutex m;
            std::condition_variable_any cv;
            std::unique_lock lock(m);
            cv.wait(lock, token, [] { return false; });
        });
    }
    auto errors = g.join();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors.failures()[0].cause.code(), errc::exception);
    // Only the first `limit` members were started; one that had not run its
    // function yet when the group cancelled skips it.
    EXPECT_GE(started.load(), 1);
    EXPECT_LE(started.load(), 5);
    // The 95 queued never ran; the 4 running ones end either cancelled or
    // normally (they return once the token fires), never as errors.
    EXPECT_GE(g.cancelled(), 95u);
    EXPECT_LE(g.cancelled(), 99u);
}

} // namespace
