// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/actors/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace troupe {

class aggregate_error;

/// One recorded child failure.
struct child_failure {
    std::string path;                ///< the child's full path
    error cause;                     ///< its error, with the cause chain
    time_point when{};               ///< on the system's clock
    std::uint32_t restart_count = 0; ///< restarts of that child before this failure
    /// The child's own aggregate, when the child is a supervisor that gave up.
    std::shared_ptr<const aggregate_error> nested;
};

/// Every failure under one supervisor (or task group), with nested
/// aggregates of sub-supervisors: the failure tree.
///
/// A value: copyable, immutable once published (nested aggregates are
/// shared). **Threading:** const members from any thread.
class aggregate_error {
public:
    aggregate_error() = default;
    aggregate_error(std::string owner, error summary)
        : owner_(std::move(owner)), summary_(std::move(summary)) {}

    /// Path of the supervisor / group that collected the failures.
    [[nodiscard]] const std::string& owner() const noexcept { return owner_; }
    /// Why the owner gave up (`errc::none` for a plain collection).
    [[nodiscard]] const error& summary() const noexcept { return summary_; }
    [[nodiscard]] const std::vector<child_failure>& failures() const noexcept { return failures_; }
    [[nodiscard]] bool empty() const noexcept { return failures_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return failures_.size(); }
    /// Failures in this aggregate and, recursively, every nested one.
    [[nodiscard]] std::size_t total() const;
    /// Failures the owner saw but does not list: a supervisor's history keeps
    /// the latest `supervisor_options::max_reported_failures` of its window
    /// and counts the ones it let go (not counted in `size` or `total`).
    [[nodiscard]] std::size_t omitted() const noexcept { return omitted_; }

    void add(child_failure f) { failures_.push_back(std::move(f)); }
    void add_omitted(std::size_t n) noexcept { omitted_ += n; }

    /// Visits every failure depth-first; `depth` is 0 for this level.
    void walk(const std::function<void(const child_failure&, int depth)>& fn) const;
    /// An indented tree, one failure per line, nested aggregates indented.
    [[nodiscard]] std::string to_tree_string() const;

private:
    void walk_at(const std::function<void(const child_failure&, int)>& fn, int depth) const;
    std::string owner_;
    error summary_;
    std::vector<child_failure> failures_;
    std::size_t omitted_ = 0;
};

/// Reports kept per system (see `failure_report`) past which those of
/// terminated supervisors are forgotten, oldest first.
inline constexpr std::size_t failure_report_limit = 1024;

/// The aggregate a supervisor published when it gave up (null if none).
/// Kept per system (an extension slot), one per supervisor (giving up again
/// replaces it): it stays available after the supervisor terminated and
/// after its parent nested it into its own report; `take` removes it. A
/// live supervisor's report stays until the system shuts down; of the
/// terminated ones', the oldest are forgotten once the system holds more
/// than `failure_report_limit` reports (a parent's report still nests the
/// ones it absorbed), so a storm of short-lived supervisors that give up
/// keeps bounded memory.
[[nodiscard]] std::shared_ptr<const aggregate_error> failure_report(const actor_addr& who);
[[nodiscard]] std::shared_ptr<const aggregate_error> take_failure_report(const actor_addr& who);

namespace detail {
void publish_failure_report(const actor_addr& who, std::shared_ptr<const aggregate_error> a);
}

} // namespace troupe
