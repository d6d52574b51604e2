// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace troupe {

/// Where an actor is in its lifecycle (the table in `detail/cell.hpp`), as
/// tooling sees it.
enum class actor_state : std::uint8_t {
    fresh,      ///< spawned; its first turn (`on_start`) has not run
    running,    ///< handling messages
    failed,     ///< a handler threw (or a supervised exit): its parent decides
    deferred,   ///< failed, and its parent deferred the decision (a backoff)
    stopping,   ///< stopping its children, then itself
    restarting, ///< being torn down in place, to start again
    halted,     ///< torn down in place, waiting for its group restart
    terminated, ///< gone; its mailbox is closed
};

/// The enumerator's name (`"deferred"`).
[[nodiscard]] constexpr std::string_view to_string(actor_state s) noexcept {
    switch (s) { // no default: -Wswitch flags a new enumerator
    case actor_state::fresh: return "fresh";
    case actor_state::running: return "running";
    case actor_state::failed: return "failed";
    case actor_state::deferred: return "deferred";
    case actor_state::stopping: return "stopping";
    case actor_state::restarting: return "restarting";
    case actor_state::halted: return "halted";
    case actor_state::terminated: return "terminated";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, actor_state s);

/// One actor as `system::walk` visits it. Each field is read when the walk
/// reaches the actor (a snapshot of that moment, not of the whole tree).
struct actor_info {
    actor_addr addr;
    /// Full path (`/` for the root). Valid during the callback only: the walk
    /// builds every path in one buffer, so a chain of n actors costs O(n).
    std::string_view path;
    /// Its name (`$<id>` for an unnamed actor, empty for the root).
    std::string name;
    /// 0 for the root, 1 for `/user` and `/system`, 2 for top-level actors.
    std::size_t depth = 0;
    actor_state state = actor_state::fresh;
    /// The behaviour's type, demangled (`orders::worker`); valid for the
    /// life of the process.
    std::string_view behaviour;
    std::size_t mailbox_depth = 0; ///< user messages queued (a snapshot)
    std::size_t mailbox_capacity = 0;
    /// Restarts in place (by its parent, or as part of a group restart).
    std::uint32_t restarts = 0;
    /// Children listed when the walk reached it (visited right after it).
    std::size_t children = 0;
};

} // namespace troupe
