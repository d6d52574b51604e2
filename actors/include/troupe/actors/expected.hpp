// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/error.hpp>

#include <tl/expected.hpp>

namespace troupe {

/// `expected<T>` holds a `T` or a `troupe::error`.
///
/// An alias of Debian's tl::expected (libexpected-dev), which mirrors
/// `std::expected`; only the `std::expected` subset of its API is used so the
/// alias can switch to `std::expected` once g++/clang ship it in C++20 mode.
template <class T, class E = error>
using expected = tl::expected<T, E>;

/// Builds the error alternative: `return unexpected(error{errc::timeout});`
template <class E>
[[nodiscard]] tl::unexpected<E> unexpected(E e) {
    return tl::unexpected<E>(std::move(e));
}

/// Shorthand for `unexpected(error{code, message})`.
[[nodiscard]] inline tl::unexpected<error> fail(errc code, std::string message = {}) {
    return tl::unexpected<error>(error{code, std::move(message)});
}

/// Result of a send: accepted, or a typed error (`mailbox_full`,
/// `receiver_down`, `dropped`, `would_block`, `timeout`, `cancelled`).
using send_result = expected<void>;

} // namespace troupe
