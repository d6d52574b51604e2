// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstddef>

namespace troupe {

/// The cache-line size every layout in troupe is built for (x86-64 and most
/// AArch64 cores). A fixed constant, not
/// `std::hardware_destructive_interference_size`, which varies with compiler
/// flags (g++ 12 warns about it in headers) and would change the ABI.
inline constexpr std::size_t cache_line_size = 64;

} // namespace troupe
