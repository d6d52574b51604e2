// Part of troupe. See LICENSE at the repository root.

#include <troupe/supervision/fault_injection.hpp>

#include <random>

namespace troupe {

namespace {
class fault_injector final : public message_interceptor {
public:
    explicit fault_injector(const fault_plan& p) : plan_(p), rng_(p.seed) {}
    action on_user_message(std::string_view /*type*/) override {
        ++seen_;
        if (plan_.crash_on_nth != 0 && seen_ == plan_.crash_on_nth) {
            return action::crash;
        }
        if (plan_.crash_every_nth != 0 && seen_ % plan_.crash_every_nth == 0) {
            return action::crash;
        }
        if (plan_.drop_probability > 0.0 &&
            std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < plan_.drop_probability) {
            return action::drop;
        }
        return action::deliver;
    }

private:
    fault_plan plan_;
    std::mt19937_64 rng_;
    std::uint64_t seen_ = 0;
};
} // namespace

std::shared_ptr<message_interceptor> make_fault_injector(const fault_plan& plan) {
    return std::make_shared<fault_injector>(plan);
}

spawn_options with_faults(spawn_options opts, const fault_plan& plan) {
    opts.interceptor = make_fault_injector(plan);
    return opts;
}

} // namespace troupe
