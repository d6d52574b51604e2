// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/system.hpp>

#include "json.hpp"
#include "scheduler.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

namespace troupe {

namespace detail {

expected<void> check_actor_name(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name.front() == '$' ||
        name.size() > 255) {
        return fail(errc::invalid_argument,
                    "actor names are 1-255 characters, without '/', not starting with '$'");
    }
    return {};
}

expected<std::string> child_path(const cell& parent, std::string_view name) {
    std::string n(name);
    if (auto ok = check_actor_name(n); !ok) {
        return troupe::unexpected(ok.error());
    }
    return parent.path() + '/' + n;
}

} // namespace detail

namespace {

/// Stops the workers and the clock, terminates whatever is left, drops the
/// extensions. Runs once the actors no longer need the workers to finish.
void finish_shutdown(detail::system_core& core) {
    core.exec().shutdown();
    core.clk().shutdown();
    core.terminate_abandoned();
    core.clear_extensions();
}

/// Shutdowns that outlive their `troupe::system` (one that timed out, a
/// system destroyed from its own worker) finish on detached threads. At
/// process exit this static's destructor waits for them, at most
/// `exit_wait`, so the process does not end (and leak checkers do not run)
/// while one is still freeing its system. A stuck handler only delays exit.
class background_shutdowns {
public:
    static constexpr auto exit_wait = std::chrono::seconds(10);

    background_shutdowns() = default;
    background_shutdowns(const background_shutdowns&) = delete;
    background_shutdowns& operator=(const background_shutdowns&) = delete;
    ~background_shutdowns() {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, exit_wait, [this] { return running_ == 0; });
    }
    void started() {
        std::lock_guard lock(mutex_);
        ++running_;
    }
    /// The caller touches nothing of `*this` afterwards: the notify happens
    /// under the lock, before the destructor can return.
    void finished() {
        std::lock_guard lock(mutex_);
        --running_;
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t running_ = 0; // guarded by mutex_
};

background_shutdowns& pending_background_shutdowns() {
    static background_shutdowns pending;
    return pending;
}

/// Runs `work(core)` on a detached thread that holds `root` (so the core)
/// until it is done, counted in `pending_background_shutdowns()`.
template <class Work>
void run_in_background(detail::cell_ptr root, Work work) {
    background_shutdowns& pending = pending_background_shutdowns();
    pending.started();
    try {
        std::thread([root = std::move(root), work = std::move(work), &pending]() mutable {
            work(root->sys());
            root.reset(); // frees the core unless refs to its actors remain
            pending.finished();
        }).detach();
    } catch (...) {
        pending.finished();
        throw;
    }
}

} // namespace

system::system() : system(system_config{}) {}

system::system(system_config cfg) {
    std::unique_ptr<executor> own_exec;
    if (cfg.custom_executor == nullptr) {
        unsigned n = cfg.workers != 0 ? cfg.workers : std::thread::hardware_concurrency();
        own_exec = internal::make_work_stealing_scheduler(n == 0 ? 1 : n);
    }
    std::unique_ptr<troupe::clock> own_clock;
    if (cfg.custom_clock == nullptr) {
        own_clock = make_steady_clock();
    }
    // Owned by the root guardian's cell from here on (see system_core).
    core_ = new detail::system_core(*this, std::move(own_exec), cfg.custom_executor,
                                    std::move(own_clock), cfg.custom_clock);
    auto g = core_->create_guardians();
    root_ = std::move(g.root);
    system_guardian_ = std::move(g.system);
    user_ = std::move(g.user);
}

system::~system() {
    if (on_own_worker()) {
        std::fputs("troupe: a system was destroyed from inside one of its own actors; it "
                   "stops in the background. Shut it down from outside its actors.\n",
                   stderr);
        std::lock_guard lock(shutdown_mutex_);
        if (!shut_down_) {
            shut_down_ = true;
            stop_in_background(std::chrono::seconds(10));
        }
    } else {
        (void)shutdown();
    }
    user_.reset();
    system_guardian_.reset();
    root_.reset(); // the core lives on while any ref to one of its actors does
}

bool system::on_own_worker() const noexcept {
    const auto& ctx = detail::this_thread_context();
    return (ctx.current != nullptr && &ctx.current->sys() == core_) ||
           (core_->owns_executor() && ctx.scheduler == &core_->exec());
}

expected<void> system::shutdown(duration timeout) {
    if (on_own_worker()) {
        return fail(errc::would_block,
                    "shutdown from inside one of the system's actors would wait for itself");
    }
    std::lock_guard lock(shutdown_mutex_);
    if (shut_down_) {
        return {};
    }
    shut_down_ = true;
    auto result = core_->stop_tree(timeout);
    if (result) {
        finish_shutdown(*core_);
    } else {
        // Handlers still run: joining the workers would wait for them.
        finish_in_background();
    }
    return result;
}

void system::stop_in_background(duration stop_timeout) {
    // The thread keeps the root (so the core) alive until it is done; it
    // never touches *this, which may be gone by then.
    run_in_background(root_, [stop_timeout](detail::system_core& core) {
        (void)core.stop_tree(stop_timeout);
        finish_shutdown(core);
    });
}

void system::finish_in_background() {
    // As in stop_in_background: the root keeps the core alive.
    run_in_background(root_, [](detail::system_core& core) { finish_shutdown(core); });
}

expected<void> system::on_exit(const actor_addr& who, std::function<void(const error&)> fn) {
    if (!who) {
        return fail(errc::invalid_argument, "on_exit of an empty actor address");
    }
    auto* e = new detail::system_envelope(detail::sys_kind::monitor);
    e->callback = std::move(fn);
    who.cell()->enqueue_system(e);
    return {};
}

expected<error> system::wait_for_exit(const actor_addr& who, duration timeout) {
    struct waiter {
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<error> cause; // guarded by mutex
    };
    if (detail::blocking_would_stall()) {
        return fail(errc::would_block, "wait_for_exit inside an actor; monitor instead");
    }
    auto w = std::make_shared<waiter>();
    if (auto ok = on_exit(who,
                          [w](const error& cause) {
                              std::lock_guard lock(w->mutex);
                              w->cause = cause;
                              w->cv.notify_all();
                          });
        !ok) {
        return troupe::unexpected(ok.error());
    }
    std::unique_lock lock(w->mutex);
    if (!w->cv.wait_until(lock, saturating_add(std::chrono::steady_clock::now(), timeout),
                          [&] { return w->cause.has_value(); })) {
        return fail(errc::timeout, who.path() + " still running");
    }
    return *w->cause;
}

std::ostream& operator<<(std::ostream& os, actor_state s) { return os << to_string(s); }

expected<void> system::await_all_actors_done(duration timeout) {
    if (on_own_worker()) {
        return fail(errc::would_block, "await_all_actors_done on one of the system's workers "
                                       "would wait for itself");
    }
    if (!core_->await_no_live_actors(saturating_add(std::chrono::steady_clock::now(), timeout))) {
        return fail(errc::timeout, std::to_string(core_->live_actors()) + " actors still running");
    }
    return {};
}

expected<void> system::wait_for_subtree(const actor_addr& root, duration timeout) {
    if (!root) {
        return fail(errc::invalid_argument, "wait_for_subtree of an empty actor address");
    }
    if (on_own_worker()) {
        return fail(errc::would_block, "wait_for_subtree on one of the system's workers "
                                       "would wait for itself");
    }
    const auto deadline = saturating_add(std::chrono::steady_clock::now(), timeout);
    std::vector<detail::cell_ptr> pending{detail::cell_ptr(root.cell())};
    while (!pending.empty()) {
        detail::cell_ptr c = std::move(pending.back());
        pending.pop_back();
        // Its children now: once it terminated its list is gone (a kill
        // leaves them behind), and an ordered stop outwaits later ones.
        {
            std::lock_guard lock(core_->tree_lock(c.get()));
            c->children().for_each([&](detail::cell& k) { pending.emplace_back(&k); });
        }
        const auto now = std::chrono::steady_clock::now();
        const duration left =
            deadline == std::chrono::steady_clock::time_point::max()
                ? duration::max()
                : std::max(duration::zero(), std::chrono::duration_cast<duration>(deadline - now));
        if (auto exited = wait_for_exit(actor_addr(c), left); !exited) {
            return troupe::unexpected(exited.error());
        }
    }
    return {};
}

void system::walk(const std::function<void(const actor_info&)>& visit) const { core_->walk(visit); }

std::string system::dump_tree() const {
    std::string out;
    walk([&](const actor_info& a) {
        // Indentation stops growing at max_indent levels (deeper lines say
        // their depth), so a chain of n actors prints O(n), not O(n^2), text.
        constexpr std::size_t max_indent = 32;
        out.append(std::min(a.depth, max_indent) * 2, ' ');
        if (a.depth > max_indent) {
            out += "(depth " + std::to_string(a.depth) + ") ";
        }
        out += a.depth == 0 ? std::string_view("/") : std::string_view(a.name);
        out += " [";
        out += to_string(a.state);
        out += "] ";
        out += a.behaviour;
        out += " mailbox " + std::to_string(a.mailbox_depth) + "/" +
               std::to_string(a.mailbox_capacity) + " restarts " + std::to_string(a.restarts) +
               "\n";
    });
    return out;
}

std::string system::dump_tree_json() const {
    std::string out;
    std::size_t open = 0; // objects whose children array is still open
    std::size_t last_depth = 0;
    walk([&](const actor_info& a) {
        if (open != 0) {
            // The previous actor's array stays open for a child; otherwise
            // close it and the objects up to this actor's parent.
            if (a.depth <= last_depth) {
                for (std::size_t i = a.depth; i <= last_depth; ++i) {
                    out += "]}";
                    --open;
                }
                out += ',';
            }
        }
        out += "{\"name\":";
        internal::append_json_string(out, a.name);
        out += ",\"id\":" + std::to_string(a.addr.id());
        out += ",\"state\":";
        internal::append_json_string(out, to_string(a.state));
        out += ",\"behaviour\":";
        internal::append_json_string(out, a.behaviour);
        out += ",\"mailbox\":{\"depth\":" + std::to_string(a.mailbox_depth) +
               ",\"capacity\":" + std::to_string(a.mailbox_capacity) + "}";
        out += ",\"restarts\":" + std::to_string(a.restarts);
        out += ",\"children\":[";
        ++open;
        last_depth = a.depth;
    });
    while (open-- != 0) {
        out += "]}";
    }
    return out;
}

expected<actor_addr> system::find_addr(std::string_view path) const {
    if (path.empty() || path.front() != '/') {
        return fail(errc::invalid_argument,
                    "find_addr needs an absolute path, not '" + std::string(path) + "'");
    }
    if (auto c = core_->lookup(path)) {
        return actor_addr(std::move(c));
    }
    // Unnamed: the last segment is `$<id>`; the id finds it, the path must match.
    const std::size_t slash = path.rfind('/');
    const std::string_view last = path.substr(slash + 1);
    std::uint64_t id = 0;
    if (last.size() > 1 && last.front() == '$') {
        const char* first = last.data() + 1;
        const char* end = last.data() + last.size();
        if (auto [ptr, ec] = std::from_chars(first, end, id); ec != std::errc{} || ptr != end) {
            id = 0;
        }
    }
    if (id != 0) {
        if (auto c = core_->lookup_id(id); c && c->path() == path) {
            return actor_addr(std::move(c));
        }
    }
    return fail(errc::receiver_down, "no live actor at " + std::string(path));
}

expected<actor_addr> system::find_addr(std::uint64_t id) const {
    if (id == 0) {
        return fail(errc::invalid_argument, "id 0 names no actor");
    }
    if (auto c = core_->lookup_id(id)) {
        return actor_addr(std::move(c));
    }
    return fail(errc::receiver_down, "no live actor with id " + std::to_string(id));
}

expected<actor_counters> system::counters(const actor_addr& who) const {
    if (!who) {
        return fail(errc::invalid_argument, "counters of an empty actor address");
    }
    actor_counters c;
    who.cell()->counters(c);
    return c;
}

// ---- actor_addr ---------------------------------------------------------------------

std::uint64_t actor_addr::id() const noexcept { return cell_ ? cell_->id() : 0; }
std::string actor_addr::path() const { return cell_ ? cell_->path() : std::string("<none>"); }
bool actor_addr::is_terminated() const noexcept { return !cell_ || cell_->is_terminated(); }

expected<void> actor_addr::stop(error cause) const {
    if (!cell_) {
        return fail(errc::invalid_argument, "stop of an empty actor address");
    }
    cell_->request_stop(std::move(cause), detail::stop_origin::other);
    return {};
}

expected<void> actor_addr::signal_exit(error cause) const {
    if (!cell_) {
        return fail(errc::invalid_argument, "exit signal to an empty actor address");
    }
    cell_->post(detail::sys_kind::exit_signal, std::move(cause), {});
    return {};
}

expected<void> actor_addr::kill(error cause) const {
    if (!cell_) {
        return fail(errc::invalid_argument, "kill of an empty actor address");
    }
    cell_->request_kill(std::move(cause), detail::stop_origin::other);
    return {};
}

expected<error> actor_addr::exit_cause() const {
    if (!cell_) {
        return fail(errc::invalid_argument, "exit cause of an empty actor address");
    }
    if (!cell_->is_terminated()) {
        return fail(errc::unsupported, path() + " has not terminated");
    }
    return cell_->exit_cause();
}

} // namespace troupe
