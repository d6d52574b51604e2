// Part of troupe. See LICENSE at the repository root.
//
// The flagship example: backpressure through a bounded pipeline.
//
//   producer --(co_await send)--> stage [capacity 64, suspend] --> consumer [capacity 64, suspend]
//
// The producer emits 200,000 readings as fast as it can. The stage and the
// consumer have small bounded mailboxes with policy `suspend`: when one is
// full, the actor sending to it suspends (its worker moves on) until there is
// room. Nothing is dropped, memory stays flat, and every message is
// accounted for: the program checks sent = processed + rejected + dropped +
// redirected + dead_lettered + queued for both bounded actors.

#include <troupe/troupe.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <latch>
#include <variant>

using namespace std::chrono_literals;

struct reading {
    std::int64_t sensor;
    double celsius;
};
struct alert {
    std::int64_t sensor;
    double fahrenheit;
};
struct go {};

constexpr std::int64_t readings = 200'000;

/// Counts what reaches the end of the pipeline.
class consumer final : public troupe::actor<alert> {
public:
    explicit consumer(std::latch* done) : done_(done) {}
    void on(alert& a) {
        sum_ += a.fahrenheit;
        if (++received_ == readings) {
            std::cout << "consumer: " << received_ << " alerts, mean "
                      << sum_ / static_cast<double>(received_) << " F\n";
            done_->count_down();
        }
    }

private:
    std::latch* done_;
    std::int64_t received_ = 0;
    double sum_ = 0;
};

/// Converts readings; forwards with backpressure from the consumer.
class stage final : public troupe::actor<reading> {
public:
    explicit stage(troupe::actor_ref<alert> next) : next_(std::move(next)) {}
    troupe::task<> on(reading& r) {
        auto sent = co_await send(next_, alert{r.sensor, r.celsius * 9 / 5 + 32});
        if (!sent) {
            std::cerr << "stage: " << sent.error() << "\n";
        }
    }

private:
    troupe::actor_ref<alert> next_;
};

/// Emits readings as fast as the stage takes them.
class producer final : public troupe::actor<go> {
public:
    explicit producer(troupe::actor_ref<reading> next) : next_(std::move(next)) {}
    troupe::task<> on(go& /*unused*/) {
        for (std::int64_t i = 0; i < readings; ++i) {
            auto sent = co_await send(next_, reading{i % 16, 20.0 + static_cast<double>(i % 10)});
            if (!sent) {
                std::cerr << "producer: " << sent.error() << "\n";
                co_return;
            }
        }
    }

private:
    troupe::actor_ref<reading> next_;
};

bool report(troupe::system& sys, const char* name, const troupe::actor_addr& who,
            std::int64_t sent) {
    auto c = sys.counters(who).value();
    std::cout << name << ": sent " << sent << " = processed " << c.processed << " + rejected "
              << c.rejected << " + dropped " << c.dropped << " + redirected " << c.redirected
              << " + dead-lettered " << c.dead_lettered << " + queued " << c.queued << "\n";
    return static_cast<std::uint64_t>(sent) == c.accounted() && c.dropped == 0;
}

int main() {
    troupe::system sys;
    troupe::spawn_options bounded;
    bounded.capacity = 64;
    bounded.policy = troupe::overflow_policy::suspend;

    std::latch done(1);
    auto sink = sys.spawn_with<consumer>(bounded, &done);
    auto middle = sys.spawn_with<stage>(bounded, sink);
    auto source = sys.spawn<producer>(middle);

    auto start = std::chrono::steady_clock::now();
    (void)source.tell(go{});
    done.wait();
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    std::cout << "pipeline: " << readings << " readings in " << elapsed.count() * 1000 << " ms ("
              << static_cast<double>(readings) / elapsed.count() / 1e6 << " M/s) through "
              << "mailboxes of capacity " << bounded.capacity << "\n";

    std::cout << "live tree:\n" << sys.dump_tree();

    // Count at a quiescent point: stop the pipeline front to back first.
    source.stop();
    middle.stop();
    sink.stop();
    for (const auto& who : {source.addr(), middle.addr(), sink.addr()}) {
        (void)sys.wait_for_exit(who, 10s);
    }
    bool ok = report(sys, "stage   ", middle.addr(), readings) &&
              report(sys, "consumer", sink.addr(), readings);
    std::cout << "dead letters: " << sys.dead_letters().total() << "\n";
    ok = sys.shutdown().has_value() && ok;
    std::cout << (ok ? "every message accounted for, none dropped\n" : "ACCOUNTING MISMATCH\n");
    return ok ? 0 : 1;
}
