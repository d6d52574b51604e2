// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace troupe {

/// An untyped, comparable, hashable handle to an actor: identity and control,
/// no messages. Used in down/exit notifications, dead letters, for paths,
/// and by tooling and the modules above the core to stop or kill an actor.
///
/// **Threading:** copies may be used from any thread. An address keeps the
/// actor's small control block alive, never its behaviour: it stays valid
/// after the actor stopped (and after its system is gone). An empty address
/// refers to no actor: its operations fail with `invalid_argument`.
class actor_addr {
public:
    actor_addr() noexcept = default;
    explicit actor_addr(detail::cell_ptr c) noexcept : cell_(std::move(c)) {}

    /// True if this refers to an actor.
    explicit operator bool() const noexcept { return static_cast<bool>(cell_); }
    /// Unique within a system, never reused.
    [[nodiscard]] std::uint64_t id() const noexcept;
    /// Full path, e.g. `/user/orders/worker-3` (unnamed actors show `$<id>`).
    [[nodiscard]] std::string path() const;
    /// True once the actor has terminated (and for an empty address).
    [[nodiscard]] bool is_terminated() const noexcept;

    /// Asks the actor to stop with `cause` (none: a normal stop). Its stop
    /// token is signalled before this returns; the stop itself runs on its
    /// turn (children first). An actor under a supervisor is reported to it,
    /// which decides (a restart, for a permanent child).
    expected<void> stop(error cause = {}) const;
    /// Kills the actor: it terminates on its next turn, ahead of anything
    /// queued, without `on_stop`; exit cause `killed` <- `cause`. Its
    /// children are killed too.
    expected<void> kill(error cause = {}) const;
    /// @private runtime (net): an exit signal from a linked actor that has
    /// no address in this system (a remote one) that exited with `cause`:
    /// with `trap_exits`, `on_exit` gets it (an empty `source`); else an
    /// abnormal cause stops the actor with `linked_exit` <- `cause`, and a
    /// normal one is ignored. Never refused for capacity.
    expected<void> signal_exit(error cause) const;
    /// How the actor ended (`errc::none`: normally); `unsupported` while it
    /// still runs.
    [[nodiscard]] expected<error> exit_cause() const;

    friend bool operator==(const actor_addr& a, const actor_addr& b) noexcept {
        return a.cell_ == b.cell_;
    }
    friend bool operator<(const actor_addr& a, const actor_addr& b) noexcept {
        return std::less<>{}(a.cell_.get(), b.cell_.get());
    }

    /// @private runtime access
    [[nodiscard]] detail::cell* cell() const noexcept { return cell_.get(); }

private:
    detail::cell_ptr cell_;
};

} // namespace troupe

template <>
struct std::hash<troupe::actor_addr> {
    std::size_t operator()(const troupe::actor_addr& a) const noexcept {
        return std::hash<const void*>{}(a.cell());
    }
};
