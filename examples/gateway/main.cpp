// Part of troupe. See LICENSE at the repository root.
//
// A gateway in front of a pool of four pricing workers. The gateway answers
// each quote later, through its response promise, and asks the pool with
// then(): it never suspends, so all quotes are in flight at once and eight
// quotes of 20 ms each take about two rounds, not eight. The summary asks
// every worker at once from a coroutine handler with when_all.
//
//   client --quote--> gateway --price--> pool (worker-0..3)
//          <-------- reply(promise) <---- then()

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

struct price {
    using reply_type = double;
    int sku;
};
struct served {
    using reply_type = int;
};
using pricer_protocol = std::variant<price, served>;

/// A worker: a slow price lookup.
class pricer : public troupe::actor<pricer_protocol> {
public:
    double on(price& p) {
        std::this_thread::sleep_for(20ms); // stands in for a database round trip
        ++served_;
        return 10.0 + p.sku;
    }
    int on(served&) { return served_; }

private:
    int served_ = 0;
};

struct quote {
    using reply_type = double;
    int sku;
    int quantity;
};
struct load {
    using reply_type = std::vector<int>; // requests served by each worker
};
using gateway_protocol = std::variant<quote, load>;

class gateway : public troupe::actor<gateway_protocol> {
public:
    explicit gateway(troupe::pool_ref<pricer_protocol> pricers) : pricers_(std::move(pricers)) {}

    // Deferred reply: the promise travels into the continuation; the
    // gateway's next message is handled at once.
    void on(quote& q, troupe::response_promise<double> reply) {
        (void)pricers_.ask(price{q.sku}, 1s)
            .then(
                [reply = std::move(reply), n = q.quantity](troupe::expected<double> unit) mutable {
                    if (unit) {
                        (void)reply.reply(*unit * n);
                    } else {
                        (void)reply.fail(unit.error());
                    }
                });
    }

    // A coroutine handler: asks every worker at once and waits for all.
    troupe::task<std::vector<int>> on(load&) {
        std::vector<troupe::ask_handle<int>> asks;
        for (const auto& w : pricers_.workers()) {
            asks.push_back(w.ask(served{}, 1s));
        }
        std::vector<int> counts;
        for (auto& r : co_await troupe::when_all(std::move(asks))) {
            counts.push_back(r.value_or(-1));
        }
        co_return counts;
    }

private:
    troupe::pool_ref<pricer_protocol> pricers_;
};

int main() {
    troupe::system sys;
    auto pricers = troupe::spawn_pool<pricer>(
        sys, troupe::pool_options<pricer_protocol>{.size = 4, .name = "pricers"});
    if (!pricers) {
        std::fprintf(stderr, "pool: %s\n", pricers.error().to_string().c_str());
        return 1;
    }
    auto front = sys.spawn<gateway>(*pricers);

    const auto started = std::chrono::steady_clock::now();
    std::vector<troupe::ask_handle<double>> quotes;
    for (int sku = 0; sku < 8; ++sku) {
        quotes.push_back(front.ask(quote{sku, sku + 1}, 2s));
    }
    int failed = 0;
    for (std::size_t i = 0; i < quotes.size(); ++i) {
        auto total = quotes[i].get();
        if (total) {
            std::printf("quote %zu: %.2f\n", i, *total);
        } else {
            std::printf("quote %zu failed: %s\n", i, total.error().to_string().c_str());
            ++failed;
        }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("8 quotes of 20 ms through one gateway and 4 workers: %lld ms\n",
                static_cast<long long>(took.count()));

    auto counts = front.ask(load{}, 2s).get();
    if (!counts) {
        std::fprintf(stderr, "load: %s\n", counts.error().to_string().c_str());
        return 1;
    }
    int sum = 0;
    for (std::size_t w = 0; w < counts->size(); ++w) {
        std::printf("worker-%zu served %d\n", w, (*counts)[w]);
        sum += (*counts)[w];
    }
    return failed == 0 && sum == 8 ? 0 : 1;
}
