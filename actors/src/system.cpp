// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/system.hpp>

#include "scheduler.hpp"

#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

namespace troupe {

system::system() : system(system_config{}) {}

system::system(system_config cfg) {
    executor* exec = cfg.custom_executor;
    if (exec == nullptr) {
        unsigned n = cfg.workers != 0 ? cfg.workers : std::thread::hardware_concurrency();
        own_executor_ = internal::make_work_stealing_scheduler(n == 0 ? 1 : n);
        exec = own_executor_.get();
    }
    troupe::clock* clk = cfg.custom_clock;
    if (clk == nullptr) {
        own_clock_ = make_steady_clock();
        clk = own_clock_.get();
    }
    core_ = std::make_unique<detail::system_core>(*this, exec, clk);
    core_->create_guardians();
}

system::~system() { (void)shutdown(); }

expected<void> system::shutdown(duration timeout) {
    if (shut_down_) {
        return {};
    }
    shut_down_ = true;
    auto result = core_->stop_tree(timeout);
    core_->exec().shutdown();
    core_->clk().shutdown();
    core_->release_guardians();
    return result;
}

expected<void> system::check_name(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name.front() == '$' ||
        name.size() > 255) {
        return fail(errc::invalid_argument,
                    "actor names are 1-255 characters, without '/', not starting with '$'");
    }
    return {};
}

void system::on_exit(const actor_addr& who, std::function<void(const error&)> fn) {
    auto* e = new detail::system_envelope(detail::sys_kind::monitor);
    e->callback = std::move(fn);
    who.cell()->enqueue_system(e);
}

expected<error> system::wait_for_exit(const actor_addr& who, duration timeout) {
    struct waiter {
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<error> cause; // guarded by mutex
    };
    auto w = std::make_shared<waiter>();
    on_exit(who, [w](const error& cause) {
        std::lock_guard lock(w->mutex);
        w->cause = cause;
        w->cv.notify_all();
    });
    std::unique_lock lock(w->mutex);
    if (!w->cv.wait_for(lock, timeout, [&] { return w->cause.has_value(); })) {
        return fail(errc::timeout, who.path() + " still running");
    }
    return *w->cause;
}

std::uint64_t actor_addr::id() const noexcept { return cell_ ? cell_->id() : 0; }
std::string actor_addr::path() const { return cell_ ? cell_->path() : std::string("<none>"); }
bool actor_addr::is_terminated() const noexcept { return !cell_ || cell_->is_terminated(); }

std::string system::dump_tree() const { return core_->dump_tree(); }

actor_counters system::counters(const actor_addr& who) const {
    actor_counters c;
    who.cell()->counters(c);
    return c;
}

} // namespace troupe
