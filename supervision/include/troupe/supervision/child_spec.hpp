// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/spawn_options.hpp>
#include <troupe/actors/system.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>

namespace troupe {

/// When a supervised child is restarted.
enum class restart_type : std::uint8_t {
    permanent, ///< always: after a failure and after a normal stop
    transient, ///< only after a failure (an abnormal exit)
    temporary, ///< never; a failed temporary child is stopped and forgotten
};

/// The enumerator's name (`"transient"`).
[[nodiscard]] constexpr std::string_view to_string(restart_type t) noexcept {
    switch (t) { // no default: -Wswitch flags a new enumerator
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, restart_type t);

/// How a supervisor's ordered stop ends one child (sets
/// `spawn_options::shutdown_timeout`).
struct shutdown_policy {
    /// Kill at once, without `on_stop`.
    static duration brutal_kill() noexcept { return duration::zero(); }
    /// Ask it to stop; kill it (and record it) if it takes longer than `d`.
    static duration timeout(duration d) noexcept { return d; }
    /// Wait as long as it takes.
    static duration infinity() noexcept { return duration::max(); }
};

/// How to start one supervised child. Build with `make_child<Impl>(...)`.
struct child_spec {
    /// Name under the supervisor (path `<supervisor>/<name>`); required and
    /// unique among its siblings.
    std::string name;
    restart_type restart = restart_type::permanent;
    /// Mailbox options; `options.shutdown_timeout` is the shutdown policy.
    spawn_options options;
    /// Spawns the child under `parent` (runs on the supervisor's turn).
    std::function<actor_addr(actor_base& parent, const std::string& name,
                             const spawn_options& opts)>
        start;

    child_spec& with_restart(restart_type r) {
        restart = r;
        return *this;
    }
    child_spec& with_shutdown(duration d) {
        options.shutdown_timeout = d;
        return *this;
    }
    child_spec& with_options(spawn_options o) {
        options = std::move(o);
        return *this;
    }
};

/// A spec for a child of class `Impl` built from copies of `args` (at every
/// start and restart). Move-only arguments do not compile (one
/// static_assert): use `make_child_from` with a factory instead.
template <class Impl, class... Args>
child_spec make_child(std::string name, Args... args) {
    constexpr bool copyable = (std::is_copy_constructible_v<Args> && ...);
    static_assert(copyable,
                  "make_child copies its arguments so that the supervisor can rebuild the child "
                  "on restart, and this one cannot be copied (move-only). Use "
                  "make_child_from<Impl>(name, factory), where the factory is a copyable "
                  "callable that creates the move-only state fresh for each (re)start");
    child_spec s;
    if constexpr (copyable) { // else only the static_assert speaks (clang goes on otherwise)
        s.name = std::move(name);
        s.start = [... captured = std::move(args)](actor_base& parent, const std::string& n,
                                                   const spawn_options& o) {
            return parent.template spawn_named<Impl>(n, o, captured...).addr();
        };
    }
    return s;
}

/// A spec for a child of class `Impl` that `factory()` builds at every start
/// and restart (so move-only state is created fresh per incarnation).
/// `factory` must be copyable and return an `Impl` by value.
template <class Impl, class F>
child_spec make_child_from(std::string name, F factory) {
    static_assert(std::is_copy_constructible_v<F>,
                  "a child factory is kept for restarts: it must be copyable (create move-only "
                  "state inside it, at each call)");
    child_spec s;
    s.name = std::move(name);
    if constexpr (std::is_copy_constructible_v<F>) {
        s.start = [f = std::move(factory)](actor_base& parent, const std::string& n,
                                           const spawn_options& o) {
            return parent.template spawn_from<Impl>(f, n, o).addr();
        };
    }
    return s;
}

} // namespace troupe
