// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace troupe::events {

/// Metadata carried by every event. Cheap to copy: no field shares
/// ownership, so delivering one event to many actors moves no shared
/// reference count between cores.
struct event_meta {
    /// The concrete topic the event was published on (interned for the
    /// process; never dangles).
    const std::string* topic = nullptr;
    /// Per-topic sequence number, starting at 1, in publish order.
    std::uint64_t sequence = 0;
    /// Wall-clock time of the publish.
    std::chrono::system_clock::time_point timestamp;
    /// `actor_addr::id()` of the actor whose handler published it; 0 if
    /// published from a plain thread. Resolve it with
    /// `system::find_addr(source_id)` (then `.path()`), which succeeds while
    /// that actor lives (`receiver_down` once it terminated; O(1)).
    std::uint64_t source_id = 0;
    /// Trace id of the publishing handler's message (fresh outside actors).
    std::uint64_t trace_id = 0;

    [[nodiscard]] const std::string& topic_name() const noexcept {
        static const std::string empty;
        return topic != nullptr ? *topic : empty;
    }
};

/// An event as delivered: the payload plus metadata. An actor subscriber's
/// protocol must accept `event<T>` (e.g. `std::variant<..., event<T>>`).
///
/// **Threading:** a value type; each actor subscriber gets its own copy.
template <class T>
struct event {
    T payload;
    event_meta meta;
};

} // namespace troupe::events
