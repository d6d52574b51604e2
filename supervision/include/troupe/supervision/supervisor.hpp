// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>
#include <troupe/supervision/backoff.hpp>
#include <troupe/supervision/child_spec.hpp>
#include <troupe/supervision/fault_injection.hpp>
#include <troupe/supervision/task_group.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace troupe {

/// Which children restart when one fails.
enum class restart_strategy : std::uint8_t {
    one_for_one,  ///< only the failed child
    one_for_all,  ///< every child (siblings are restarted in place)
    rest_for_one, ///< the failed child and those started after it
};

/// What a supervisor reports through `supervisor_options::on_event`.
struct supervision_event {
    enum class kind : std::uint8_t {
        failure,       ///< a child failed (before the decision)
        restart,       ///< a child restarts (`delay` > 0: after a backoff)
        respawn,       ///< a permanent child that stopped normally was started anew
        give_up,       ///< intensity exceeded: the supervisor escalates `aggregate`
        shutdown_kill, ///< a child overran its shutdown timeout and was killed
    };
    kind what;
    actor_addr supervisor;
    actor_addr child;
    error cause;
    duration delay{};
    std::uint32_t restart_count = 0;
    std::shared_ptr<const aggregate_error> aggregate; ///< give_up only
};

/// A supervisor's policy.
struct supervisor_options {
    restart_strategy strategy = restart_strategy::one_for_one;
    /// Restart intensity: more than `max_restarts` restarts within `within`
    /// makes the supervisor give up: it publishes an `aggregate_error` of
    /// every failure it saw (see `failure_report`) and fails to its parent
    /// (`errc::escalated`), whose decision then stops or restarts it — its
    /// children are stopped in order (reverse start order) either way.
    std::uint32_t max_restarts = 3;
    duration within = std::chrono::seconds(5);
    backoff_policy backoff{};
    std::uint64_t seed = 42; ///< jitter RNG seed
    /// Failures, restarts, give-ups, shutdown kills (on the supervisor's turn;
    /// must be thread-safe if shared by several supervisors).
    std::function<void(const supervision_event&)> on_event{};
};

/// Supervisor protocol: dynamic children and introspection.
struct add_child {
    using reply_type = actor_addr; ///< null if the name is taken or the spawn failed
    child_spec spec;
};
struct remove_child {
    using reply_type = bool; ///< false if no such child
    std::string name;
};
struct child_info {
    std::string name;
    actor_addr addr;
    restart_type restart;
    std::uint32_t restarts;
};
struct which_children {
    using reply_type = std::vector<child_info>; ///< in start order
};
using supervisor_protocol = std::variant<add_child, remove_child, which_children>;

/// An actor that starts `children` in order and keeps them running per
/// `options` (strategy, restart types, intensity, backoff).
///
/// Restarts use the core's in-place restart: the child's behaviour is
/// rebuilt from its spawn arguments, its mailbox and every ref to it stay
/// valid. A permanent child that stops normally is started anew (a new actor
/// at the same path; old refs then reach dead letters). Ordered stop: the
/// core stops children newest first, each per its shutdown policy; an
/// overrun is killed, reported (`shutdown_kill` event) and recorded in
/// the supervisor's failure history.
///
/// **Threading:** like every actor, its state is touched on its own turn
/// only; talk to it through its ref. **Failure:** a child failure never
/// throws into the supervisor; the supervisor itself fails only by giving
/// up (escalation) or if a child's `start` throws.
class supervisor : public actor<supervisor_protocol> {
public:
    supervisor(supervisor_options options, std::vector<child_spec> children);

    void on_start() override;
    void on_stop(const error& cause) override;
    void on_down(const down_msg& msg) override;
    child_decision on_child_failed(const actor_addr& child, const error& cause) override;
    void on_child_shutdown_timeout(const actor_addr& child) override;

    actor_addr on(add_child& m);
    bool on(remove_child& m);
    std::vector<child_info> on(which_children& m);

private:
    struct child_state {
        explicit child_state(child_spec s) : spec(std::move(s)) {}
        child_spec spec;
        actor_addr addr;
        std::uint32_t restarts = 0;
        std::uint32_t consecutive = 0; // for backoff
        time_point last_failure{};
        timer_id backoff_timer = 0; // pending delayed restart, if any
    };
    actor_addr start_child(child_state& c);
    child_state* find(const actor_addr& a);
    void emit(supervision_event e) const;
    bool intensity_exceeded(time_point now);

    supervisor_options options_;
    std::vector<child_spec> initial_;
    std::vector<child_state> children_; // start order
    std::deque<time_point> restarts_;   // within the intensity window
    aggregate_error history_;
    std::mt19937_64 rng_;
    bool giving_up_ = false;
};

} // namespace troupe
