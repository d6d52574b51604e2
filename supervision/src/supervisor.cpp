// Part of troupe. See LICENSE at the repository root.

#include <troupe/supervision/supervisor.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>
#include <set>
#include <string>
#include <utility>

namespace troupe {

namespace detail {
void publish_failure_report(const actor_addr& who, std::shared_ptr<const aggregate_error> a);
} // namespace detail

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
    std::set<std::string> names;
    for (const auto& spec : initial_) {
        if (spec.name.empty() || !spec.start || !names.insert(spec.name).second) {
            throw error_exception(
                error{errc::invalid_argument, "child specs need a start function and unique names; "
                                              "bad or repeated: '" +
                                                  spec.name + "'"});
        }
    }
    decide_child_exits();
    for (auto& spec : initial_) {
        children_.emplace_back(spec);
        start_child(children_.back());
    }
}

actor_addr supervisor::start_child(child_state& c) {
    c.addr = c.spec.start(*this, c.spec.name, c.spec.options);
    return c.addr;
}

supervisor::child_state* supervisor::find(const actor_addr& a) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const child_state& c) { return c.addr == a; });
    return it == children_.end() ? nullptr : &*it;
}

void supervisor::emit(const supervision_event& e) const {
    if (options_.on_event) {
        options_.on_event(e);
    }
}

void supervisor::forget_before(time_point now) {
    const auto expired =
        std::find_if(history_.begin(), history_.end(),
                     [&](const child_failure& f) { return now - f.when <= options_.within; });
    history_.erase(history_.begin(), expired);
    if (omitted_ != 0 && now - omitted_newest_ > options_.within) {
        omitted_ = 0;
    }
}

void supervisor::remember(child_failure f) {
    const time_point now = f.when;
    forget_before(now);
    const std::size_t limit = std::min(static_cast<std::size_t>(options_.max_restarts) + 1,
                                       static_cast<std::size_t>(options_.max_reported_failures));
    if (limit == 0) {
        ++omitted_;
        omitted_newest_ = now;
        return;
    }
    if (history_.size() >= limit) {
        omitted_ += history_.size() - limit + 1;
        omitted_newest_ = history_[history_.size() - limit].when;
        history_.erase(history_.begin(),
                       history_.begin() + static_cast<std::ptrdiff_t>(history_.size() - limit + 1));
    }
    if (history_.size() == history_.capacity()) { // grow by doubling, but never past the limit
        history_.reserve(std::min(limit, std::max<std::size_t>(1, 2 * history_.capacity())));
    }
    history_.push_back(std::move(f));
}

bool supervisor::intensity_exceeded(time_point now) {
    while (restart_count_ != 0 && now - restarts_[restart_head_] > options_.within) {
        restart_head_ = (restart_head_ + 1) % restarts_.size();
        --restart_count_;
    }
    if (restart_count_ >= options_.max_restarts) {
        return true;
    }
    if (restart_count_ == restarts_.size()) { // full: grow, oldest first again
        const std::size_t capacity = std::min(static_cast<std::size_t>(options_.max_restarts),
                                              std::max<std::size_t>(4, 2 * restarts_.size()));
        std::vector<time_point> grown;
        grown.reserve(capacity);
        for (std::size_t i = 0; i < restart_count_; ++i) {
            grown.push_back(restarts_[(restart_head_ + i) % restarts_.size()]);
        }
        grown.resize(capacity);
        restarts_ = std::move(grown);
        restart_head_ = 0;
    }
    restarts_[(restart_head_ + restart_count_) % restarts_.size()] = now;
    ++restart_count_;
    return false;
}

child_decision supervisor::on_child_failed(const actor_addr& child, const error& cause) {
    const time_point now = system().clock().now();
    child_state* c = find(child);
    if (c == nullptr || giving_up_) {
        return child_decision::stop;
    }
    const bool failed = static_cast<bool>(cause); // a non-normal exit
    if (failed) {
        // A sub-supervisor that gave up left its report: it nests here (and
        // stays queryable on its own).
        remember(child_failure{child.path(), cause, now, c->restarts, failure_report(child)});
        emit({supervision_event::kind::failure, addr(), child, cause, {}, c->restarts, nullptr});
    }
    const bool restarts = c->spec.restart == restart_type::permanent ||
                          (c->spec.restart == restart_type::transient && failed);
    if (!restarts) {
        std::erase_if(children_, [&](const child_state& s) { return s.addr == child; });
        return child_decision::stop;
    }
    if (intensity_exceeded(now)) {
        return give_up(child, cause, c->restarts);
    }
    return restart(*c, cause, now);
}

child_decision supervisor::give_up(const actor_addr& child, const error& cause,
                                   std::uint32_t restarts) {
    giving_up_ = true;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.within).count();
    error why{errc::escalated,
              "restart intensity exceeded (" + std::to_string(options_.max_restarts) + " in " +
                  std::to_string(ms) + "ms)",
              cause};
    auto agg = std::make_shared<aggregate_error>(path(), why);
    forget_before(system().clock().now());
    for (const auto& f : history_) {
        agg->add(f);
    }
    agg->add_omitted(omitted_);
    detail::publish_failure_report(addr(), agg);
    emit({supervision_event::kind::give_up, addr(), child, cause, {}, restarts, agg});
    // Escalates: the child is stopped, then the other children newest first,
    // and then this supervisor fails to its parent with the summary.
    throw error_exception(std::move(why));
}

child_decision supervisor::restart(child_state& c, const error& cause, time_point now) {
    if (c.restarts > 0 && now - c.last_failure >= options_.backoff.reset_after) {
        c.consecutive = 0;
    }
    const duration delay = options_.backoff.delay(c.consecutive, rng_);
    ++c.consecutive;
    c.last_failure = now;
    ++c.restarts;
    emit({cause ? supervision_event::kind::restart : supervision_event::kind::respawn, addr(),
          c.addr, cause, delay, c.restarts, nullptr});
    if (delay > duration::zero()) {
        // Restart later; meanwhile the child stays failed and its mailbox
        // fills. The timer belongs to this actor: a stop cancels it.
        c.backoff_timer.cancel();
        c.backoff_timer =
            delayed_tell(self(), delay, restart_after_backoff{c.addr, ++c.backoff_generation});
        return child_decision::defer;
    }
    if (options_.strategy == restart_strategy::one_for_one) {
        return child_decision::restart;
    }
    restart_now(c, cause);
    return child_decision::defer;
}

std::vector<actor_addr> supervisor::restart_group(const child_state& c) const {
    std::vector<actor_addr> group;
    bool from_here = options_.strategy == restart_strategy::one_for_all;
    for (const auto& s : children_) {
        from_here = from_here || s.addr == c.addr;
        if (from_here) {
            group.push_back(s.addr);
        }
    }
    return group;
}

void supervisor::restart_now(child_state& c, const error& cause) {
    if (options_.strategy == restart_strategy::one_for_one) {
        restart_child(c.addr, cause);
        return;
    }
    std::vector<actor_addr> group = restart_group(c);
    for (auto& s : children_) {
        if (s.addr != c.addr && std::find(group.begin(), group.end(), s.addr) != group.end()) {
            ++s.restarts;
            s.backoff_timer.cancel(); // it restarts now, with the group
        }
    }
    restart_children(group, error{errc::stopped, "sibling " + c.addr.path() + " failed", cause});
}

void supervisor::on(restart_after_backoff& m) {
    child_state* c = find(m.child);
    if (c == nullptr || giving_up_ || c->backoff_generation != m.generation) {
        return; // removed, or superseded by a later restart
    }
    restart_now(*c, error{errc::stopped, "restart after backoff"});
}

void supervisor::on_child_shutdown_timeout(const actor_addr& child) {
    error why{errc::killed, "shutdown timeout overrun"};
    remember(child_failure{child.path(), why, system().clock().now(), 0, nullptr});
    emit({supervision_event::kind::shutdown_kill, addr(), child, why, {}, 0, nullptr});
}

void supervisor::on_stop(const error& /*cause*/) {
    for (auto& c : children_) {
        c.backoff_timer.cancel();
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
    if (!a || a.is_terminated()) {
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
    const actor_addr a = it->addr;
    it->backoff_timer.cancel();
    children_.erase(it);
    stop_child(a);
    return true;
}

std::vector<child_info> supervisor::on(which_children&) {
    std::vector<child_info> out;
    out.reserve(children_.size());
    for (const auto& c : children_) {
        out.push_back(child_info{c.spec.name, c.addr, c.spec.restart, c.restarts});
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, restart_strategy s) { return os << to_string(s); }
std::ostream& operator<<(std::ostream& os, supervision_event::kind k) { return os << to_string(k); }
std::ostream& operator<<(std::ostream& os, restart_type t) { return os << to_string(t); }

} // namespace troupe
