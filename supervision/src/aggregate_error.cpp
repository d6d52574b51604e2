// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/system.hpp>
#include <troupe/supervision/aggregate_error.hpp>

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
    std::mutex mutex;
    std::map<actor_addr, std::shared_ptr<const aggregate_error>> reports; // guarded by mutex
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
    return it == r->reports.end() ? nullptr : it->second;
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
    auto a = std::move(it->second);
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
    std::lock_guard lock(r->mutex);
    r->reports[who] = std::move(a); // a supervisor that gives up again replaces its report
}
} // namespace detail

} // namespace troupe
