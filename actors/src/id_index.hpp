// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/cell.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace troupe::internal {

/// The live actors of a system by id (`system::find_addr(id)`): O(1)
/// average, 8 bytes per actor in the cell (the chain link) plus 8 to 16 in
/// the bucket arrays. Ids are handed out in sequence, so the id itself
/// picks the shard (low bits) and the bucket (the rest): no hashing, and
/// buckets fill evenly. Each shard is a chained table through
/// `cell::id_next`, doubled when it holds as many cells as buckets.
///
/// **Threading:** all members thread-safe; each shard has its own mutex, a
/// leaf lock (nothing else is locked under it).
/// **Lifetime:** a cell is inserted when adopted and erased when it
/// terminates, while its alive reference still holds it, so `find` may take
/// a reference under the shard's lock.
class id_index {
public:
    void insert(detail::cell* c);
    void erase(detail::cell* c) noexcept;
    /// The live cell with `id`, or null.
    [[nodiscard]] detail::cell_ptr find(std::uint64_t id) const;

private:
    static constexpr std::size_t shard_count = 16;
    struct shard {
        mutable std::mutex mutex;
        std::vector<detail::cell*> buckets; // guarded by mutex; size a power of two
        std::size_t size = 0;               // guarded by mutex
    };
    [[nodiscard]] static std::size_t bucket_of(std::uint64_t id, std::size_t buckets) noexcept {
        return static_cast<std::size_t>(id / shard_count) & (buckets - 1);
    }
    [[nodiscard]] shard& shard_of(std::uint64_t id) noexcept { return shards_[id % shard_count]; }
    [[nodiscard]] const shard& shard_of(std::uint64_t id) const noexcept {
        return shards_[id % shard_count];
    }
    static void grow(shard& s);

    std::array<shard, shard_count> shards_;
};

} // namespace troupe::internal
