// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/events/detail/core.hpp>

#include <memory>
#include <string>
#include <utility>

namespace troupe::events {

class registry;

/// A typed handle to one topic: the name fixed to payload type `T`.
/// Obtained from `registry::declare<T>(name)`. Publishing or subscribing
/// through it with another type does not compile.
///
/// **Threading:** a cheap value (one shared pointer); use from any thread.
/// **Memory:** keeps the topic's entry alive, not the registry.
template <class T>
class topic {
public:
    using payload_type = T;
    topic() = default;
    [[nodiscard]] const std::string& name() const noexcept { return *entry_->name; }
    explicit operator bool() const noexcept { return static_cast<bool>(entry_); }

private:
    friend class registry;
    explicit topic(detail::entry_ptr e) : entry_(std::move(e)) {}
    detail::entry_ptr entry_;
};

} // namespace troupe::events
