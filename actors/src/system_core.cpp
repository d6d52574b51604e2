// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/system_core.hpp>
#include <troupe/actors/system.hpp>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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

} // namespace

system_core::system_core(troupe::system& owner, executor* exec, troupe::clock* clk)
    : owner_(owner), exec_(exec), clock_(clk) {}

system_core::~system_core() = default;

std::mutex& system_core::tree_lock(const cell* c) noexcept {
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

void system_core::create_guardians() {
    spawn_options opts;
    opts.capacity = 1;
    root_ = cell_ptr(
        new cell_impl<guardian, guardian_factory>(*this, nullptr, opts, "", guardian_factory{}));
    root_->start();
    // Created in this order so that the ordered stop (newest first) stops
    // user actors before system actors.
    system_ = spawn_cell<guardian>(*this, root_.get(), opts, "system", guardian_factory{});
    user_ = spawn_cell<guardian>(*this, root_.get(), opts, "user", guardian_factory{});
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
    root_->post(sys_kind::stop);
    std::unique_lock lock(exit->mutex);
    if (!exit->cv.wait_for(lock, timeout, [&] { return exit->done; })) {
        return fail(errc::timeout, "actors still running at shutdown");
    }
    return {};
}

std::string system_core::dump_tree() const {
    std::string out;
    auto visit = [&](auto&& self, cell* c, int depth) -> void {
        out.append(static_cast<std::size_t>(depth) * 2, ' ');
        out += depth == 0 ? std::string("/") : c->name();
        out += c->is_terminated() ? " [terminated]" : "";
        out += " mailbox " + std::to_string(c->box().size()) + "/" +
               std::to_string(c->box().capacity()) + "\n";
        std::vector<cell_ptr> children;
        {
            std::lock_guard lock(const_cast<system_core*>(this)->tree_lock(c));
            for (cell* k = c->first_child_; k != nullptr; k = k->next_sibling_) {
                children.emplace_back(k);
            }
        }
        for (auto& k : children) {
            self(self, k.get(), depth + 1);
        }
    };
    if (root_) {
        visit(visit, root_.get(), 0);
    }
    return out;
}

void system_core::release_guardians() noexcept {
    user_.reset();
    system_.reset();
    root_.reset();
}

} // namespace troupe::detail
