// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/dead_letters.hpp>

#include <ostream>

namespace troupe {

std::string_view to_string(dead_letter_reason r) noexcept {
    switch (r) { // no default: -Wswitch flags a new enumerator
    case dead_letter_reason::receiver_down: return "receiver_down";
    case dead_letter_reason::dropped_newest: return "dropped_newest";
    case dead_letter_reason::dropped_oldest: return "dropped_oldest";
    case dead_letter_reason::handler_failed: return "handler_failed";
    case dead_letter_reason::late_reply: return "late_reply";
    case dead_letter_reason::redirect_failed: return "redirect_failed";
    case dead_letter_reason::injected_drop: return "injected_drop";
    case dead_letter_reason::stash_full: return "stash_full";
    case dead_letter_reason::unknown_type: return "unknown_type";
    case dead_letter_reason::malformed: return "malformed";
    case dead_letter_reason::link_lost: return "link_lost";
    case dead_letter_reason::link_overflow: return "link_overflow";
    case dead_letter_reason::mailbox_full: return "mailbox_full";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& os, dead_letter_reason r) { return os << to_string(r); }
std::ostream& operator<<(std::ostream& os, child_decision d) { return os << to_string(d); }

void dead_letter_sink::record(const dead_letter& letter) noexcept {
    counts_[static_cast<std::size_t>(letter.reason)].fetch_add(1, std::memory_order_relaxed);
    hooks_(letter);
}

std::uint64_t dead_letter_sink::total() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& c : counts_) {
        sum += c.load(std::memory_order_relaxed);
    }
    return sum;
}

} // namespace troupe
