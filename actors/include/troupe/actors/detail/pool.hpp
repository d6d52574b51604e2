// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstddef>

namespace troupe::detail {

/// Allocation for the runtime's short-lived, cross-thread objects (message
/// envelopes, ask states, coroutine frames): size classes of 16 bytes up to `pool_max_size`,
/// per-thread free lists, and batches of 64 blocks moved between threads
/// through a shared list (one mutex round trip per batch). A message allocated by a sender's thread
/// and freed by the receiver's thread thus costs a few pointer moves, not a
/// trip through the C library's arena locks.
///
/// Memory freed to the pool is kept for reuse by any thread (it is bounded by
/// the peak number of live objects, which bounded mailboxes bound). Under
/// AddressSanitizer the pool is bypassed so use-after-free stays detectable.
///
/// **Threading:** any thread. **Memory ordering:** a block freed on one thread
/// and reused on another is handed over through the shared list's mutex. **Failure:** throws
/// `std::bad_alloc` like `operator new`.
void* pool_allocate(std::size_t size);
/// Returns a block from `pool_allocate(size)` (same `size`).
void pool_deallocate(void* p, std::size_t size) noexcept;

inline constexpr std::size_t pool_max_size = 512;

/// Base that routes `new`/`delete` of a class hierarchy through the pool.
/// Deleting through a base pointer needs a virtual destructor (the sized
/// delete then receives the dynamic type's size).
struct pooled {
    static void* operator new(std::size_t size) { return pool_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { pool_deallocate(p, size); }
};

} // namespace troupe::detail
