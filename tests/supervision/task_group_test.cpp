// Part of troupe. See LICENSE at the repository root.

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
        g.spawn_task([i, &ran](const std::stop_token&) {
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
        g.spawn_task([i, &started](const std::stop_token& token) {
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

// ---- join from inside an actor ------------------------------------------------

namespace {

struct join_now {};
using jproto = std::variant<join_now>;

// Awaits the group's join in a task handler and logs the outcome.
class joiner : public actor<jproto> {
public:
    joiner(task_group* g, log_ptr log) : g_(g), log_(std::move(log)) {}
    task<> on(join_now&) {
        log_->add("waiting");
        aggregate_error errors = co_await g_->join_async();
        std::string s = "joined:" + std::to_string(errors.size());
        for (const auto& f : errors.failures()) {
            s += ":" + std::string(to_string(f.cause.code()));
        }
        log_->add(s);
    }

private:
    task_group* g_;
    log_ptr log_;
};

// A member the test can reach: records its ref on start.
class member : public actor<wproto> {
public:
    member(std::string name, std::vector<actor_ref<wproto>>* reg, log_ptr log)
        : name_(std::move(name)), reg_(reg), log_(std::move(log)) {}
    void on_start() override { reg_->push_back(self()); }
    void on_stop(const error&) override { log_->add("stop:" + name_); }
    void on(add_msg&) {}
    void on(crash_msg&) { throw std::runtime_error("boom " + name_); }
    int on(get_msg&) { return 0; }
    void on(stop_msg&) { stop(); }

private:
    std::string name_;
    std::vector<actor_ref<wproto>>* reg_;
    log_ptr log_;
};

struct TaskGroupAsyncTest : ::testing::Test, manual_fixture {
    std::vector<actor_ref<wproto>> reg;
};

TEST_F(TaskGroupAsyncTest, JoinAsyncSuspendsTheTaskUntilMembersAreDone) {
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn<member>(std::string("m1"), &reg, log);
    g.spawn<member>(std::string("m2"), &reg, log);
    ex.run_until_idle();
    ASSERT_EQ(reg.size(), 2U);
    auto j = sys.spawn<joiner>(&g, log);
    (void)j.tell(join_now{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("waiting"), 1);
    auto members = log->get();
    EXPECT_TRUE(std::none_of(members.begin(), members.end(),
                             [](const std::string& s) { return s.starts_with("joined"); }));
    (void)reg[0].tell(crash_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("joined:1:exception"), 0); // m2 still running
    (void)reg[1].tell(stop_msg{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("joined:1:exception"), 1) << ::testing::PrintToString(log->get());
}

TEST_F(TaskGroupAsyncTest, JoinAsyncOnAFinishedGroupCompletesAtOnce) {
    task_group g(sys, {.mode = group_mode::collect_all});
    auto j = sys.spawn<joiner>(&g, log);
    (void)j.tell(join_now{});
    ex.run_until_idle();
    EXPECT_EQ(log->count("joined:0"), 1);
}

TEST_F(TaskGroupAsyncTest, CancellingTheAwaitingActorCompletesWithACancelledEntry) {
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn<member>(std::string("m1"), &reg, log);
    auto j = sys.spawn<joiner>(&g, log);
    (void)j.tell(join_now{});
    ex.run_until_idle();
    (void)j.stop();
    ex.run_until_idle();
    EXPECT_EQ(log->count("joined:1:cancelled"), 1) << ::testing::PrintToString(log->get());
    EXPECT_TRUE(j.addr().is_terminated());
    // The member kept running; the group is still joinable.
    EXPECT_EQ(log->count("stop:m1"), 0);
    g.cancel();
    ex.run_until_idle();
    EXPECT_EQ(log->count("stop:m1"), 1);
}

struct join_blocking {
    using reply_type = int;
};
class blocking_joiner : public actor<std::variant<join_blocking>> {
public:
    explicit blocking_joiner(task_group* g) : g_(g) {}
    int on(join_blocking&) {
        aggregate_error e = g_->join();
        return e.size() == 1 ? static_cast<int>(e.failures()[0].cause.code()) : -1;
    }

private:
    task_group* g_;
};

TEST(TaskGroup, BlockingJoinOnAWorkerFailsFast) {
    troupe::system sys(system_config{.workers = 1});
    auto log = std::make_shared<event_log>();
    task_group g(sys, {.mode = group_mode::collect_all});
    g.spawn<worker>(std::string("m1"), log); // never stops by itself
    auto b = sys.spawn<blocking_joiner>(&g);
    auto r = b.ask(join_blocking{}, 5s).get();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, static_cast<int>(errc::would_block));
    g.cancel();
    EXPECT_TRUE(g.join().empty());
}

} // namespace
