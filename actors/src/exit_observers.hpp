// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/error.hpp>

#include <functional>
#include <vector>

namespace troupe::internal {

/// Who is told when one actor terminates, as one list in arrival order:
/// monitoring actors (they get `down`), linked actors (they get an exit
/// signal) and exit callbacks (`system::on_exit`). The same rules answer a
/// request that reaches an actor already terminated (`answer_dead`), so an
/// observer learns the same thing whether it came before or after the death.
///
/// **Threading:** the observed actor's own turn only (`answer_dead`: any
/// thread, once the actor's exit cause is published).
class exit_observers {
public:
    enum class kind : std::uint8_t { monitor, link, callback };
    struct observer {
        kind what;
        detail::cell_ptr actor;                    // monitor, link
        std::function<void(const error&)> on_exit; // callback
    };

    void add(observer o) { list_.push_back(std::move(o)); }
    /// Removes the oldest monitor held by `watcher` (monitors stack, as in
    /// Erlang: each demonitor undoes one monitor).
    void remove_monitor(const detail::cell* watcher) noexcept;
    /// Removes the link to `peer` (at most one exists).
    void remove_link(const detail::cell* peer) noexcept;
    [[nodiscard]] bool has_link(const detail::cell* peer) const noexcept;
    /// Removes every link and returns the peers (a restart in place breaks
    /// the old incarnation's links; monitors of the actor stay).
    [[nodiscard]] std::vector<detail::cell_ptr> take_links();
    [[nodiscard]] std::size_t size() const noexcept { return list_.size(); }

    /// Tells every observer that `dead` terminated with `cause`; empties the list.
    void notify(const detail::cell_ptr& dead, const error& cause);
    /// Answers `request` (monitor, link or child_failed) that reached `dead`
    /// after it terminated with `cause`, as `notify` would have.
    static void answer_dead(detail::system_envelope& request, const detail::cell_ptr& dead,
                            const error& cause);

private:
    static void tell(const observer& o, const detail::cell_ptr& dead, const error& cause);
    std::vector<observer> list_;
};

} // namespace troupe::internal
