// Part of troupe. See LICENSE at the repository root.
// Shared helpers of the actors test suites.

#pragma once

#include <troupe/actors/system.hpp>
#include <troupe/actors/task.hpp>
#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace troupe::test_support {

using namespace std::chrono_literals;

struct ping {
    int n = 0;
};
struct get_values {
    using reply_type = std::vector<int>;
};
using rec_proto = std::variant<ping, get_values>;

/// What a recorder saw; only touched on the manual executor's (test) thread.
struct record {
    std::vector<int> values;
    std::vector<std::string> events;
    errc stop_code = errc::exception; // overwritten by on_stop
    int stops = 0;
};

/// Records every ping and its own stop.
class recorder : public actor<rec_proto> {
public:
    explicit recorder(record* r, std::string tag = {}) : r_(r), tag_(std::move(tag)) {}
    void on(ping& p) { r_->values.push_back(p.n); }
    std::vector<int> on(get_values&) { return r_->values; }
    void on_stop(const error& cause) override {
        ++r_->stops;
        r_->stop_code = cause.code();
        r_->events.push_back("stop " + tag_);
    }

private:
    record* r_;
    std::string tag_;
};

inline spawn_options options(std::uint32_t capacity, overflow_policy policy) {
    spawn_options o;
    o.capacity = capacity;
    o.policy = policy;
    return o;
}

/// Spawns a named (or, with an empty name, unnamed) child from inside
/// `parent`'s handler, through the public `actor_base::spawn_named`.
template <class Impl, class... Args>
actor_ref<typename Impl::protocol> spawn_child(actor_base& parent, std::string name,
                                               Args&&... args) {
    return parent.spawn_named<Impl>(std::move(name), spawn_options{}, std::forward<Args>(args)...);
}

/// A system on `testing::manual_executor` + `testing::manual_clock`: actors
/// run only inside `run()`; time moves only by `clk_.advance`.
class ManualSystemTest : public ::testing::Test {
protected:
    void run() { ex_.run_until_idle(); }
    void advance(duration d) {
        clk_.advance(d);
        run();
    }
    /// Shuts the system down while this thread keeps running the actors.
    expected<void> shutdown() {
        if (!sys_) {
            return {};
        }
        std::atomic<bool> done{false};
        expected<void> result;
        std::thread t([&] {
            result = sys_->shutdown(std::chrono::seconds(30));
            done.store(true);
        });
        while (!done.load()) {
            ex_.run_until_idle();
            std::this_thread::yield();
        }
        t.join();
        sys_.reset();
        return result;
    }
    void TearDown() override { EXPECT_TRUE(shutdown()); }
    /// A record that outlives the system (actors may touch it until shutdown).
    record& new_record() { return records_.emplace_back(); }

    std::deque<record> records_; // destroyed after the system
    testing::manual_executor ex_;
    testing::manual_clock clk_;
    std::unique_ptr<system> sys_ =
        std::make_unique<system>(system_config{.custom_executor = &ex_, .custom_clock = &clk_});
};

} // namespace troupe::test_support
