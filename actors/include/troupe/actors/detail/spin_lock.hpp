// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <atomic>
#include <thread>

namespace troupe::detail {

/// A one-byte lock for critical sections of a few instructions that never
/// block or allocate (an ask's completion, a deadline list's links): one
/// atomic exchange to take it and a plain release store to give it back,
/// where a `std::mutex` costs two read-modify-writes and a call. A waiter
/// spins on a load (no cache-line ping-pong), pausing the core, and yields
/// its time slice after `spins_before_yield` rounds, so a holder that was
/// preempted gets the core back.
///
/// **Threading:** any thread; satisfies *Lockable* (`std::lock_guard`,
/// `std::unique_lock`). Not recursive. **Memory ordering:** `lock` acquires,
/// `unlock` releases: a critical section sees every write of the previous one.
class spin_lock {
public:
    static constexpr int spins_before_yield = 64;

    void lock() noexcept {
        while (held_.exchange(true, std::memory_order_acquire)) {
            for (int spins = 0; held_.load(std::memory_order_relaxed); ++spins) {
                if (spins < spins_before_yield) {
                    pause();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    [[nodiscard]] bool try_lock() noexcept {
        return !held_.load(std::memory_order_relaxed) &&
               !held_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { held_.store(false, std::memory_order_release); }

private:
    static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    std::atomic<bool> held_{false};
};

} // namespace troupe::detail
