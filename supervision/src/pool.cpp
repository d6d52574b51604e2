// Part of troupe. See LICENSE at the repository root.

#include <troupe/supervision/detail/pool_state.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace troupe::detail {

std::uint32_t jump_consistent_hash(std::uint64_t key, std::uint32_t buckets) noexcept {
    // splitmix64's finalizer: nearby keys end up far apart.
    key ^= key >> 30U;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27U;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31U;
    // Lamping and Veach: follow the key's pseudo-random sequence of jumps
    // (a 64-bit LCG) while it stays below the bucket count; the last bucket
    // reached is the answer.
    std::int64_t b = -1;
    std::int64_t j = 0;
    while (j < static_cast<std::int64_t>(buckets)) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        const double scale = static_cast<double>(1LL << 31) / static_cast<double>((key >> 33U) + 1);
        j = static_cast<std::int64_t>(static_cast<double>(b + 1) * scale);
    }
    return static_cast<std::uint32_t>(b);
}

void pool_state_base::begin_incarnation(const actor_addr& sup) {
    std::lock_guard lock(mutex_);
    if (supervisor_ == sup) {
        ++incarnation_; // 0 -> 1 after a spawn-ahead; later: restarted in place
    } else {
        supervisor_ = sup; // a new supervisor whose on_start ran before its spawn-ahead
        incarnation_ = 1;
    }
}

actor_addr pool_state_base::supervisor() const {
    std::lock_guard lock(mutex_);
    return supervisor_;
}

bool pool_state_base::claim_first_incarnation(const actor_addr& sup) {
    if (supervisor_ == sup && incarnation_ != 0) {
        return false; // its on_start came first and spawned the workers
    }
    supervisor_ = sup;
    incarnation_ = 0;
    return true;
}

bool pool_state_base::is_current(std::size_t i) const noexcept {
    return slots_[i].supervisor == supervisor_ && slots_[i].incarnation == incarnation_;
}

void pool_state_base::mark_current(std::size_t i, bool ahead) {
    slots_[i] = slot_owner{supervisor_, ahead ? std::uint64_t{1} : incarnation_};
}

pool_supervisor::pool_supervisor(supervisor_options options, std::vector<child_spec> workers,
                                 std::weak_ptr<pool_state_base> state)
    : supervisor(std::move(options), std::move(workers)), state_(std::move(state)) {}

void pool_supervisor::on_start() {
    if (auto s = state_.lock()) {
        s->begin_incarnation(addr());
    }
    supervisor::on_start();
}

} // namespace troupe::detail
