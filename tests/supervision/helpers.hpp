// Part of troupe. See LICENSE at the repository root.
#pragma once

#include <troupe/supervision/supervisor.hpp>
#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace sup_test {

struct event_log {
    std::mutex m;
    std::vector<std::string> events;
    void add(std::string s) {
        std::lock_guard l(m);
        events.push_back(std::move(s));
    }
    std::vector<std::string> get() {
        std::lock_guard l(m);
        return events;
    }
    int count(const std::string& s) {
        std::lock_guard l(m);
        return static_cast<int>(std::count(events.begin(), events.end(), s));
    }
};
using log_ptr = std::shared_ptr<event_log>;

struct add_msg {
    int n;
};
struct crash_msg {};
struct get_msg {
    using reply_type = int;
};
struct stop_msg {};
using wproto = std::variant<add_msg, crash_msg, get_msg, stop_msg>;

class worker : public troupe::actor<wproto> {
public:
    worker(std::string name, log_ptr log) : name_(std::move(name)), log_(std::move(log)) {}
    void on_start() override { log_->add("start:" + name_); }
    void on_stop(const troupe::error&) override { log_->add("stop:" + name_); }
    void on(add_msg& m) { total_ += m.n; }
    void on(crash_msg&) { throw std::runtime_error("boom " + name_); }
    int on(get_msg&) { return total_; }
    void on(stop_msg&) { stop(); }

private:
    std::string name_;
    log_ptr log_;
    int total_ = 0;
};

inline troupe::child_spec worker_spec(const std::string& name, const log_ptr& log) {
    return troupe::make_child<worker>(name, name, log);
}

struct manual_fixture {
    troupe::testing::manual_executor ex;
    troupe::testing::manual_clock clk;
    troupe::system sys{troupe::system_config{.custom_executor = &ex, .custom_clock = &clk}};
    log_ptr log = std::make_shared<event_log>();

    // The system's shutdown waits for actors that only this thread runs:
    // drive the executor while another thread shuts down.
    ~manual_fixture() {
        std::atomic<bool> done{false};
        std::thread t([&] {
            (void)sys.shutdown(std::chrono::seconds(10));
            done.store(true);
        });
        while (!done.load()) {
            ex.run_until_idle();
            std::this_thread::yield();
        }
        t.join();
    }

    troupe::actor_ref<wproto> child(const troupe::actor_ref<troupe::supervisor_protocol>& s,
                                    const std::string& name) {
        auto r = sys.find<wproto>(s.addr().path() + "/" + name);
        if (!r) {
            throw std::runtime_error("no child " + name + ": " + r.error().to_string());
        }
        return *r;
    }
};

/// Every supervision event, from any number of supervisors.
struct event_sink {
    std::mutex m;
    std::vector<troupe::supervision_event> list;
    int count(troupe::supervision_event::kind k) {
        std::lock_guard l(m);
        return static_cast<int>(
            std::count_if(list.begin(), list.end(), [&](const auto& e) { return e.what == k; }));
    }
    std::function<void(const troupe::supervision_event&)> sink() {
        return [this](const troupe::supervision_event& e) {
            std::lock_guard l(m);
            list.push_back(e);
        };
    }
    std::vector<troupe::supervision_event> of(troupe::supervision_event::kind k,
                                              const troupe::actor_addr& sup = {}) {
        std::lock_guard l(m);
        std::vector<troupe::supervision_event> out;
        for (const auto& e : list) {
            if (e.what == k && (!sup || e.supervisor == sup)) {
                out.push_back(e);
            }
        }
        return out;
    }
};

} // namespace sup_test
