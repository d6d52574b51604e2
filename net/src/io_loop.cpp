// Part of troupe. See LICENSE at the repository root.

#include "io_loop.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stop_token>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <variant>

// ThreadSanitizer: CAF's own calls are not intercepted (tools/tsan.supp), so
// what troupe hands over through CAF is ordered explicitly.
#if defined(__SANITIZE_THREAD__)
#define TROUPE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TROUPE_TSAN 1
#endif
#endif
#ifdef TROUPE_TSAN
extern "C" void __tsan_acquire(void* addr);   // NOLINT(bugprone-reserved-identifier)
extern "C" void __tsan_release(void* addr);   // NOLINT(bugprone-reserved-identifier)
extern "C" void __tsan_ignore_thread_begin(); // NOLINT(bugprone-reserved-identifier)
extern "C" void __tsan_ignore_thread_end();   // NOLINT(bugprone-reserved-identifier)
#endif

namespace troupe::net::internal {
namespace {

/// Runs `fn` on CAF's I/O thread; everything this thread did before the
/// call is ordered before `fn` runs. CAF carries the closure through its
/// multiplexer's pipe, which TSan is told not to watch: the closure's
/// construction here is not recorded, and `token` carries the ordering.
template <class F>
void post_to_io_thread(caf::io::network::multiplexer& mpx, void* token, F fn) {
#ifdef TROUPE_TSAN
    __tsan_release(token);
    __tsan_ignore_thread_begin();
#endif
    mpx.post([token, fn = std::move(fn)]() mutable {
#ifdef TROUPE_TSAN
        __tsan_acquire(token);
#else
        (void)token;
#endif
        fn();
    });
#ifdef TROUPE_TSAN
    __tsan_ignore_thread_end();
#endif
    (void)token;
}

/// The process's CAF system: the middleman and its multiplexer thread. One
/// scheduler thread, which troupe never uses (CAF requires one).
class caf_runtime {
public:
    caf_runtime() : sys_(configure(cfg_)) {}
    caf::actor_system& sys() noexcept { return sys_; }

    /// The runtime, started on first use; it stops when the last holder
    /// lets go (never on the I/O thread: endpoints release it after their
    /// shutdown, from the closing thread).
    static std::shared_ptr<caf_runtime> acquire() {
        static std::mutex mutex;
        static std::weak_ptr<caf_runtime> current;
        std::lock_guard lock(mutex);
        auto rt = current.lock();
        if (!rt) {
            rt = std::make_shared<caf_runtime>();
            current = rt;
        }
        return rt;
    }

private:
    static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
        cfg.load<caf::io::middleman>();
        cfg.set("scheduler.max-threads", 1);
        return cfg;
    }
    caf::actor_system_config cfg_;
    caf::actor_system sys_;
};

class broker_endpoint final : public endpoint {
public:
    broker_endpoint(io_handler& handler, duration tick, std::shared_ptr<caf_runtime> rt)
        : handler_(handler), tick_(tick), runtime_(std::move(rt)) {}
    broker_endpoint(const broker_endpoint&) = delete;
    broker_endpoint& operator=(const broker_endpoint&) = delete;
    broker_endpoint(broker_endpoint&&) = delete;
    broker_endpoint& operator=(broker_endpoint&&) = delete;
    ~broker_endpoint() override {
        shutdown();
        if (wake_wr_ >= 0) {
            ::close(wake_wr_);
        }
    }

    expected<void> start() {
        int fds[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            return fail(errc::unsupported,
                        std::string("socketpair failed: ") + std::to_string(errno));
        }
        const int wake_rd = fds[0];
        {
            // The I/O thread takes this lock before it touches this object:
            // everything written so far is ordered before its first access.
            std::lock_guard lock(mutex_);
            wake_wr_ = fds[1];
        }
        auto& mm = runtime_->sys().middleman();
        // spawn_broker runs on the I/O thread: the broker is born there.
        post_to_io_thread(mm.backend(), this, [this, wake_rd, &mm] {
            // The descriptor goes as an argument: CAF 0.17 binds a reference to an empty
            // argument tuple otherwise (UBSan: reference binding to null pointer).
            mm.spawn_broker([this](caf::io::broker* self, int rd) { return run(self, rd); },
                            wake_rd);
        });
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return state_ != phase::starting; });
        ticker_ = std::jthread([this](const std::stop_token& stop) { tick_until_stopped(stop); });
        return {};
    }

    expected<std::uint16_t> listen(const std::string& host, std::uint16_t port) override {
        auto door =
            runtime_->sys().middleman().backend().new_tcp_doorman(port, host.c_str(), false);
        if (!door) {
            return fail(errc::unsupported, "cannot listen on " + host + ":" + std::to_string(port) +
                                               ": " + runtime_->sys().render(door.error()));
        }
        const std::uint16_t bound = (*door)->port();
        if (!submit(command{std::move(*door)})) {
            return fail(errc::receiver_down, "the node is closed");
        }
        return bound;
    }

    expected<conn_id> connect(const std::string& host, std::uint16_t port) override {
        auto scribe = runtime_->sys().middleman().backend().new_tcp_scribe(host, port);
        if (!scribe) {
            return fail(errc::node_unreachable, "cannot connect to " + host + ":" +
                                                    std::to_string(port) + ": " +
                                                    runtime_->sys().render(scribe.error()));
        }
        // Named here, before the I/O thread sees the connection: the caller
        // waits for this id's outcome, and no other connection ever gets it.
        const conn_id id = next_id_.fetch_add(1, std::memory_order_relaxed);
        if (!submit(command{outbound{id, std::move(*scribe)}})) {
            return fail(errc::receiver_down, "the node is closed");
        }
        return id;
    }

    void wake() noexcept override {
        // One byte per burst: the broker clears the flag before it drains.
        if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
            const char b = 1;
            // MSG_NOSIGNAL: after shutdown the reading end is gone (EPIPE, no SIGPIPE).
            while (::send(wake_wr_, &b, 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {
            }
        }
    }

    void write(conn_id c, byte_view data) override {
        auto it = handles_.find(c);
        if (it == handles_.end()) {
            return; // closed already
        }
        auto& buf = self_->wr_buf(it->second);
        const auto* p = reinterpret_cast<const char*>(data.data()); // NOLINT: bytes as chars
        buf.insert(buf.end(), p, p + data.size());
        self_->flush(it->second);
    }

    void close(conn_id c) override {
        auto it = handles_.find(c);
        if (it == handles_.end()) {
            return;
        }
        // CAF sends no connection_closed_msg for a close of its own broker, and
        // may hand the handle to the next connection: forget it now.
        self_->close(it->second);
        ids_.erase(it->second.id());
        handles_.erase(it);
    }

    void shutdown() noexcept override {
        if (ticker_.joinable()) {
            ticker_.request_stop();
            ticker_.join();
        }
        {
            std::lock_guard lock(mutex_);
            if (state_ != phase::running) {
                return;
            }
            commands_.emplace_back(stop_request{});
        }
        wake();
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return state_ == phase::stopped; });
    }

private:
    struct stop_request {};
    struct outbound {
        conn_id id;
        caf::io::scribe_ptr scribe;
    };
    using command = std::variant<caf::io::doorman_ptr, outbound, stop_request>;
    enum class phase : std::uint8_t { starting, running, stopped };

    bool submit(command cmd) {
        {
            std::lock_guard lock(mutex_);
            if (state_ != phase::running) {
                return false;
            }
            commands_.push_back(std::move(cmd));
        }
        wake();
        return true;
    }

    // ---- the broker, on the I/O thread ------------------------------------------
    caf::behavior run(caf::io::broker* self, int wake_rd) {
        {
            std::lock_guard lock(mutex_); // see `start`
            self_ = self;
            wake_hdl_ = self->add_scribe(wake_rd);
            self->configure_read(wake_hdl_, caf::io::receive_policy::at_most(256));
            state_ = phase::running;
            cv_.notify_all();
        }
        return {
            [this](const caf::io::new_connection_msg& m) {
                opened(m.handle, next_id_.fetch_add(1, std::memory_order_relaxed), true);
            },
            [this](const caf::io::new_data_msg& m) {
                if (m.handle == wake_hdl_) {
                    woken();
                    return;
                }
                auto it = ids_.find(m.handle.id());
                if (it == ids_.end()) {
                    return; // closed by this side
                }
                handler_.on_data(
                    it->second,
                    byte_view(reinterpret_cast<const std::byte*>(m.buf.data()), // NOLINT
                              m.buf.size()));
            },
            [this](const caf::io::connection_closed_msg& m) {
                auto it = ids_.find(m.handle.id());
                if (m.handle == wake_hdl_ || it == ids_.end()) {
                    return;
                }
                const conn_id c = it->second;
                handles_.erase(c);
                ids_.erase(it);
                handler_.on_closed(c);
            },
            [](const caf::io::acceptor_closed_msg&) {},
        };
    }

    void opened(caf::io::connection_handle hdl, conn_id id, bool inbound) {
        handles_.emplace(id, hdl);
        ids_.emplace(hdl.id(), id);
        self_->configure_read(hdl, caf::io::receive_policy::at_most(std::size_t{64} * 1024));
        handler_.on_open(id, inbound,
                         self_->remote_addr(hdl) + ":" + std::to_string(self_->remote_port(hdl)));
    }

    void woken() {
        wake_pending_.store(false, std::memory_order_release);
        const bool tick = tick_due_.exchange(false, std::memory_order_acq_rel);
        std::deque<command> cmds;
        {
            std::lock_guard lock(mutex_);
            cmds.swap(commands_);
        }
        for (auto& cmd : cmds) {
            if (auto* door = std::get_if<caf::io::doorman_ptr>(&cmd)) {
                self_->add_doorman(std::move(*door));
            } else if (auto* out = std::get_if<outbound>(&cmd)) {
                auto hdl = out->scribe->hdl();
                self_->add_scribe(std::move(out->scribe));
                opened(hdl, out->id, false);
            } else {
                stop();
                return;
            }
        }
        handler_.on_wake();
        if (tick) {
            handler_.on_tick();
        }
    }

    // The ticker thread: a tick every `tick_` until shutdown. Ticks reach the
    // broker as wake-ups (no CAF timer: its messages would cross CAF's
    // threads with troupe-built payloads).
    void tick_until_stopped(const std::stop_token& stop) {
        std::unique_lock lock(mutex_);
        while (!cv_.wait_for(lock, stop, tick_, [] { return false; })) {
            if (stop.stop_requested()) {
                return;
            }
            tick_due_.store(true, std::memory_order_release);
            lock.unlock();
            wake();
            lock.lock();
        }
    }

    void stop() {
        self_->close_all();
        handles_.clear();
        ids_.clear();
        self_->quit();
        self_ = nullptr;
        {
            // Notified under the lock: once `shutdown` sees `stopped` it may
            // destroy this endpoint, condition variable included.
            std::lock_guard lock(mutex_);
            state_ = phase::stopped;
            cv_.notify_all();
        }
    }

    io_handler& handler_;
    const duration tick_;
    std::shared_ptr<caf_runtime> runtime_;
    int wake_wr_ = -1;
    std::atomic<bool> wake_pending_{false};
    std::atomic<bool> tick_due_{false};

    std::mutex mutex_;
    phase state_ = phase::starting; // guarded by mutex_
    std::deque<command> commands_;  // guarded by mutex_

    std::condition_variable_any cv_;
    std::jthread ticker_;             // joined by shutdown, before the broker stops
    caf::io::broker* self_ = nullptr; // I/O thread only
    caf::io::connection_handle wake_hdl_;
    // Connections by troupe's id and by CAF's handle (I/O thread only). CAF
    // reuses a handle once its connection closed; an id is never reused, so
    // a stale id (a connect that gave up, a late write) reaches nothing.
    std::unordered_map<conn_id, caf::io::connection_handle> handles_;
    std::unordered_map<std::int64_t, conn_id> ids_;
    std::atomic<conn_id> next_id_{1}; // a counter: any thread takes the next id
};

} // namespace

expected<std::shared_ptr<endpoint>> open_endpoint(io_handler& handler, duration tick) {
    auto ep = std::make_shared<broker_endpoint>(handler, tick, caf_runtime::acquire());
    if (auto ok = ep->start(); !ok) {
        return troupe::unexpected(ok.error());
    }
    return std::shared_ptr<endpoint>(std::move(ep));
}

} // namespace troupe::net::internal
