// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/system.hpp>

#include "ask_deadlines.hpp"
#include "cell_state.hpp"
#include "id_index.hpp"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace troupe::detail {

namespace {

/// Behaviour of the root, `/user` and `/system` guardians: no messages.
class guardian final : public actor<std::monostate> {
public:
    void on(std::monostate& /*unused*/) {}
};

struct guardian_factory {
    guardian operator()() const { return guardian{}; }
};

/// The cells under `root`, parents before children (a pre-order walk with an
/// explicit stack), each held by a reference.
std::vector<cell_ptr> snapshot_tree(system_core& core, cell* root) {
    std::vector<cell_ptr> order;
    std::vector<cell_ptr> stack{cell_ptr(root)};
    while (!stack.empty()) {
        cell_ptr c = std::move(stack.back());
        stack.pop_back();
        std::vector<cell_ptr> kids;
        {
            std::lock_guard lock(core.tree_lock(c.get()));
            c->children().for_each([&](cell& k) { kids.emplace_back(&k); });
        }
        // Pushed newest first, so the oldest child is visited first.
        for (auto& k : kids) {
            stack.push_back(std::move(k));
        }
        order.push_back(std::move(c));
    }
    return order;
}

} // namespace

system_core::system_core(troupe::system& owner, std::unique_ptr<executor> own_exec, executor* exec,
                         std::unique_ptr<troupe::clock> own_clock, troupe::clock* clk)
    : owner_(owner), own_exec_(std::move(own_exec)), exec_(own_exec_ ? own_exec_.get() : exec),
      own_clock_(std::move(own_clock)), clock_(own_clock_ ? own_clock_.get() : clk),
      deadlines_(std::make_unique<internal::ask_deadlines>(*clock_)),
      ids_(std::make_unique<internal::id_index>()) {}

system_core::~system_core() = default;

std::mutex& system_core::tree_lock(const cell* c) const noexcept {
    auto h = std::hash<const void*>{}(c);
    return tree_locks_[(h >> 6) % tree_locks_.size()];
}

expected<void> system_core::register_path(cell* c, const std::string& path) {
    std::lock_guard lock(registry_mutex_);
    if (!registry_.emplace(path, c).second) {
        return fail(errc::name_taken, path + " is taken");
    }
    return {};
}

void system_core::unregister_path(const std::string& path) noexcept {
    std::lock_guard lock(registry_mutex_);
    registry_.erase(path);
}

cell_ptr system_core::lookup(std::string_view path) const {
    std::lock_guard lock(registry_mutex_);
    auto it = registry_.find(std::string(path));
    if (it == registry_.end() || it->second->is_terminated()) {
        return {};
    }
    return cell_ptr(it->second);
}

void system_core::actor_exited() noexcept {
    // seq_cst here, in actor_exit_published() and in the waiter's check:
    // exiting_ rises before live_ falls, so a waiter that sees live_ at 0
    // also sees every exit that is not published yet.
    exiting_.fetch_add(1, std::memory_order_seq_cst);
    // Also pairs with the acquire in live_actors(): an exit's effects are
    // visible to whoever sees the lower count.
    live_.fetch_sub(1, std::memory_order_seq_cst);
}

void system_core::actor_exit_published() noexcept {
    if (exiting_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        live_.load(std::memory_order_seq_cst) == 0) {
        // Taking the mutex orders this wake after a waiter's check (made
        // under it), so the wake cannot fall between its check and its wait.
        { std::lock_guard lock(idle_mutex_); }
        idle_cv_.notify_all();
    }
}

bool system_core::await_no_live_actors(std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(idle_mutex_);
    return idle_cv_.wait_until(lock, deadline, [&] {
        return live_.load(std::memory_order_seq_cst) == 0 &&
               exiting_.load(std::memory_order_seq_cst) == 0;
    });
}

void system_core::register_id(cell* c) { ids_->insert(c); }

void system_core::unregister_id(cell* c) noexcept { ids_->erase(c); }

cell_ptr system_core::lookup_id(std::uint64_t id) const { return ids_->find(id); }

std::shared_ptr<void> system_core::find_extension(std::type_index key) const {
    std::lock_guard lock(extensions_mutex_);
    for (const auto& [k, v] : extensions_) {
        if (k == key) {
            return v;
        }
    }
    return nullptr;
}

void system_core::clear_extensions() noexcept {
    std::vector<std::pair<std::type_index, std::shared_ptr<void>>> doomed;
    {
        std::lock_guard lock(extensions_mutex_);
        doomed.swap(extensions_);
        extensions_closed_ = true;
    }
    while (!doomed.empty()) {
        doomed.pop_back(); // newest first, outside the lock
    }
}

system_core::guardians system_core::create_guardians() {
    spawn_options opts;
    opts.capacity = 1;
    guardians g;
    g.root = cell_ptr(
        new cell_impl<guardian, guardian_factory>(*this, nullptr, opts, "", guardian_factory{}));
    root_ = g.root.get();
    if (g.root->mailbox_.try_unblock()) {
        exec().schedule(root_);
    }
    // Created in this order so that the ordered stop (newest first) stops
    // user actors before system actors.
    g.system = spawn_cell<guardian>(*this, root_, opts, "system", guardian_factory{});
    g.user = spawn_cell<guardian>(*this, root_, opts, "user", guardian_factory{});
    return g;
}

expected<void> system_core::stop_tree(duration timeout) {
    // Guardians are not counted as live actors; the root's exit ends the stop.
    struct root_exit {
        std::mutex mutex;
        std::condition_variable cv;
        bool done = false; // guarded by mutex
    };
    auto exit = std::make_shared<root_exit>();
    auto* watch = new system_envelope(sys_kind::monitor);
    watch->callback = [exit](const error&) {
        std::lock_guard lock(exit->mutex);
        exit->done = true;
        exit->cv.notify_all();
    };
    root_->enqueue_system(watch);
    root_->request_stop({}, stop_origin::parent);
    std::unique_lock lock(exit->mutex);
    if (!exit->cv.wait_until(lock, saturating_add(std::chrono::steady_clock::now(), timeout),
                             [&] { return exit->done; })) {
        return fail(errc::timeout, "actors still running at shutdown");
    }
    return {};
}

void system_core::terminate_abandoned() noexcept {
    try {
        std::vector<cell_ptr> order = snapshot_tree(*this, root_);
        const error why{errc::killed, "abandoned at shutdown"};
        for (auto it = order.rbegin(); it != order.rend(); ++it) { // children first
            cell& c = **it;
            if (!c.is_terminated()) {
                c.terminate(why, run_on_stop::no);
                c.release(); // the alive reference: it will never run again
            }
        }
    } catch (...) {
        // Out of memory for the walk: the cells stay as they are; their
        // references keep them valid, their mailboxes stay open.
    }
}

void system_core::walk(const std::function<void(const actor_info&)>& visit) const {
    if (root_ == nullptr) {
        return;
    }
    struct item {
        cell_ptr c;
        std::size_t depth;
    };
    // One path buffer for the whole walk: ends_[d] is where the path of the
    // current actor at depth d ends, so a child appends to its parent's
    // prefix and a chain of n actors costs O(n) text, not O(n^2).
    std::string path;
    std::vector<std::size_t> ends;
    std::vector<item> stack{{cell_ptr(root_), 0}};
    std::vector<cell_ptr> kids;
    actor_info info;
    while (!stack.empty()) {
        item it = std::move(stack.back());
        stack.pop_back();
        kids.clear();
        {
            std::lock_guard lock(tree_lock(it.c.get()));
            it.c->children().for_each([&](cell& k) { kids.emplace_back(&k); });
        }
        ends.resize(it.depth + 1);
        if (it.depth == 0) {
            path = "/";
            ends[0] = 0; // children append "/name" to an empty prefix
            info.name.clear();
        } else {
            path.resize(ends[it.depth - 1]);
            info.name = it.c->name();
            path += '/';
            path += info.name;
            ends[it.depth] = path.size();
        }
        info.addr = actor_addr(it.c);
        info.path = path;
        info.depth = it.depth;
        info.state = it.c->observed_state();
        info.behaviour = it.c->behaviour_name();
        info.mailbox_depth = it.c->box().size();
        info.mailbox_capacity = it.c->box().capacity();
        info.restarts = it.c->restarts();
        info.children = kids.size();
        visit(info);
        for (auto& k : kids) { // newest pushed first: the oldest is visited first
            stack.push_back({std::move(k), it.depth + 1});
        }
    }
}

} // namespace troupe::detail
