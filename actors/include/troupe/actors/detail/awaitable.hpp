// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <concepts>

namespace troupe::detail {

/// Marks the awaitables that may be `co_await`ed inside a handler's task.
struct awaitable_tag {};

template <class A>
concept troupe_awaitable = std::derived_from<A, awaitable_tag> || requires(A&& a) {
    { static_cast<A&&>(a).operator co_await() } -> std::derived_from<awaitable_tag>;
};

} // namespace troupe::detail
