// Part of troupe. See LICENSE at the repository root.

#pragma once

// What the front asks the back nodes' `worker` actors (examples/cluster).
//   job -> job_result: the number of Collatz steps of `payload`, computed on
//   the back node whose name comes back in the result. A pure function of
//   the job: asking it twice gives the same answer, which is what lets the
//   front retry a job whose node died with the ask in flight.

#include <troupe/net/wire_type.hpp>

#include <cstdint>
#include <string>

namespace troupe_cluster {

struct job_result {
    std::uint32_t id = 0;
    std::uint32_t steps = 0;
    std::string node; ///< the back node that computed it
    MSGPACK_DEFINE(id, steps, node)
};

struct job {
    using reply_type = job_result;
    std::uint32_t id = 0;
    std::uint64_t payload = 1;
    MSGPACK_DEFINE(id, payload)
};
using worker_protocol = job;

/// Collatz steps from `n` down to 1 (0 for n <= 1).
[[nodiscard]] inline std::uint32_t collatz_steps(std::uint64_t n) noexcept {
    std::uint32_t steps = 0;
    while (n > 1) {
        n = (n % 2 == 0) ? n / 2 : 3 * n + 1;
        ++steps;
    }
    return steps;
}

} // namespace troupe_cluster

TROUPE_WIRE_TYPE(::troupe_cluster::job_result, "troupe_cluster.job_result", 1);
TROUPE_WIRE_TYPE(::troupe_cluster::job, "troupe_cluster.job", 1);
