// Part of troupe. See LICENSE at the repository root.
// Real threads: subscribe/unsubscribe churn concurrent with publishing.

#include <troupe/events/registry.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace ev = troupe::events;

namespace {

struct tick {
    int n;
};
using proto = std::variant<ev::event<tick>>;
class counter : public troupe::actor<proto> {
public:
    explicit counter(std::atomic<long>* n) : n_(n) {}
    void on(ev::event<tick>&) { n_->fetch_add(1, std::memory_order_relaxed); }

private:
    std::atomic<long>* n_;
};

TEST(EventsStress, ChurnWhilePublishing) {
    troupe::system sys(troupe::system_config{.workers = 2});
    ev::registry reg(sys);
    std::atomic<long> delivered{0};
    std::atomic<bool> done{false};
    auto keep = *reg.subscribe<tick>(
        "s/**", [&](const ev::event<tick>&) { delivered.fetch_add(1, std::memory_order_relaxed); });
    std::vector<std::jthread> threads;
    for (int p = 0; p < 3; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < 3000; ++i) {
                (void)reg.publish<tick>("s/" + std::to_string(p) + "/" + std::to_string(i % 7),
                                        tick{i});
            }
        });
    }
    threads.emplace_back([&] {
        std::atomic<long> actor_hits{0};
        for (int i = 0; i < 300; ++i) {
            auto a = sys.spawn<counter>(&actor_hits);
            auto s1 = reg.subscribe<tick>("s/*/" + std::to_string(i % 7), a);
            auto s2 = reg.subscribe<tick>("s/**", [](const ev::event<tick>&) {}, {.once = true});
            std::stop_source src;
            auto s3 = reg.subscribe<tick>("s/1/*", [](const ev::event<tick>&) {},
                                          {.stop = src.get_token()});
            src.request_stop();
            if (i % 2 == 0) {
                a.stop();
            }
        }
        done = true;
    });
    threads.clear();
    EXPECT_EQ(delivered.load(), 9000);
    EXPECT_TRUE(sys.shutdown());
}

} // namespace
