// Part of troupe. See LICENSE at the repository root.

// Real threads across nodes in one process (labelled stress; run under TSan
// too): three nodes linked pairwise, concurrent askers on every link.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace stress {
struct square {
    using reply_type = std::int64_t;
    std::int64_t n = 0;
    MSGPACK_DEFINE(n)
};
} // namespace stress
TROUPE_WIRE_TYPE(::stress::square, "stress.square", 1);

namespace troupe::net {
namespace {

using namespace std::chrono_literals;

class squarer final : public actor<stress::square> {
public:
    std::int64_t on(stress::square& s) { return s.n * s.n; }
};

TEST(NetStress, ThreeNodesAskEachOtherFromManyThreads) {
    constexpr int nodes = 3;
    std::array<std::unique_ptr<troupe::system>, nodes> systems;
    std::array<std::shared_ptr<node>, nodes> n;
    std::array<std::uint16_t, nodes> ports{};
    for (int i = 0; i < nodes; ++i) {
        systems[i] = std::make_unique<troupe::system>();
        node_options o;
        o.name = "n" + std::to_string(i);
        o.secret = "a shared cluster secret";
        auto attached = node::attach(*systems[i], o);
        ASSERT_TRUE(attached) << attached.error();
        n[i] = *attached;
        auto port = n[i]->listen();
        ASSERT_TRUE(port);
        ports[i] = *port;
        ASSERT_TRUE(n[i]->publish("squarer", systems[i]->spawn<squarer>()));
    }
    // Every node connects to the ones after it: 3 links, each used both ways.
    std::vector<actor_ref<stress::square>> targets; // (from, to) for every ordered pair
    for (int i = 0; i < nodes; ++i) {
        for (int j = i + 1; j < nodes; ++j) {
            auto peer = n[i]->connect("127.0.0.1", ports[j]);
            ASSERT_TRUE(peer) << peer.error();
        }
    }
    for (int i = 0; i < nodes; ++i) {
        ASSERT_EQ(n[i]->peers().size(), static_cast<std::size_t>(nodes - 1));
        for (const auto& p : n[i]->peers()) {
            auto ref = n[i]->lookup<stress::square>(p.id, "squarer", 5s);
            ASSERT_TRUE(ref) << ref.error();
            targets.push_back(*ref);
        }
    }
    constexpr int asks_per_thread = 500;
    std::atomic<int> right{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < targets.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < asks_per_thread; ++k) {
                const std::int64_t x = static_cast<std::int64_t>(t) * 1000 + k;
                auto r = targets[t].ask(stress::square{x}, 10s).get();
                (r && *r == x * x ? right : wrong).fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(right.load(), static_cast<int>(targets.size()) * asks_per_thread);
    for (auto& node_ptr : n) {
        EXPECT_EQ(node_ptr->counters().links_lost, 0u);
    }
}

} // namespace
} // namespace troupe::net
