// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/envelope.hpp>

#include <cstddef>
#include <deque>
#include <memory>

namespace troupe::internal {

/// An actor's stash and its replay queue: `stash()` keeps messages at the
/// back of the stash; `unstash_all()` moves the whole stash, in order, to the
/// front of the replay queue, which the turn loop serves before the mailbox.
///
/// **Threading:** none; the owning cell's turn only. **Ownership:** it owns
/// every envelope it holds (taken on `push`, handed back by `take_*`);
/// whatever is left at destruction is destroyed unhandled (the cell
/// dead-letters it first, at termination).
class message_stash {
public:
    /// Keeps `e` at the back of the stash if fewer than `capacity` are
    /// stashed; returns false (and leaves `e` with the caller) otherwise.
    bool push(detail::envelope* e, std::size_t capacity);
    /// Takes back the newest stashed message (a handler that stashed it threw).
    [[nodiscard]] detail::envelope* take_newest() noexcept;
    /// Moves the stash to the front of the replay queue, oldest first.
    void unstash_all();
    /// The next message to replay, or null.
    [[nodiscard]] detail::envelope* take_replayed() noexcept;
    /// Everything held, replay queue first, then the stash (the order they
    /// would have been handled in); empties both.
    [[nodiscard]] std::deque<std::unique_ptr<detail::envelope>> take_all();

    [[nodiscard]] std::size_t stashed() const noexcept { return stash_.size(); }
    [[nodiscard]] bool replaying() const noexcept { return !replay_.empty(); }
    /// Stashed plus waiting for replay: counted as queued.
    [[nodiscard]] std::size_t size() const noexcept { return stash_.size() + replay_.size(); }

private:
    std::deque<std::unique_ptr<detail::envelope>> stash_;  // oldest first
    std::deque<std::unique_ptr<detail::envelope>> replay_; // next first
};

} // namespace troupe::internal
