// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>
#include <troupe/supervision/backoff.hpp>
#include <troupe/supervision/child_spec.hpp>
#include <troupe/supervision/fault_injection.hpp>
#include <troupe/supervision/task_group.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace troupe {

/// Which children restart when one fails.
enum class restart_strategy : std::uint8_t {
    one_for_one,  ///< only the failed child
    one_for_all,  ///< every child (siblings are restarted in place)
    rest_for_one, ///< the failed child and those started after it
};

/// The enumerator's name (`"one_for_all"`).
[[nodiscard]] constexpr std::string_view to_string(restart_strategy s) noexcept {
    switch (s) { // no default: -Wswitch flags a new enumerator
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, restart_strategy s);

/// What a supervisor reports through `supervisor_options::on_event`.
struct supervision_event {
    enum class kind : std::uint8_t {
        failure,       ///< a child failed or exited abnormally (before the decision)
        restart,       ///< a child restarts (`delay` > 0: after a backoff)
        respawn,       ///< a permanent child that stopped normally restarts (in place)
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

/// The enumerator's name (`"give_up"`).
[[nodiscard]] constexpr std::string_view to_string(supervision_event::kind k) noexcept {
    switch (k) { // no default: -Wswitch flags a new enumerator
    case supervision_event::kind::failure: return "failure";
    case supervision_event::kind::restart: return "restart";
    case supervision_event::kind::respawn: return "respawn";
    case supervision_event::kind::give_up: return "give_up";
    case supervision_event::kind::shutdown_kill: return "shutdown_kill";
    }
    return "unknown";
}
std::ostream& operator<<(std::ostream& os, supervision_event::kind k);

/// A supervisor's policy.
struct supervisor_options {
    restart_strategy strategy = restart_strategy::one_for_one;
    /// Restart intensity: more than `max_restarts` restarts within `within`
    /// makes the supervisor give up: it publishes an `aggregate_error` of
    /// the failures in that window (see `failure_report`), stops all its
    /// children in reverse start order, each per its shutdown policy, and
    /// then fails to its parent (`errc::escalated`), whose decision stops or
    /// restarts it — as an Erlang/OTP supervisor terminates its children
    /// before its exit reaches its own supervisor.
    ///
    /// Memory per supervisor is bounded whatever the length of a restart
    /// storm: one timestamp per restart inside the window (at most
    /// `max_restarts`, as Erlang/OTP's supervisor keeps them), and a failure
    /// history of at most `max_reported_failures` entries (see there).
    std::uint32_t max_restarts = 3;
    duration within = std::chrono::seconds(5);
    /// The failure history behind a give-up report keeps the latest failures
    /// inside the window, at most this many (and at most `max_restarts + 1`,
    /// all a give-up needs); failures it had to let go while they were still
    /// in the window are counted in the report (`aggregate_error::omitted`).
    /// Only matters when `max_restarts` is large (then a report holds the
    /// last failures before the give-up, not every one in the window).
    std::uint32_t max_reported_failures = 16;
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
/// Internal: a child's backoff elapsed (sent by the supervisor to itself).
struct restart_after_backoff {
    actor_addr child;
    std::uint64_t generation = 0;
};
using supervisor_protocol =
    std::variant<add_child, remove_child, which_children, restart_after_backoff>;

/// An actor that starts `children` in order and keeps them running per
/// `options` (strategy, restart types, intensity, backoff), with the
/// semantics of Erlang/OTP's supervisor:
///
/// - Every exit of a child that the supervisor did not ask for is reported
///   to it (`actor_base::decide_child_exits`): a handler that threw, a stop
///   by the child itself or by anyone else, a kill, a linked peer's death.
///   A non-normal cause is a failure. `permanent` children restart after
///   any exit, `transient` ones after failures, `temporary` ones never (they
///   are removed). Every restart is in place: the behaviour is rebuilt from
///   its spawn arguments; its mailbox and every ref to it stay valid.
/// - `one_for_one` restarts the child; `one_for_all` stops the other
///   children newest first (each under its shutdown policy), then starts all
///   of them in start order; `rest_for_one` does the same for the failed
///   child and the ones started after it.
/// - More than `max_restarts` restarts within `within` make it give up: it
///   publishes its aggregate (which nests the reports of sub-supervisors
///   that gave up), stops its children newest first (each per its shutdown
///   policy) and only then fails to its parent with `escalated`, whatever
///   the path — failures or children that keep exiting normally.
/// - Ordered stop: children newest first, each per its shutdown policy; an
///   overrun is killed (exit cause `killed` <- `timeout`), reported
///   (`shutdown_kill` event) and recorded.
/// - Child names must be unique: a spec with duplicates fails the
///   supervisor at start with `invalid_argument`.
///
/// **Threading:** like every actor, its state is touched on its own turn
/// only; talk to it through its ref. **Failure:** a child failure never
/// throws into the supervisor; the supervisor itself fails only by giving
/// up (escalation), by a bad spec, or if a child's `start` throws.
class supervisor : public actor<supervisor_protocol> {
public:
    supervisor(supervisor_options options, std::vector<child_spec> children);

    void on_start() override;
    void on_stop(const error& cause) override;
    child_decision on_child_failed(const actor_addr& child, const error& cause) override;
    void on_child_shutdown_timeout(const actor_addr& child) override;

    actor_addr on(add_child& m);
    bool on(remove_child& m);
    std::vector<child_info> on(which_children& m);
    void on(restart_after_backoff& m);

private:
    struct child_state {
        explicit child_state(child_spec s) : spec(std::move(s)) {}
        child_spec spec;
        actor_addr addr;
        std::uint32_t restarts = 0;
        std::uint32_t consecutive = 0; // for backoff
        time_point last_failure{};
        timer_handle backoff_timer; // pending delayed restart, if any
        std::uint64_t backoff_generation = 0;
    };
    actor_addr start_child(child_state& c);
    child_state* find(const actor_addr& a);
    void emit(const supervision_event& e) const;
    void remember(child_failure f);
    /// Drops the history's failures that left the window ending at `now`.
    void forget_before(time_point now);
    bool intensity_exceeded(time_point now);
    child_decision give_up(const actor_addr& child, const error& cause, std::uint32_t restarts);
    child_decision restart(child_state& c, const error& cause, time_point now);
    /// The children a restart of `c` takes along, in start order.
    std::vector<actor_addr> restart_group(const child_state& c) const;
    void restart_now(child_state& c, const error& cause);

    supervisor_options options_;
    std::vector<child_spec> initial_;
    std::vector<child_state> children_; // start order
    // Restart times within the intensity window, oldest first: a ring of
    // restart_count_ entries from restart_head_ in restarts_, whose size only
    // grows (doubling, at most max_restarts). Unlike a deque it allocates
    // nothing before the first restart and holds exactly the window's worth.
    std::vector<time_point> restarts_;
    std::size_t restart_head_ = 0;
    std::size_t restart_count_ = 0;
    // The latest failures within the window, oldest first: at most
    // min(max_restarts + 1, max_reported_failures). Erasing at the front
    // moves at most that many entries: cheaper than a deque's node churn.
    std::vector<child_failure> history_;
    // Failures let go from history_ for its size while still in the window,
    // and when the newest of them happened: once that one left the window,
    // they all did, and the count starts again.
    std::size_t omitted_ = 0;
    time_point omitted_newest_{};
    std::mt19937_64 rng_;
    bool giving_up_ = false;
};

} // namespace troupe
