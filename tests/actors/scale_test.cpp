// Part of troupe. See LICENSE at the repository root.
// Depth and size probes (real threads): what would overflow a stack or cost
// O(n^2) if the runtime recursed along the tree or rescanned its lists. How
// the costs grow is reported by bench/ (stop_chain/N, timers/N), not timed here.

#include "test_support.hpp"

#include <algorithm>
#include <future>
#include <latch>

namespace troupe {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
constexpr std::int64_t chain_depth = 20'000; // TSan runs ~10x slower; the shape is the same
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr std::int64_t chain_depth = 20'000;
#else
constexpr std::int64_t chain_depth = 100'000;
#endif
#else
constexpr std::int64_t chain_depth = 100'000;
#endif

struct nothing {};

/// Spawns the next link in on_start; the deepest one hands out its address.
class chain_link final : public actor<nothing> {
public:
    chain_link(std::int64_t below, std::promise<actor_addr>* deepest)
        : below_(below), deepest_(deepest) {}
    void on_start() override {
        if (below_ == 0) {
            deepest_->set_value(addr());
        } else {
            (void)spawn<chain_link>(below_ - 1, deepest_);
        }
    }
    void on(nothing& /*unused*/) {}

private:
    std::int64_t below_;
    std::promise<actor_addr>* deepest_;
};

// A chain as deep as the test allows: path() and dump_tree() walk it without
// recursion, the ordered stop ends, and freeing it unwinds no stack.
TEST(ScaleTest, DeepChainHasPathTreeAndStops) {
    system sys(system_config{.workers = 2});
    std::promise<actor_addr> deepest_promise;
    auto deepest_future = deepest_promise.get_future();
    auto root = sys.spawn<chain_link>(chain_depth - 1, &deepest_promise);
    ASSERT_EQ(deepest_future.wait_for(60s), std::future_status::ready);
    const actor_addr deepest = deepest_future.get();
    const std::string path = deepest.path();
    EXPECT_EQ(std::count(path.begin(), path.end(), '/'), chain_depth + 1) << "/user + the chain";
    EXPECT_EQ(path.rfind("/user/$", 0), 0U);
    const std::string tree = sys.dump_tree();
    EXPECT_GE(std::count(tree.begin(), tree.end(), '\n'), chain_depth);
    std::size_t visited = 0;
    std::size_t deepest_seen = 0;
    sys.walk([&](const actor_info& a) {
        ++visited;
        if (a.addr == deepest) {
            deepest_seen = a.depth;
            EXPECT_EQ(a.path, path) << "the walk's path buffer agrees with path()";
        }
    });
    EXPECT_GE(visited, static_cast<std::size_t>(chain_depth));
    EXPECT_EQ(deepest_seen, static_cast<std::size_t>(chain_depth) + 1) << "/user is depth 1";
    const std::string json = sys.dump_tree_json();
    EXPECT_LT(json.size(), static_cast<std::size_t>(chain_depth) * 256) << "linear in the depth";
    EXPECT_EQ(sys.find_addr(path).value(), deepest);
    EXPECT_EQ(sys.live_actors(), chain_depth);
    ASSERT_TRUE(root.stop());
    ASSERT_TRUE(sys.wait_for_subtree(root.addr(), 60s));
    auto cause = sys.wait_for_exit(root.addr(), 60s);
    ASSERT_TRUE(cause) << cause.error();
    EXPECT_FALSE(*cause);
    EXPECT_TRUE(deepest.is_terminated());
    EXPECT_EQ(sys.live_actors(), 0);
    EXPECT_TRUE(sys.shutdown());
}

struct arm_many {
    int count;
};
using timer_proto = std::variant<arm_many, nothing>;

class many_timers final : public actor<timer_proto> {
public:
    explicit many_timers(std::latch* armed) : armed_(armed) {}
    void on(arm_many& m) {
        for (int i = 0; i < m.count; ++i) {
            (void)delayed_tell(self(), 1h, nothing{});
        }
        armed_->count_down();
    }
    void on(nothing& /*unused*/) {}

private:
    std::latch* armed_;
};

class ScaleManualTest : public test_support::ManualSystemTest {};

// 50,000 timers from one actor arm and are all cancelled when it stops.
TEST_F(ScaleManualTest, ManyTimersFromOneActorAreCancelledOnStop) {
    std::latch armed(1);
    auto a = sys_->spawn<many_timers>(&armed);
    ASSERT_TRUE(a.tell(arm_many{50'000}));
    run();
    ASSERT_TRUE(armed.try_wait());
    EXPECT_EQ(clk_.pending(), 50'000U);
    ASSERT_TRUE(a.stop());
    run();
    EXPECT_TRUE(a.addr().is_terminated());
    EXPECT_EQ(clk_.pending(), 0U) << "every tracked timer was cancelled";
}

} // namespace
} // namespace troupe
