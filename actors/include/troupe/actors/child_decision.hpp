// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace troupe {

/// A parent's answer to a child failure (`actor_base::on_child_failed`).
enum class child_decision : std::uint8_t {
    stop,     ///< stop the child with its failure as the cause
    restart,  ///< rebuild the child's behaviour; its mailbox and refs stay
    resume,   ///< keep the child's state and go on with its next message
    escalate, ///< stop the child, then this actor's other children (newest
              ///< first), then fail this actor (`errc::escalated`)
    defer,    ///< leave the child failed (mailbox kept, user messages wait);
              ///< the parent restarts or stops it later (e.g. after a backoff)
};

/// The enumerator's name (`"restart"`).
[[nodiscard]] constexpr std::string_view to_string(child_decision d) noexcept {
    switch (d) { // no default: -Wswitch flags a new enumerator
    case child_decision::stop: return "stop";
    case child_decision::restart: return "restart";
    case child_decision::resume: return "resume";
    case child_decision::escalate: return "escalate";
    case child_decision::defer: return "defer";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, child_decision d);

} // namespace troupe
