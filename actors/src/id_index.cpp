// Part of troupe. See LICENSE at the repository root.

#include "id_index.hpp"

#include <utility>

namespace troupe::internal {

void id_index::grow(shard& s) {
    std::vector<detail::cell*> bigger(s.buckets.empty() ? 8 : s.buckets.size() * 2, nullptr);
    for (detail::cell* head : s.buckets) {
        while (head != nullptr) {
            detail::cell* next = std::exchange(head->id_next, nullptr);
            detail::cell*& slot = bigger[bucket_of(head->id(), bigger.size())];
            head->id_next = slot;
            slot = head;
            head = next;
        }
    }
    s.buckets.swap(bigger);
}

void id_index::insert(detail::cell* c) {
    shard& s = shard_of(c->id());
    std::lock_guard lock(s.mutex);
    if (s.size >= s.buckets.size()) {
        grow(s);
    }
    detail::cell*& slot = s.buckets[bucket_of(c->id(), s.buckets.size())];
    c->id_next = slot;
    slot = c;
    ++s.size;
}

void id_index::erase(detail::cell* c) noexcept {
    shard& s = shard_of(c->id());
    std::lock_guard lock(s.mutex);
    if (s.buckets.empty()) {
        return;
    }
    for (detail::cell** link = &s.buckets[bucket_of(c->id(), s.buckets.size())]; *link != nullptr;
         link = &(*link)->id_next) {
        if (*link == c) {
            *link = std::exchange(c->id_next, nullptr);
            --s.size;
            return;
        }
    }
}

detail::cell_ptr id_index::find(std::uint64_t id) const {
    const shard& s = shard_of(id);
    std::lock_guard lock(s.mutex);
    if (s.buckets.empty()) {
        return {};
    }
    for (detail::cell* c = s.buckets[bucket_of(id, s.buckets.size())]; c != nullptr;
         c = c->id_next) {
        if (c->id() == id) {
            return c->is_terminated() ? detail::cell_ptr{} : detail::cell_ptr(c);
        }
    }
    return {};
}

} // namespace troupe::internal
