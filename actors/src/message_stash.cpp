// Part of troupe. See LICENSE at the repository root.

#include "message_stash.hpp"

#include <iterator>
#include <utility>

namespace troupe::internal {

bool message_stash::push(detail::envelope* e, std::size_t capacity) {
    if (stash_.size() >= capacity) {
        return false;
    }
    stash_.emplace_back(e);
    return true;
}

detail::envelope* message_stash::take_newest() noexcept {
    if (stash_.empty()) {
        return nullptr;
    }
    detail::envelope* e = stash_.back().release();
    stash_.pop_back();
    return e;
}

void message_stash::unstash_all() {
    replay_.insert(replay_.begin(), std::make_move_iterator(stash_.begin()),
                   std::make_move_iterator(stash_.end()));
    stash_.clear();
}

detail::envelope* message_stash::take_replayed() noexcept {
    if (replay_.empty()) {
        return nullptr;
    }
    detail::envelope* e = replay_.front().release();
    replay_.pop_front();
    return e;
}

std::deque<std::unique_ptr<detail::envelope>> message_stash::take_all() {
    std::deque<std::unique_ptr<detail::envelope>> all = std::move(replay_);
    replay_.clear();
    for (auto& e : stash_) {
        all.push_back(std::move(e));
    }
    stash_.clear();
    return all;
}

} // namespace troupe::internal
