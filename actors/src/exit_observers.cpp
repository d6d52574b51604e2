// Part of troupe. See LICENSE at the repository root.

#include "exit_observers.hpp"

#include <troupe/actors/detail/cell.hpp>

#include <algorithm>

namespace troupe::internal {

using detail::cell_ptr;
using detail::sys_kind;

void exit_observers::remove_monitor(const detail::cell* watcher) noexcept {
    auto it = std::find_if(list_.begin(), list_.end(), [&](const observer& o) {
        return o.what == kind::monitor && o.actor.get() == watcher;
    });
    if (it != list_.end()) {
        list_.erase(it);
    }
}

void exit_observers::remove_link(const detail::cell* peer) noexcept {
    std::erase_if(list_,
                  [&](const observer& o) { return o.what == kind::link && o.actor.get() == peer; });
}

bool exit_observers::has_link(const detail::cell* peer) const noexcept {
    return std::any_of(list_.begin(), list_.end(), [&](const observer& o) {
        return o.what == kind::link && o.actor.get() == peer;
    });
}

std::vector<cell_ptr> exit_observers::take_links() {
    std::vector<cell_ptr> peers;
    std::erase_if(list_, [&](observer& o) {
        if (o.what != kind::link) {
            return false;
        }
        peers.push_back(std::move(o.actor));
        return true;
    });
    return peers;
}

void exit_observers::tell(const observer& o, const cell_ptr& dead, const error& cause) {
    switch (o.what) {
    case kind::monitor: o.actor->post(sys_kind::down, cause, dead); break;
    case kind::link: o.actor->post(sys_kind::exit_signal, cause, dead); break;
    case kind::callback:
        if (o.on_exit) {
            o.on_exit(cause);
        }
        break;
    }
}

void exit_observers::notify(const cell_ptr& dead, const error& cause) {
    std::vector<observer> all = std::move(list_);
    list_.clear();
    for (const auto& o : all) {
        tell(o, dead, cause);
    }
}

void exit_observers::answer_dead(detail::system_envelope& request, const cell_ptr& dead,
                                 const error& cause) {
    switch (request.kind) {
    case sys_kind::monitor:
        if (request.callback) {
            tell(observer{kind::callback, {}, std::move(request.callback)}, dead, cause);
        } else if (request.other) {
            tell(observer{kind::monitor, request.other, {}}, dead, cause);
        }
        break;
    case sys_kind::link:
        if (request.other) {
            tell(observer{kind::link, request.other, {}}, dead, cause);
        }
        break;
    case sys_kind::child_failed:
        // The parent is gone: the failed child cannot wait for a decision.
        if (request.other) {
            request.other->request_stop(request.cause, detail::stop_origin::parent);
        }
        break;
    default: break; // nothing to answer: the request dies with the actor
    }
}

} // namespace troupe::internal
