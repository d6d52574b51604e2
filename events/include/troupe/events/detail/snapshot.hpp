// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <utility>

namespace troupe::events::detail {

/// A shared pointer that many threads load and a few replace: the
/// copy-on-write cell behind the registry's snapshots.
///
/// **Threading:** `load`/`store`/`exchange` from any thread. A one-bit spin
/// lock guards only the pointer copy (one reference increment), never user
/// code; the replaced value is released after the bit is cleared. (Used
/// instead of `std::atomic<std::shared_ptr>`, whose libstdc++ 12 `load`
/// releases its lock bit relaxed — a race ThreadSanitizer reports.)
/// **Memory ordering:** acquire on taking the bit, release on clearing it:
/// a loaded snapshot's contents happen-before the load.
template <class T>
class snapshot {
public:
    snapshot() = default;
    explicit snapshot(std::shared_ptr<T> p) : ptr_(std::move(p)) {}
    snapshot(const snapshot&) = delete;
    snapshot& operator=(const snapshot&) = delete;
    ~snapshot() = default;

    [[nodiscard]] std::shared_ptr<T> load(std::memory_order = std::memory_order_acquire) const {
        lock();
        auto p = ptr_;
        unlock();
        return p;
    }
    void store(std::shared_ptr<T> p, std::memory_order = std::memory_order_release) {
        lock();
        ptr_.swap(p);
        unlock();
        // p (the old value) is released here, outside the bit.
    }

private:
    void lock() const noexcept {
        while (busy_.exchange(true, std::memory_order_acquire)) {
            while (busy_.load(std::memory_order_relaxed)) {
                std::this_thread::yield();
            }
        }
    }
    void unlock() const noexcept { busy_.store(false, std::memory_order_release); }

    mutable std::atomic<bool> busy_{false};
    std::shared_ptr<T> ptr_; // guarded by busy_
};

} // namespace troupe::events::detail
