// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <string>
#include <string_view>

namespace troupe::internal {

/// Appends `s` to `out` as a JSON string (quotes included): `"` and `\` are
/// escaped, control characters become `\n`-style or `\u00XX` escapes; other
/// bytes (UTF-8) pass through unchanged.
void append_json_string(std::string& out, std::string_view s);

} // namespace troupe::internal
