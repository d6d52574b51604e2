// Part of troupe. See LICENSE at the repository root.
//
// Live-heap probe shared by the troupe and CAF benchmarks (glibc only).
//
// Why not RSS for "does memory grow": glibc keeps freed chunks in its arenas (one per worker
// thread, up to 8 x cores) and `malloc_trim` returns only whole free pages at the top of each
// heap, so RSS after a run of allocate/free churn says as much about fragmentation and arena
// placement as about what is still allocated. `mallinfo2()` sums every arena: `uordblks` is the
// bytes in chunks handed out and not freed, `hblkhd` the bytes in mmap'd chunks (large
// allocations). Their sum is the live heap, whatever the allocator kept for reuse. Call it from
// a quiescent point (no allocation in flight on other threads) for a meaningful figure.
#pragma once

#include <cstddef>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace troupe::bench {

/// Whether `live_heap_bytes()` measures anything on this platform.
inline constexpr bool has_live_heap_probe =
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    true;
#else
    false;
#endif

/// Bytes currently allocated through malloc and not freed, over all arenas (glibc >= 2.33
/// `mallinfo2`); 0 where there is no such probe.
inline std::size_t live_heap_bytes() noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 m = ::mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}

} // namespace troupe::bench
