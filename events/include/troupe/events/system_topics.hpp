// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::events {

/// Topic of `dead_letter_event`s (every dead letter of the system).
inline constexpr std::string_view dead_letters_topic = "troupe/dead_letters";
/// Topic of `failure_event`s (an actor failed, before its parent decides).
inline constexpr std::string_view failures_topic = "troupe/supervision/failures";
/// Topic of `decision_event`s (a parent decided about a failed child).
inline constexpr std::string_view decisions_topic = "troupe/supervision/decisions";

/// Payload of `troupe/dead_letters`.
struct dead_letter_event {
    dead_letter_reason reason{};
    actor_addr receiver;
    std::string message_type;
    std::uint64_t trace_id = 0;
    /// Topic of the publish during which the letter died (an event dropped
    /// by a subscriber's mailbox); empty for ordinary messages. Under
    /// `drop_oldest` it is the topic of the publish that caused the eviction.
    std::string topic;
};

/// Payload of `troupe/supervision/failures`.
struct failure_event {
    actor_addr actor;
    error cause;
};

/// Payload of `troupe/supervision/decisions`.
struct decision_event {
    actor_addr child;
    error cause;
    child_decision decision{};
};

} // namespace troupe::events
