// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <utility>

namespace troupe {

std::size_t aggregate_error::total() const {
    std::size_t n = 0;
    walk([&](const child_failure&, int) { ++n; });
    return n;
}

void aggregate_error::walk(const std::function<void(const child_failure&, int)>& fn) const {
    walk_at(fn, 0);
}

void aggregate_error::walk_at(const std::function<void(const child_failure&, int)>& fn,
                              int depth) const {
    for (const auto& f : failures_) {
        fn(f, depth);
        if (f.nested) {
            f.nested->walk_at(fn, depth + 1);
        }
    }
}

namespace {
void print(std::ostringstream& os, const aggregate_error& a, int depth) {
    std::string pad(static_cast<std::size_t>(depth) * 4, ' ');
    os << pad << "aggregate of " << (a.owner().empty() ? "<group>" : a.owner());
    if (a.summary()) {
        os << " (" << a.summary().code() << ": " << a.summary().message() << ")";
    }
    os << ", " << a.size() << " failure(s)";
    if (a.omitted() != 0) {
        os << " (and " << a.omitted() << " earlier, not kept)";
    }
    os << "\n";
    for (const auto& f : a.failures()) {
        os << pad << "  - " << f.path << " [restarts " << f.restart_count << ", t="
           << std::chrono::duration_cast<std::chrono::milliseconds>(f.when.time_since_epoch())
                  .count()
           << "ms] " << f.cause.to_string() << "\n";
        if (f.nested) {
            print(os, *f.nested, depth + 1);
        }
    }
}

/// The reports of one system's supervisors that gave up: a system
/// extension, destroyed with the system.
struct failure_reports {
    struct entry {
        std::shared_ptr<const aggregate_error> report;
        std::uint64_t published = 0; // order of publication
    };
    using map = std::map<actor_addr, entry>;
    std::mutex mutex;
    map reports;                 // guarded by mutex
    std::uint64_t published = 0; // guarded by mutex

    /// Past the limit, takes out the oldest report of a supervisor that has
    /// terminated (a live one's report always stays). One per publication
    /// keeps the count at the limit: a linear scan, on a give-up only. The
    /// caller destroys what it returns after unlocking: it may hold the last
    /// reference to a cell.
    map::node_type trim() { // with mutex held
        if (reports.size() <= failure_report_limit) {
            return {};
        }
        auto oldest = reports.end();
        for (auto it = reports.begin(); it != reports.end(); ++it) {
            if (it->first.is_terminated() &&
                (oldest == reports.end() || it->second.published < oldest->second.published)) {
                oldest = it;
            }
        }
        return oldest == reports.end() ? map::node_type{} : reports.extract(oldest);
    }
};

} // namespace

std::string aggregate_error::to_tree_string() const {
    std::ostringstream os;
    print(os, *this, 0);
    return os.str();
}

std::shared_ptr<const aggregate_error> failure_report(const actor_addr& who) {
    auto r = troupe::system::find_extension_of<failure_reports>(who);
    if (!r) {
        return nullptr;
    }
    std::lock_guard lock(r->mutex);
    auto it = r->reports.find(who);
    return it == r->reports.end() ? nullptr : it->second.report;
}

std::shared_ptr<const aggregate_error> take_failure_report(const actor_addr& who) {
    auto r = troupe::system::find_extension_of<failure_reports>(who);
    if (!r) {
        return nullptr;
    }
    std::lock_guard lock(r->mutex);
    auto it = r->reports.find(who);
    if (it == r->reports.end()) {
        return nullptr;
    }
    auto a = std::move(it->second.report);
    r->reports.erase(it);
    return a;
}

namespace detail {
void publish_failure_report(const actor_addr& who, std::shared_ptr<const aggregate_error> a) {
    auto r = troupe::system::extension_of<failure_reports>(
        who, [] { return std::make_shared<failure_reports>(); });
    if (!r) {
        return; // the system is shutting down
    }
    failure_reports::map::node_type forgotten; // destroyed after the lock is released
    std::lock_guard lock(r->mutex);
    // A supervisor that gives up again (restarted in place) replaces its report.
    r->reports[who] = failure_reports::entry{std::move(a), r->published++};
    forgotten = r->trim();
}
} // namespace detail

} // namespace troupe
