// Part of troupe. See LICENSE at the repository root.
// Real threads: subscribe/unsubscribe churn concurrent with publishing.

#include <troupe/events/registry.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstddef>
#include <memory>
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
    threads.reserve(3);
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

// once-subscriptions at several priorities, half added while three threads publish and a
// fourth churns plain subscriptions through the same tree: each fires exactly once.
TEST(EventsStress, OnceFiresExactlyOnceWhileTheTreeChanges) {
    troupe::system sys(troupe::system_config{.workers = 2});
    ev::registry reg(sys);
    auto t = *reg.declare<tick>("s/once");
    constexpr int once_n = 1000;
    auto hits = std::make_unique<std::atomic<int>[]>(once_n);
    auto once_sub = [&](int i) {
        return *reg.subscribe(t,
                              [&hits, i](const ev::event<tick>&) {
                                  hits[static_cast<std::size_t>(i)].fetch_add(
                                      1, std::memory_order_relaxed); // count
                              },
                              {.priority = i % 5, .once = true});
    };
    std::vector<ev::subscription> early;
    early.reserve(once_n / 2);
    for (int i = 0; i < once_n / 2; ++i) {
        early.push_back(once_sub(i));
    }
    std::atomic<bool> churn_done{false};
    std::barrier start(4);
    std::vector<std::jthread> threads;
    threads.reserve(4);
    for (int p = 0; p < 3; ++p) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            // At least 50 publishes each, and on until the churn is over.
            // acquire: pairs with the release store below (only ends the loop).
            for (int i = 0; i < 50 || !churn_done.load(std::memory_order_acquire); ++i) {
                reg.publish(t, tick{i});
            }
        });
    }
    threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = once_n / 2; i < once_n; ++i) {
            (void)once_sub(i).release(); // kept until it fires (a handle would unsubscribe)
            auto plain = *reg.subscribe(t, [](const ev::event<tick>&) {}, {.priority = i % 7 - 3});
            auto wild = *reg.subscribe<tick>("s/*", [](const ev::event<tick>&) {});
        }
        churn_done.store(true, std::memory_order_release); // pairs with the publishers' load
    });
    threads.clear();
    reg.publish(t, tick{-1}); // reaches any once-subscription added after the last publish
    int wrong = 0;
    for (int i = 0; i < once_n; ++i) {
        wrong += hits[static_cast<std::size_t>(i)].load(std::memory_order_relaxed) == 1 ? 0 : 1;
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(reg.subscription_count(), 0u);
    EXPECT_TRUE(sys.shutdown());
}

thread_local std::vector<int> seen_here; // what the current publish delivered, on its thread

// Subscriptions that stay deliver in priority order on every publish, while another thread
// subscribes and unsubscribes others around them (exact and wildcard, any priority).
TEST(EventsStress, OrderHoldsWhileTheTreeChanges) {
    troupe::system sys(troupe::system_config{.workers = 2});
    ev::registry reg(sys);
    auto t = *reg.declare<tick>("s/order");
    std::vector<ev::subscription> keep;
    for (int tag : {30, 20, 10}) { // equal priorities pairwise: 30a before 30b, and so on
        for (int copy = 0; copy < 2; ++copy) {
            const int id = tag + copy;
            keep.push_back(*reg.subscribe(
                t, [id](const ev::event<tick>&) { seen_here.push_back(id); }, {.priority = tag}));
        }
    }
    const std::vector<int> expected{30, 31, 20, 21, 10, 11};
    std::atomic<int> bad{0};
    std::atomic<bool> churn_done{false};
    std::vector<std::jthread> threads;
    threads.reserve(3);
    for (int p = 0; p < 2; ++p) {
        threads.emplace_back([&] {
            // acquire: pairs with the release store below (only ends the loop).
            for (int i = 0; i < 50 || !churn_done.load(std::memory_order_acquire); ++i) {
                seen_here.clear();
                reg.publish(t, tick{i});
                if (seen_here != expected) {
                    bad.fetch_add(1, std::memory_order_relaxed); // count
                }
            }
        });
    }
    threads.emplace_back([&] {
        std::vector<ev::subscription> churn;
        for (int i = 0; i < 2000; ++i) {
            churn.push_back(*reg.subscribe<tick>(i % 2 == 0 ? "s/order" : "s/**",
                                                 [](const ev::event<tick>&) {},
                                                 {.priority = i % 41 - 5}));
            if (i % 3 == 2) {
                churn.erase(churn.begin() + static_cast<std::ptrdiff_t>(i % churn.size()));
            }
        }
        churn.clear();
        churn_done.store(true, std::memory_order_release); // pairs with the publishers' load
    });
    threads.clear();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(reg.subscription_count(), keep.size());
    EXPECT_TRUE(sys.shutdown());
}

} // namespace
