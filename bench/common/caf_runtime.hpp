// Part of troupe. See LICENSE at the repository root.
//
// The CAF side's actor system, configured alike in every benchmark binary:
// the work-stealing scheduler with one worker per hardware thread (CAF 0.17
// would start max(hardware threads, 4), i.e. 4 on these 2-core machines,
// which made it slower).
#pragma once

#include <caf/all.hpp>

#include <cstddef>
#include <thread>

namespace troupe::bench {

/// One CAF actor system per benchmark run.
class caf_runtime {
public:
    caf_runtime() : system_(configure(config_)) {}

    caf::actor_system& system() noexcept { return system_; }

    /// Applies the scheduler settings above to `cfg` (for a system that needs more modules
    /// loaded, such as the middleman, than this class's own).
    static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
        const auto hw = static_cast<std::size_t>(std::thread::hardware_concurrency());
        cfg.set("scheduler.policy", caf::atom("stealing"));
        cfg.set("scheduler.max-threads", hw > 0 ? hw : std::size_t{1});
        return cfg;
    }

private:
    caf::actor_system_config config_;
    caf::actor_system system_;
};

} // namespace troupe::bench
