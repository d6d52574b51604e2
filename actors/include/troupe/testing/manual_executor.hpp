// Part of troupe. See LICENSE at the repository root.
//
// Part of the `troupe::testing` target (deterministic test kit): exported
// and installed with the package, but deliberately not linked by
// `troupe::troupe`, so production binaries do not carry it. A test links
// it explicitly: `target_link_libraries(my_test PRIVATE troupe::troupe
// troupe::testing)` (or `find_package(troupe COMPONENTS testing)`).

#pragma once

#include <troupe/actors/executor.hpp>

#include <cstddef>
#include <deque>
#include <mutex>

namespace troupe::testing {

/// A deterministic executor: actors run only when the test says so, on the
/// test's thread, in the order they became runnable.
///
/// Pass it as `system_config::custom_executor`. `run_once()` runs one actor
/// for one user message (plus the system messages before it);
/// `run_until_idle()` runs until no actor is runnable.
///
/// **Threading:** `schedule` from any thread (e.g. the clock); `run_*` from
/// one test thread. Blocking calls (`ask_handle::get`, `block` policy) would
/// wait for actors that only this thread runs: use `ready()`/`try_get()`.
class manual_executor final : public executor {
public:
    void schedule(detail::cell* c) noexcept override;
    void shutdown() noexcept override;

    /// Runs the next runnable actor for at most one user message. Returns
    /// false if none was runnable.
    bool run_once();
    /// Runs actors until none is runnable; returns how many turns ran.
    /// Stops after `max_turns` (a livelock guard).
    std::size_t run_until_idle(std::size_t max_turns = 1'000'000);
    /// Number of runnable actors.
    [[nodiscard]] std::size_t runnable() const;

private:
    mutable std::mutex mutex_;
    std::deque<detail::cell*> ready_; // guarded by mutex_
    bool shut_down_ = false;          // guarded by mutex_
};

} // namespace troupe::testing
