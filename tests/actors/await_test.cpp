// Part of troupe. See LICENSE at the repository root.
// Waiting for actors to finish: the whole system or one subtree (real
// threads). Synchronisation is by asks and the waits under test only.

#include "test_support.hpp"

#include <vector>

namespace troupe {
namespace {

using namespace test_support;

struct grow {
    using reply_type = std::vector<actor_addr>;
    int depth = 0;
    int fanout = 0;
};
struct try_await {
    using reply_type = errc;
};
using tree_proto = std::variant<grow, try_await>;

/// Grows a subtree below itself and returns every address in it.
class tree_node : public actor<tree_proto> {
public:
    explicit tree_node(troupe::system* sys) : sys_(sys) {}
    task<std::vector<actor_addr>> on(grow& g) {
        std::vector<actor_addr> all;
        if (g.depth == 0) {
            co_return all;
        }
        for (int i = 0; i < g.fanout; ++i) {
            auto kid = spawn<tree_node>(sys_);
            all.push_back(kid.addr());
            auto below = co_await kid.ask(grow{g.depth - 1, g.fanout}, std::chrono::seconds(30));
            if (below) {
                all.insert(all.end(), below->begin(), below->end());
            }
        }
        co_return all;
    }
    errc on(try_await&) {
        auto all = sys_->await_all_actors_done(std::chrono::seconds(1));
        auto sub = sys_->wait_for_subtree(self().addr(), std::chrono::seconds(1));
        return !all && !sub && all.error().code() == sub.error().code() ? all.error().code()
                                                                        : errc::none;
    }

private:
    troupe::system* sys_;
};

std::vector<actor_addr> grow_tree(const actor_ref<tree_proto>& root, int depth, int fanout) {
    return root.ask(grow{depth, fanout}, std::chrono::seconds(30)).get().value();
}

TEST(AwaitTest, AwaitAllActorsDoneReturnsOnceTheLastOneTerminated) {
    system sys(system_config{.workers = 2});
    std::vector<actor_ref<tree_proto>> roots;
    std::vector<actor_addr> everyone;
    for (int i = 0; i < 4; ++i) {
        roots.push_back(sys.spawn<tree_node>(&sys));
        auto below = grow_tree(roots.back(), 2, 3);
        everyone.insert(everyone.end(), below.begin(), below.end());
        everyone.push_back(roots.back().addr());
    }
    ASSERT_EQ(sys.live_actors(), static_cast<std::int64_t>(everyone.size()));
    auto early = sys.await_all_actors_done(std::chrono::milliseconds(1));
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code(), errc::timeout);
    for (auto& r : roots) {
        EXPECT_TRUE(r.tell(grow{0, 0})); // left queued or handled: accounted either way
        r.stop();
    }
    ASSERT_TRUE(sys.await_all_actors_done(std::chrono::seconds(60)));
    EXPECT_EQ(sys.live_actors(), 0);
    for (const auto& a : everyone) {
        EXPECT_TRUE(a.is_terminated()) << a.path();
    }
    for (auto& r : roots) {
        const actor_counters c = sys.counters(r.addr()).value();
        EXPECT_EQ(c.sent, c.processed + c.dead_lettered) << "final counters once awaited";
        EXPECT_EQ(c.queued + c.in_flight, 0u);
    }
    EXPECT_TRUE(sys.await_all_actors_done(std::chrono::seconds(1))) << "nothing left: at once";
    EXPECT_TRUE(sys.shutdown());
}

TEST(AwaitTest, WaitForSubtreeCoversEveryDescendant) {
    system sys(system_config{.workers = 2});
    auto keep = sys.spawn<tree_node>(&sys); // another subtree, left running
    (void)grow_tree(keep, 1, 2);
    auto root = sys.spawn<tree_node>(&sys);
    const auto below = grow_tree(root, 3, 2);
    ASSERT_EQ(below.size(), 14u);
    auto early = sys.wait_for_subtree(root.addr(), std::chrono::milliseconds(1));
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code(), errc::timeout);
    root.stop();
    ASSERT_TRUE(sys.wait_for_subtree(root.addr(), std::chrono::seconds(60)));
    for (const auto& a : below) {
        EXPECT_TRUE(a.is_terminated()) << a.path();
    }
    EXPECT_FALSE(keep.addr().is_terminated());
    EXPECT_EQ(sys.wait_for_subtree(actor_addr{}, std::chrono::seconds(1)).error().code(),
              errc::invalid_argument);
    EXPECT_TRUE(sys.shutdown());
}

// A kill terminates the root at once and leaves its children to their own
// (killed) last turns: what the wait covers is what it found listed.
TEST(AwaitTest, WaitForSubtreeReturnsAfterAKill) {
    system sys(system_config{.workers = 2});
    auto root = sys.spawn<tree_node>(&sys);
    (void)grow_tree(root, 3, 3);
    ASSERT_TRUE(root.addr().kill());
    ASSERT_TRUE(sys.wait_for_subtree(root.addr(), std::chrono::seconds(60)));
    EXPECT_TRUE(root.addr().is_terminated());
    ASSERT_TRUE(sys.await_all_actors_done(std::chrono::seconds(60)));
    EXPECT_TRUE(sys.shutdown());
}

TEST(AwaitTest, WaitingFromInsideAnActorIsRefused) {
    system sys(system_config{.workers = 2});
    auto a = sys.spawn<tree_node>(&sys);
    EXPECT_EQ(a.ask(try_await{}, std::chrono::seconds(30)).get().value_or(errc::none),
              errc::would_block);
    EXPECT_TRUE(sys.shutdown());
}

} // namespace
} // namespace troupe
