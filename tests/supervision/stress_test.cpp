// Part of troupe. See LICENSE at the repository root.

// Restart storm on real threads: children crash every few messages while
// several threads keep sending; nothing may be lost except the crashing
// messages themselves, and shutdown must complete.
#include "helpers.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace std::chrono_literals;
using namespace troupe;
using namespace sup_test;

TEST(SupervisionStress, RestartStormOnRealThreads) {
    troupe::system sys(system_config{.workers = 4});
    auto log = std::make_shared<event_log>();
    std::atomic<int> restarts{0};
    supervisor_options o{
        .strategy = restart_strategy::one_for_one, .max_restarts = 1'000'000, .within = 1s};
    o.on_event = [&](const supervision_event& e) {
        if (e.what == supervision_event::kind::restart) {
            restarts.fetch_add(1);
        }
    };
    std::vector<child_spec> specs;
    for (int i = 0; i < 8; ++i) {
        auto s = make_child<worker>("w" + std::to_string(i), std::string("w"), log);
        s.options.capacity = 1'000'000;
        s.options = with_faults(s.options, fault_plan{.crash_every_nth = 7});
        specs.push_back(std::move(s));
    }
    auto sup = sys.spawn<supervisor>(o, specs);
    ASSERT_TRUE(sup.ask(which_children{}, 30s).get()); // children started
    std::vector<actor_ref<wproto>> kids;
    for (int i = 0; i < 8; ++i) {
        auto r = sys.find<wproto>(sup.addr().path() + "/w" + std::to_string(i));
        ASSERT_TRUE(r);
        kids.push_back(*r);
    }
    std::vector<std::thread> senders;
    senders.reserve(3);
    for (int t = 0; t < 3; ++t) {
        senders.emplace_back([&] {
            for (int i = 0; i < 7000; ++i) {
                (void)kids[static_cast<std::size_t>(i) % kids.size()].tell(add_msg{1});
            }
        });
    }
    for (auto& t : senders) {
        t.join();
    }
    // Every message reached its (possibly restarted) child: each child sees
    // 21000/8 messages, 1 in 7 of them crashing. The ask is message n+1 and
    // may itself be a crash slot; ask until one answers.
    int answered = 0;
    for (auto& k : kids) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto r = k.ask(get_msg{}, 30s).get();
            if (r) {
                ++answered;
                break;
            }
        }
    }
    EXPECT_EQ(answered, 8);
    EXPECT_GT(restarts.load(), 8 * 300);
    EXPECT_FALSE(sup.addr().is_terminated());
    auto down = sys.shutdown(30s);
    EXPECT_TRUE(down) << down.error().to_string();
}
