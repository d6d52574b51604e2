// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/pool.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_POOL_BYPASS 1
#endif
#endif

namespace troupe::detail {

#if defined(TROUPE_POOL_BYPASS)

void* pool_allocate(std::size_t size) { return ::operator new(size); }
void pool_deallocate(void* p, std::size_t /*size*/) noexcept { ::operator delete(p); }

#else

namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t class_count = pool_max_size / granule;
constexpr std::uint32_t batch_size = 64; // blocks moved between threads at once
constexpr std::size_t slab_blocks = 64;  // blocks carved from one fresh allocation

/// A free block: its first word links it to the next free block.
struct block {
    block* next;
};

/// Full batches of one size class, shared by all threads. A batch is a chain
/// of `batch_size` blocks (or fewer, from an exiting thread). A thread comes
/// here once per `batch_size` allocations or frees at most, so a mutex costs
/// nothing measurable and keeps the hand-over simple to reason about.
class shared_class {
public:
    void put(block* chain) {
        std::lock_guard lock(mutex_);
        batches_.push_back(chain);
    }
    block* take() noexcept {
        std::lock_guard lock(mutex_);
        if (batches_.empty()) {
            return nullptr;
        }
        block* chain = batches_.back();
        batches_.pop_back();
        return chain;
    }

private:
    std::mutex mutex_;
    std::vector<block*> batches_; // guarded by mutex_
};

std::array<shared_class, class_count>& shared_classes() {
    static auto* classes = new std::array<shared_class, class_count>(); // lives for the process
    return *classes;
}

// True once this thread's cache was destroyed (thread exit): later frees on
// this thread (e.g. other thread-locals' destructors) go to the shared stacks.
thread_local bool cache_gone = false;

/// Per-thread free lists; returned to the shared stacks when the thread exits.
struct local_cache {
    std::array<block*, class_count> heads{};
    std::array<std::uint32_t, class_count> counts{};

    local_cache(const local_cache&) = delete;
    local_cache& operator=(const local_cache&) = delete;
    local_cache() = default;
    ~local_cache();
};

local_cache::~local_cache() {
    cache_gone = true;
    for (std::size_t c = 0; c < class_count; ++c) {
        if (heads[c] != nullptr) {
            shared_classes()[c].put(heads[c]);
        }
    }
}

local_cache& cache() {
    thread_local local_cache c;
    return c;
}

block* refill(std::size_t cls, std::uint32_t& count) {
    if (block* chain = shared_classes()[cls].take()) {
        std::uint32_t n = 0;
        for (block* b = chain; b != nullptr; b = b->next) {
            ++n;
        }
        count = n;
        return chain;
    }
    const std::size_t size = (cls + 1) * granule;
    auto* slab = static_cast<std::byte*>(::operator new(size* slab_blocks));
    block* chain = nullptr;
    for (std::size_t i = slab_blocks; i-- > 0;) {
        auto* b = reinterpret_cast<block*>(slab + i * size);
        b->next = chain;
        chain = b;
    }
    count = static_cast<std::uint32_t>(slab_blocks);
    return chain;
}

} // namespace

void* pool_allocate(std::size_t size) {
    if (size > pool_max_size) {
        return ::operator new(size);
    }
    const std::size_t cls = (size - 1) / granule;
    if (cache_gone) [[unlikely]] {
        std::uint32_t n = 0;
        block* chain = refill(cls, n);
        if (chain->next != nullptr) {
            shared_classes()[cls].put(chain->next);
        }
        return chain;
    }
    auto& c = cache();
    block* b = c.heads[cls];
    if (b == nullptr) {
        b = refill(cls, c.counts[cls]);
    }
    c.heads[cls] = b->next;
    --c.counts[cls];
    return b;
}

void pool_deallocate(void* p, std::size_t size) noexcept {
    if (size > pool_max_size) {
        ::operator delete(p); // unsized: clang 14 has sized delete only with -fsized-deallocation
        return;
    }
    const std::size_t cls = (size - 1) / granule;
    auto* b = static_cast<block*>(p);
    if (cache_gone) [[unlikely]] {
        b->next = nullptr;
        shared_classes()[cls].put(b);
        return;
    }
    auto& c = cache();
    b->next = c.heads[cls];
    c.heads[cls] = b;
    if (++c.counts[cls] >= 2 * batch_size) {
        // Keep one batch here, hand one to the other threads.
        block* tail = b;
        for (std::uint32_t i = 1; i < batch_size; ++i) {
            tail = tail->next;
        }
        c.heads[cls] = tail->next;
        tail->next = nullptr;
        c.counts[cls] -= batch_size;
        shared_classes()[cls].put(b);
    }
}

#endif

} // namespace troupe::detail
