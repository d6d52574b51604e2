// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/system.hpp>

#include "ask_deadlines.hpp"
#include "cell_state.hpp"

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
      deadlines_(std::make_unique<internal::ask_deadlines>(*clock_)) {}

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

std::string system_core::dump_tree() const {
    std::string out;
    if (root_ == nullptr) {
        return out;
    }
    struct item {
        cell_ptr c;
        std::size_t depth;
    };
    std::vector<item> stack{{cell_ptr(root_), 0}};
    while (!stack.empty()) {
        item it = std::move(stack.back());
        stack.pop_back();
        // Indentation stops growing at max_indent levels (deeper lines say
        // their depth), so a chain of n actors prints O(n), not O(n^2), text.
        constexpr std::size_t max_indent = 32;
        out.append(std::min(it.depth, max_indent) * 2, ' ');
        if (it.depth > max_indent) {
            out += "(depth " + std::to_string(it.depth) + ") ";
        }
        out += it.depth == 0 ? std::string("/") : it.c->name();
        out += it.c->is_terminated() ? " [terminated]" : "";
        out += " mailbox " + std::to_string(it.c->box().size()) + "/" +
               std::to_string(it.c->box().capacity()) + "\n";
        std::vector<cell_ptr> kids;
        {
            std::lock_guard lock(tree_lock(it.c.get()));
            it.c->children().for_each([&](cell& k) { kids.emplace_back(&k); });
        }
        for (auto& k : kids) { // newest pushed first: the oldest is printed first
            stack.push_back({std::move(k), it.depth + 1});
        }
    }
    return out;
}

} // namespace troupe::detail
