// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace troupe {

/// What happens when a message arrives at a user lane that is at capacity.
///
/// | policy        | the sender sees                      | the message             |
/// |---------------|--------------------------------------|-------------------------|
/// | `reject`      | `mailbox_full` (an ask fails at once)| returned, counted rejected |
/// | `drop_newest` | `dropped`                            | dead letter `dropped_newest` |
/// | `drop_oldest` | accepted                             | the oldest queued one becomes dead letter `dropped_oldest` |
/// | `block`       | waits up to the block timeout, then `timeout`; `would_block` from a scheduler worker | returned, counted rejected |
/// | `suspend`     | a coroutine sender (`co_await send`) suspends until there is room; a plain thread blocks as with `block`; a non-coroutine handler gets `would_block` | returned, counted rejected |
/// | `redirect`    | the result of sending to the redirect target | counted redirected |
///
/// System messages (stop, cancel, down, exit, timers' control) are never subject
/// to the policy.
enum class overflow_policy : std::uint8_t {
    reject,
    drop_newest,
    drop_oldest,
    block,
    suspend,
    redirect,
};

/// Returns the enumerator's name.
[[nodiscard]] constexpr std::string_view to_string(overflow_policy p) noexcept {
    switch (p) { // no default: -Wswitch flags a new enumerator
    case overflow_policy::reject: return "reject";
    case overflow_policy::drop_newest: return "drop_newest";
    case overflow_policy::drop_oldest: return "drop_oldest";
    case overflow_policy::block: return "block";
    case overflow_policy::suspend: return "suspend";
    case overflow_policy::redirect: return "redirect";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, overflow_policy p);

} // namespace troupe
