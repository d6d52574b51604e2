// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>

namespace troupe {

/// How a pool picks the worker for a message (in the sender's thread).
enum class pool_routing : std::uint8_t {
    round_robin,     ///< workers in turn: O(1) per send
    least_loaded,    ///< the shortest mailbox (queued user messages): O(N) per send
    consistent_hash, ///< by `pool_options::key`: equal keys, same worker; O(log N)
};

} // namespace troupe
