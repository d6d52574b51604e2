// Part of troupe. See LICENSE at the repository root.
//
// Resident-set-size probes shared by the troupe and CAF benchmarks (Linux only).
//
// Peak measurement — what we chose and why:
//   `peak_rss_sampler` asks the kernel first. Writing "5" to /proc/self/clear_refs resets the
//   high-water mark (VmHWM) to the current RSS, and the kernel then tracks the exact peak for free:
//   no extra thread competes with the measured code on these 2-core machines and no short spike is
//   missed. Where that write is refused (read-only /proc, sandboxes, old kernels), the sampler
//   falls back to a background thread that reads VmRSS every ~1 ms and keeps the maximum; that
//   catches any growth lasting longer than a millisecond, which is what mailbox build-up looks
//   like. `method()` says which one ran.
//
// Usage around a measured region (with timing paused for the bookkeeping):
//
//     troupe::bench::release_free_memory();
//     const auto before = troupe::bench::current_rss_bytes();
//     troupe::bench::peak_rss_sampler peak;
//     ... measured work ...
//     const auto grown = peak.stop() - before;   // bytes
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <fcntl.h>
#include <mutex>
#include <string_view>
#include <thread>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace troupe::bench {

inline constexpr double bytes_per_mib = 1024.0 * 1024.0;

namespace detail {

/// Reads the "<key>:  <n> kB" line of a /proc/<pid>/status file (`path`) and returns n in bytes,
/// or 0 when the file or the key is missing. Uses a stack buffer and raw syscalls so that the
/// sampler thread does not allocate (and thereby disturb the heap it is measuring).
inline std::size_t read_status_bytes(const char* path, std::string_view key) noexcept {
    char buf[8192];
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    std::size_t len = 0;
    while (len < sizeof(buf) - 1) {
        const ssize_t n = ::read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += static_cast<std::size_t>(n);
    }
    ::close(fd);
    const std::string_view text(buf, len);
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t eol = std::min(text.find('\n', pos), text.size());
        const std::string_view line = text.substr(pos, eol - pos);
        if (line.size() > key.size() && line.substr(0, key.size()) == key &&
            line[key.size()] == ':') {
            std::size_t kib = 0;
            for (const char c : line.substr(key.size() + 1)) {
                if (c >= '0' && c <= '9') {
                    kib = kib * 10 + static_cast<std::size_t>(c - '0');
                } else if (kib != 0) {
                    break; // the " kB" suffix
                }
            }
            return kib * 1024;
        }
        pos = eol + 1;
    }
    return 0;
}

} // namespace detail

/// Current resident set size (VmRSS) in bytes; 0 if /proc is unavailable.
inline std::size_t current_rss_bytes() noexcept {
    return detail::read_status_bytes("/proc/self/status", "VmRSS");
}

/// Peak resident set size since process start or the last successful `reset_peak_rss()` (VmHWM),
/// in bytes; 0 if /proc is unavailable.
inline std::size_t peak_rss_bytes() noexcept {
    return detail::read_status_bytes("/proc/self/status", "VmHWM");
}

/// Resets VmHWM to the current RSS by writing "5" to /proc/self/clear_refs (Linux >= 4.0).
/// Returns whether the kernel accepted it. `clear_refs` may name another process's file
/// (/proc/<pid>/clear_refs of a child, say).
inline bool reset_peak_rss(const char* clear_refs = "/proc/self/clear_refs") noexcept {
    const int fd = ::open(clear_refs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::write(fd, "5", 1) == 1;
    ::close(fd);
    return ok;
}

/// Hands free heap pages back to the kernel (glibc `malloc_trim`; no-op elsewhere), so that an
/// RSS baseline taken right after does not include memory a previous iteration freed but the
/// allocator kept. Call it with timing paused, before taking the baseline.
inline void release_free_memory() noexcept {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}

/// RAII peak-RSS recorder for one measured region; see the file comment for the method.
/// Construct right before the region, call `stop()` right after (the destructor stops too).
class peak_rss_sampler {
public:
    enum class method_kind { kernel_hwm, sampling_thread };

    explicit peak_rss_sampler(std::chrono::microseconds period = std::chrono::milliseconds(1)) {
        if (reset_peak_rss()) {
            method_ = method_kind::kernel_hwm;
            return;
        }
        method_ = method_kind::sampling_thread;
        peak_ = current_rss_bytes();
        thread_ = std::thread([this, period] { sample_until_stopped(period); });
    }

    peak_rss_sampler(const peak_rss_sampler&) = delete;
    peak_rss_sampler& operator=(const peak_rss_sampler&) = delete;

    ~peak_rss_sampler() { stop(); }

    /// Ends the region and returns the peak RSS seen during it, in bytes. Idempotent.
    std::size_t stop() {
        if (!stopped_) {
            stopped_ = true;
            if (method_ == method_kind::kernel_hwm) {
                peak_ = peak_rss_bytes();
            } else {
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    stop_requested_ = true;
                }
                wake_.notify_one();
                thread_.join();
                record(current_rss_bytes());
            }
        }
        return peak_;
    }

    [[nodiscard]] method_kind method() const noexcept { return method_; }

private:
    void record(std::size_t rss) noexcept { peak_ = std::max(peak_, rss); }

    void sample_until_stopped(std::chrono::microseconds period) {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stop_requested_) {
            lock.unlock();
            record(current_rss_bytes());
            lock.lock();
            wake_.wait_for(lock, period, [this] { return stop_requested_; });
        }
    }

    method_kind method_ = method_kind::kernel_hwm; // set by the constructor only
    bool stopped_ = false;                         // owner thread only
    // Written by the sampling thread while it runs and by the owner thread before it starts and
    // after join(), so the thread start and join() order every access.
    std::size_t peak_ = 0;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_requested_ = false; // guarded by mutex_
    std::thread thread_;          // the sampling thread (sampling_thread method only)
};

} // namespace troupe::bench
