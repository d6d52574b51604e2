// Part of troupe. See LICENSE at the repository root.

#include <troupe/supervision/fault_injection.hpp>

#include <atomic>
#include <random>

namespace troupe {

namespace {
class fault_injector final : public message_interceptor {
public:
    explicit fault_injector(const fault_plan& p) : plan_(p), rng_(p.seed) {}

    void on_user_message(intercepted_message& m) override {
        const std::uint64_t n = bump(seen_);
        if ((plan_.crash_on_nth != 0 && n == plan_.crash_on_nth) ||
            every(plan_.crash_every_nth, n)) {
            bump(crashed_);
            m.crash("injected fault: crash");
            return;
        }
        // Draw for every probability that is set, whatever the outcome, so a
        // fault on one message does not shift the faults of the next ones.
        const bool drop = draw(plan_.drop_probability);
        const bool delay = draw(plan_.delay_probability) || every(plan_.delay_every_nth, n);
        const bool dup = draw(plan_.duplicate_probability) || every(plan_.duplicate_every_nth, n);
        const bool reorder = draw(plan_.reorder_probability) || every(plan_.reorder_every_nth, n);
        if (drop) {
            bump(dropped_);
            m.drop();
        } else if (delay) {
            bump(delayed_);
            m.hold().redeliver_after(plan_.delay);
        } else if (dup) {
            bump(duplicated_);
            m.deliver_twice();
        } else if (reorder && !held_) { // one held at a time: otherwise delivered
            bump(reordered_);
            held_ = m.hold();
            return;
        }
        if (held_) { // the held message goes right after the one that followed it
            m.then_deliver(std::move(held_));
        }
    }

    void on_terminate() override { held_ = held_message{}; } // dead-letters it now

    [[nodiscard]] expected<void> check() const override {
        for (double p : {plan_.drop_probability, plan_.delay_probability,
                         plan_.duplicate_probability, plan_.reorder_probability}) {
            if (!(p >= 0.0 && p <= 1.0)) { // NaN fails too
                return fail(errc::invalid_argument, "fault probabilities must be in [0, 1]");
            }
        }
        if (plan_.delay < duration::zero()) {
            return fail(errc::invalid_argument, "the fault delay must not be negative");
        }
        return {};
    }

    [[nodiscard]] fault_counters counters() const noexcept {
        return {load(seen_),    load(crashed_),    load(dropped_),
                load(delayed_), load(duplicated_), load(reordered_)};
    }

private:
    using counter = std::atomic<std::uint64_t>;
    // Single writer (the actor's turn); relaxed: statistics only.
    static std::uint64_t bump(counter& c) noexcept {
        const std::uint64_t v = c.load(std::memory_order_relaxed) + 1;
        c.store(v, std::memory_order_relaxed);
        return v;
    }
    static std::uint64_t load(const counter& c) noexcept {
        return c.load(std::memory_order_relaxed);
    }
    static bool every(std::uint64_t nth, std::uint64_t n) noexcept {
        return nth != 0 && n % nth == 0;
    }
    bool draw(double p) {
        return p > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
    }

    fault_plan plan_;
    std::mt19937_64 rng_;
    counter seen_{0};
    counter crashed_{0};
    counter dropped_{0};
    counter delayed_{0};
    counter duplicated_{0};
    counter reordered_{0};
    held_message held_; // reordered, waiting for the next message (own turn)
};
} // namespace

std::shared_ptr<message_interceptor> make_fault_injector(const fault_plan& plan) {
    return std::make_shared<fault_injector>(plan);
}

spawn_options with_faults(spawn_options opts, const fault_plan& plan) {
    opts.interceptor = make_fault_injector(plan);
    return opts;
}

fault_counters injected_faults(const message_interceptor* interceptor) noexcept {
    if (const auto* f = dynamic_cast<const fault_injector*>(interceptor)) {
        return f->counters();
    }
    return {};
}

} // namespace troupe
