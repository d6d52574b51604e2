// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace troupe::net::detail {

/// Bytes on the wire, and a view of some.
using bytes = std::vector<std::byte>;
using byte_view = std::span<const std::byte>;

} // namespace troupe::net::detail
