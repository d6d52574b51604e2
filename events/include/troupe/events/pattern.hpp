// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/expected.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::events {

/// Longest accepted topic name or pattern, in characters.
inline constexpr std::size_t max_topic_length = 255;
/// Most segments a topic name or pattern may have.
inline constexpr std::size_t max_topic_segments = 32;

/// Checks a concrete topic name: `/`-separated, non-empty segments, no `*`,
/// no control characters, at most `max_topic_length` characters and
/// `max_topic_segments` segments. Fails with `errc::invalid_argument`.
[[nodiscard]] expected<void> validate_topic_name(std::string_view name);

/// A parsed subscription pattern: literal segments, `*` (exactly one
/// segment) and `**` (zero or more trailing segments; last segment only).
///
/// **Threading:** immutable after `parse`; `matches` may run concurrently.
/// **Failure:** `parse` fails with `errc::invalid_argument` (empty segment,
/// `*` mixed with other characters, `**` not last, too long).
class pattern {
public:
    pattern() = default;
    [[nodiscard]] static expected<pattern> parse(std::string_view text);

    /// True if the concrete topic `name` (assumed valid) matches.
    [[nodiscard]] bool matches(std::string_view name) const noexcept;
    /// True if the pattern has no wildcard (it names exactly one topic).
    [[nodiscard]] bool is_exact() const noexcept { return exact_; }
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
    std::vector<std::string> segments_; // "*" and "**" are wildcards
    bool exact_ = true;
};

} // namespace troupe::events
