// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/executor.hpp>

#include <memory>

namespace troupe::internal {

/// The production executor: `n` worker threads with per-worker run queues, a
/// LIFO slot, a shared injection queue and work stealing. See scheduler.cpp.
std::unique_ptr<executor> make_work_stealing_scheduler(unsigned n);

} // namespace troupe::internal
