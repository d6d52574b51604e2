// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell.hpp>
#include <troupe/supervision/supervisor.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace troupe {

duration backoff_policy::delay(std::uint32_t k, std::mt19937_64& rng) const {
    if (min <= duration::zero()) {
        return duration::zero();
    }
    double d = static_cast<double>(min.count()) *
               std::pow(multiplier < 1.0 ? 1.0 : multiplier, static_cast<double>(k));
    double cap = static_cast<double>(max.count());
    d = std::min(d, cap);
    if (jitter > 0.0) {
        double j = std::clamp(jitter, 0.0, 1.0);
        d *= std::uniform_real_distribution<double>(1.0 - j, 1.0 + j)(rng);
        d = std::min(d, cap);
    }
    return duration(static_cast<duration::rep>(d));
}

supervisor::supervisor(supervisor_options options, std::vector<child_spec> children)
    : options_(std::move(options)), initial_(std::move(children)), rng_(options_.seed) {}

void supervisor::on_start() {
    history_ = aggregate_error(path(), {});
    for (auto& spec : initial_) {
        children_.emplace_back(spec);
        start_child(children_.back());
    }
}

actor_addr supervisor::start_child(child_state& c) {
    c.addr = c.spec.start(*this, c.spec.name, c.spec.options);
    monitor(c.addr);
    return c.addr;
}

supervisor::child_state* supervisor::find(const actor_addr& a) {
    for (auto& c : children_) {
        if (c.addr == a) {
            return &c;
        }
    }
    return nullptr;
}

void supervisor::emit(supervision_event e) const {
    if (options_.on_event) {
        options_.on_event(e);
    }
}

bool supervisor::intensity_exceeded(time_point now) {
    while (!restarts_.empty() && now - restarts_.front() > options_.within) {
        restarts_.pop_front();
    }
    if (restarts_.size() >= options_.max_restarts) {
        return true;
    }
    restarts_.push_back(now);
    return false;
}

child_decision supervisor::on_child_failed(const actor_addr& child, const error& cause) {
    time_point now = system().clock().now();
    child_state* c = find(child);
    if (c == nullptr || giving_up_) {
        return child_decision::stop;
    }
    history_.add(child_failure{child.path(), cause, now, c->restarts, take_failure_report(child)});
    emit({supervision_event::kind::failure, addr(), child, cause, {}, c->restarts, nullptr});

    if (c->spec.restart == restart_type::temporary) {
        std::erase_if(children_, [&](const child_state& s) { return s.addr == child; });
        return child_decision::stop;
    }
    if (intensity_exceeded(now)) {
        giving_up_ = true;
        auto agg = std::make_shared<aggregate_error>(
            path(),
            error{errc::escalated,
                  "restart intensity exceeded (" + std::to_string(options_.max_restarts) + " in " +
                      std::to_string(
                          std::chrono::duration_cast<std::chrono::milliseconds>(options_.within)
                              .count()) +
                      "ms)",
                  cause});
        for (const auto& f : history_.failures()) {
            agg->add(f);
        }
        detail::publish_failure_report(addr(), agg);
        emit({supervision_event::kind::give_up, addr(), child, cause, {}, c->restarts, agg});
        return child_decision::escalate;
    }

    // Backoff for the failed child.
    if (c->restarts > 0 && now - c->last_failure >= options_.backoff.reset_after) {
        c->consecutive = 0;
    }
    duration delay = options_.backoff.delay(c->consecutive, rng_);
    ++c->consecutive;
    c->last_failure = now;
    ++c->restarts;
    emit({supervision_event::kind::restart, addr(), child, cause, delay, c->restarts, nullptr});

    // Siblings per strategy: restarted in place (refs and mailboxes kept),
    // newest first like an ordered stop.
    if (options_.strategy != restart_strategy::one_for_one) {
        std::size_t idx = static_cast<std::size_t>(c - children_.data());
        std::size_t from = options_.strategy == restart_strategy::one_for_all ? 0 : idx + 1;
        for (std::size_t i = children_.size(); i-- > from;) {
            if (i == idx) {
                continue;
            }
            auto& s = children_[i];
            ++s.restarts;
            if (s.backoff_timer != 0) { // it restarts now, not later
                system().clock().cancel(std::exchange(s.backoff_timer, 0));
            }
            s.addr.cell()->post(detail::sys_kind::restart,
                                error{errc::stopped, "sibling " + child.path() + " failed", cause});
        }
    }
    if (delay <= duration::zero()) {
        return child_decision::restart;
    }
    // Restart later; meanwhile the child stays failed and its mailbox fills.
    // One pending timer per child (a failed child cannot fail again).
    c->backoff_timer =
        system().clock().schedule_at(now + delay, [target = detail::cell_ptr(child.cell()), cause] {
            target->post(detail::sys_kind::restart, cause);
        });
    return child_decision::defer;
}

void supervisor::on_down(const down_msg& msg) {
    child_state* c = find(msg.source);
    if (c == nullptr || giving_up_ || stop_token().stop_requested()) {
        return;
    }
    if (msg.cause) {
        // Stopped abnormally outside the failure path (e.g. a linked exit or
        // a stop decision): recorded, not restarted.
        history_.add(child_failure{msg.source.path(), msg.cause, system().clock().now(),
                                   c->restarts, nullptr});
        std::erase_if(children_, [&](const child_state& s) { return s.addr == msg.source; });
        return;
    }
    if (c->spec.restart != restart_type::permanent) {
        std::erase_if(children_, [&](const child_state& s) { return s.addr == msg.source; });
        return;
    }
    time_point now = system().clock().now();
    if (intensity_exceeded(now)) {
        // Too many respawns: give up like for failures.
        giving_up_ = true;
        auto agg = std::make_shared<aggregate_error>(
            path(), error{errc::escalated, "restart intensity exceeded by respawns"});
        for (const auto& f : history_.failures()) {
            agg->add(f);
        }
        detail::publish_failure_report(addr(), agg);
        emit({supervision_event::kind::give_up, addr(), msg.source, {}, {}, c->restarts, agg});
        stop(agg->summary());
        return;
    }
    ++c->restarts;
    start_child(*c);
    emit({supervision_event::kind::respawn, addr(), c->addr, {}, {}, c->restarts, nullptr});
}

void supervisor::on_child_shutdown_timeout(const actor_addr& child) {
    error why{errc::killed, "shutdown timeout overrun"};
    history_.add(child_failure{child.path(), why, system().clock().now(), 0, nullptr});
    emit({supervision_event::kind::shutdown_kill, addr(), child, why, {}, 0, nullptr});
}

void supervisor::on_stop(const error& /*cause*/) {
    for (auto& c : children_) {
        if (c.backoff_timer != 0) {
            system().clock().cancel(std::exchange(c.backoff_timer, 0));
        }
    }
}

actor_addr supervisor::on(add_child& m) {
    if (m.spec.name.empty() || !m.spec.start ||
        std::any_of(children_.begin(), children_.end(),
                    [&](const child_state& s) { return s.spec.name == m.spec.name; })) {
        return {};
    }
    children_.emplace_back(std::move(m.spec));
    actor_addr a = start_child(children_.back());
    if (a.cell() == nullptr || a.cell()->is_terminated()) {
        children_.pop_back();
        return {};
    }
    return a;
}

bool supervisor::on(remove_child& m) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const child_state& s) { return s.spec.name == m.name; });
    if (it == children_.end()) {
        return false;
    }
    actor_addr a = it->addr;
    children_.erase(it);
    demonitor(a);
    a.cell()->post(detail::sys_kind::stop, error{});
    return true;
}

std::vector<child_info> supervisor::on(which_children&) {
    std::vector<child_info> out;
    for (const auto& c : children_) {
        out.push_back(child_info{c.spec.name, c.addr, c.spec.restart, c.restarts});
    }
    return out;
}

} // namespace troupe
