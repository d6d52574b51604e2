// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>

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

} // namespace troupe
