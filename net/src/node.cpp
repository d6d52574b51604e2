// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/current_actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "frame.hpp"
#include "handshake.hpp"
#include "io_loop.hpp"
#include "seal.hpp"
#include "secret.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <map>
#include <mutex>
#include <optional>
#include <sodium.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

namespace troupe::net::internal {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::size_t max_type_name = 255;
constexpr std::size_t max_actor_name = 255;

// ---- what the node publishes --------------------------------------------------------

/// Frames on the data lane: in order with messages, covered by credit.
constexpr bool is_credited(frame_kind k) noexcept {
    return k == frame_kind::tell || k == frame_kind::ask || k == frame_kind::reply ||
           k == frame_kind::down || k == frame_kind::exit || k == frame_kind::stop;
}

struct export_entry {
    actor_addr who;
    std::string signature;
    detail::deliverer deliver;
    std::uint64_t spawned_by = 0; ///< the link actor (id) of the peer that spawned it, or 0
};

/// Published actors by name and by export id. **Threading:** any thread, one mutex.
class export_table {
public:
    /// The new export's id; an empty `name` exports without one (a spawned actor).
    expected<std::uint64_t> add(std::string name, export_entry e) {
        std::lock_guard lock(mutex_);
        if (!name.empty() && by_name_.count(name) != 0) {
            return fail(errc::name_taken, "a name published already: " + name);
        }
        const std::uint64_t id = ++last_id_;
        if (!name.empty()) {
            by_name_.emplace(std::move(name), id);
        }
        by_addr_.try_emplace(e.who, id); // its first export: what refs to it reuse
        by_id_.emplace(id, std::make_shared<export_entry>(std::move(e)));
        return id;
    }
    /// An export of `who` for a ref speaking `signature`: its first export if
    /// that speaks `signature` too (O(1); then `fresh` is false), else a new
    /// anonymous one whose deliverer `make` builds.
    struct ref_export {
        std::uint64_t id = 0;
        bool fresh = false;
    };
    ref_export add_ref(const actor_addr& who, const std::string& signature,
                       detail::deliverer (*make)(const actor_addr&)) {
        std::lock_guard lock(mutex_);
        if (auto it = by_addr_.find(who); it != by_addr_.end()) {
            if (by_id_.at(it->second)->signature == signature) {
                return {it->second, false};
            }
        }
        const std::uint64_t id = ++last_id_;
        by_addr_.try_emplace(who, id);
        by_id_.emplace(id, std::make_shared<export_entry>(export_entry{who, signature, make(who)}));
        return {id, true};
    }
    /// True if `id` was ever issued (a missing one then belongs to an actor that terminated).
    [[nodiscard]] bool issued(std::uint64_t id) const {
        std::lock_guard lock(mutex_);
        return id != 0 && id <= last_id_;
    }
    /// The actor of export `id` terminated: its entry (and its name) go.
    void forget(std::uint64_t id) {
        std::shared_ptr<export_entry> doomed; // released after the lock
        std::lock_guard lock(mutex_);
        auto it = by_id_.find(id);
        if (it == by_id_.end()) {
            return;
        }
        doomed = std::move(it->second);
        by_id_.erase(it);
        if (auto a = by_addr_.find(doomed->who); a != by_addr_.end() && a->second == id) {
            by_addr_.erase(a);
        }
        std::erase_if(by_name_, [id](const auto& e) { return e.second == id; });
    }
    void clear() {
        decltype(by_id_) doomed;
        std::lock_guard lock(mutex_);
        by_name_.clear();
        by_addr_.clear();
        doomed.swap(by_id_);
    }
    expected<void> remove(std::string_view name) {
        std::lock_guard lock(mutex_);
        auto it = by_name_.find(std::string(name));
        if (it == by_name_.end()) {
            return fail(errc::receiver_down, "no name published as " + std::string(name));
        }
        by_name_.erase(it); // the id stays: refs already looked up keep working
        return {};
    }
    [[nodiscard]] std::pair<std::uint64_t, std::shared_ptr<const export_entry>>
    by_name(const std::string& name) const {
        std::lock_guard lock(mutex_);
        auto it = by_name_.find(name);
        if (it == by_name_.end()) {
            return {0, nullptr};
        }
        return {it->second, by_id_.at(it->second)};
    }
    [[nodiscard]] std::shared_ptr<const export_entry> by_id(std::uint64_t id) const {
        std::lock_guard lock(mutex_);
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : it->second;
    }

private:
    mutable std::mutex mutex_;
    std::uint64_t last_id_ = 0;                                              // guarded
    std::unordered_map<std::string, std::uint64_t> by_name_;                 // guarded
    std::unordered_map<std::uint64_t, std::shared_ptr<export_entry>> by_id_; // guarded
    std::unordered_map<actor_addr, std::uint64_t> by_addr_; // guarded; each actor's first export
};

/// Forgets export `id` once `who` terminates (at once if it has).
void forget_at_exit(troupe::system& sys, const std::shared_ptr<export_table>& exports,
                    const actor_addr& who, std::uint64_t id) {
    (void)sys.on_exit(who, [weak = std::weak_ptr<export_table>(exports), id](const error&) {
        if (auto table = weak.lock()) {
            table->forget(id);
        }
    });
}

/// Exports `e` (under `name`, if not empty) until its actor terminates: a
/// terminated actor's entry would keep its cell (and what it was spawned
/// with) alive, and peers asking for it get `receiver_down` anyway.
expected<std::uint64_t> export_until_exit(troupe::system& sys,
                                          const std::shared_ptr<export_table>& exports,
                                          std::string name, export_entry e) {
    const actor_addr watched = e.who;
    auto id = exports->add(std::move(name), std::move(e));
    if (id) {
        forget_at_exit(sys, exports, watched, *id);
    }
    return id;
}

/// What peers may spawn here (`node::allow_spawn`), by kind. **Threading:**
/// any thread, one mutex.
class spawn_kinds {
public:
    struct kind {
        std::string signature;
        detail::spawner spawn;
    };
    expected<void> add(std::string name, kind k) {
        std::lock_guard lock(mutex_);
        if (!kinds_.emplace(std::move(name), std::make_shared<const kind>(std::move(k))).second) {
            return fail(errc::name_taken, "a kind allowed already");
        }
        return {};
    }
    [[nodiscard]] std::shared_ptr<const kind> find(const std::string& name) const {
        std::lock_guard lock(mutex_);
        auto it = kinds_.find(name);
        return it == kinds_.end() ? nullptr : it->second;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const kind>> kinds_; // guarded
};

// ---- links --------------------------------------------------------------------------

/// Reads the header of a tell or ask frame (docs/net.md "Frames") into `in`:
/// everything but the payload, version and link; returns the receiver's
/// export id. A short header leaves `r` failed.
std::uint64_t read_message_header(bool is_ask, wire_reader& r, detail::inbound& in) {
    in.is_ask = is_ask;
    if (is_ask) {
        in.request = r.u64();
    }
    const std::uint64_t id = r.u64();
    in.trace = r.u64();
    if (is_ask) {
        const std::uint64_t ns = r.u64();
        in.timeout = ns >= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                         ? duration::max()
                         : std::chrono::duration_cast<duration>(std::chrono::nanoseconds(ns));
    }
    in.type = r.text(max_type_name);
    return id;
}

class link_impl;

/// Links with output for the I/O thread, and the endpoint to wake it.
struct outbox {
    std::mutex mutex;
    std::vector<std::shared_ptr<link_impl>> dirty; // guarded by mutex
    // Set before any link exists; released (under mutex) once the node closed.
    std::shared_ptr<endpoint> ep;
    std::atomic<std::uint64_t> messages_refused{0}; // inbound messages refused (statistics)
};

struct lookup_request {
    using reply_type = detail::found_actor;
    std::string name;
    std::string signature;
};
struct spawn_request {
    using reply_type = detail::found_actor;
    actor_addr owner; // the spawned actor stops when it terminates
    std::string kind;
    std::string signature;
};
/// From the I/O thread: frames arrived (taken from the link with `take_inbound`).
struct inbound_ready {};
struct link_down {
    error cause;
};
/// From a proxy whose message did not fit the outbound queue: answered once
/// it has room (or the link is lost; the proxy then finds out on retry).
struct wait_writable {
    using reply_type = void;
};
/// From the I/O thread: the outbound queue drained.
struct writable {};
using link_protocol =
    std::variant<inbound_ready, lookup_request, spawn_request, link_down, wait_writable, writable>;

class link_impl final : public detail::link, public std::enable_shared_from_this<link_impl> {
public:
    link_impl(conn_id c, peer_info peer, const node_options& opts, std::shared_ptr<outbox> box,
              troupe::system& sys)
        : conn_(c), peer_(std::move(peer)), capacity_(opts.outbound_capacity),
          max_frame_(opts.max_frame_size), box_(std::move(box)), sys_(sys),
          receive_window_(opts.receive_window) {}

    [[nodiscard]] conn_id conn() const noexcept { return conn_; }
    [[nodiscard]] const peer_info& peer() const noexcept { return peer_; }
    [[nodiscard]] troupe::system& sys() const noexcept { return sys_; }

    send_result send_tell(std::uint64_t export_id, std::uint64_t trace, std::string_view type,
                          std::uint32_t version, byte_view payload) override {
        if (auto ok = fits(type, payload); !ok) {
            return ok;
        }
        auto ok = append(lane::data, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::tell);
            w.u64(export_id);
            w.u64(trace);
            w.str(type);
            w.u32(version);
            w.raw(payload);
            w.end_frame(at);
        });
        if (!ok && ok.error().code() == errc::node_unreachable) {
            record_dead_letter(dead_letter_reason::link_lost, type, trace);
        }
        return ok;
    }

    send_result send_ask(std::uint64_t export_id, std::uint64_t trace, std::string_view type,
                         std::uint32_t version, byte_view payload, duration timeout,
                         std::unique_ptr<detail::pending_reply>& reply) override {
        if (auto ok = fits(type, payload); !ok) {
            return ok;
        }
        return append(lane::data, [&](wire_writer& w) {
            const std::uint64_t request = ++last_request_;
            pending_.emplace(request, std::move(reply)); // under the lock: before any answer
            const auto at = w.begin_frame(frame_kind::ask);
            w.u64(request);
            w.u64(export_id);
            w.u64(trace);
            w.u64(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count()));
            w.str(type);
            w.u32(version);
            w.raw(payload);
            w.end_frame(at);
        });
    }

    ask_handle<void> writable(duration timeout) override {
        actor_ref<link_protocol> actor;
        {
            std::lock_guard lock(mutex_);
            actor = actor_;
        }
        return actor.ask(wait_writable{}, timeout); // after the loss: invalid_argument at once
    }

    void overflowed(std::string_view type, std::uint64_t trace) override {
        record_dead_letter(dead_letter_reason::link_overflow, type, trace);
    }

    /// Link actor: true if a waiting sender may go on (the data lane has
    /// room, or the link is lost); otherwise asks the I/O thread for a
    /// `writable` once it has drained (seq_cst: see `drained`).
    bool room_or_notify() {
        want_writable_.store(true, std::memory_order_seq_cst);
        std::lock_guard lock(mutex_);
        return lost_ || data_.size() - data_head_ < capacity_;
    }

    /// I/O thread, after writing: true once when a waiting sender should be
    /// woken (the data lane drained below half its capacity).
    bool drained() {
        if (!want_writable_.load(std::memory_order_seq_cst)) {
            return false;
        }
        {
            std::lock_guard lock(mutex_);
            const std::size_t backlog = data_.size() - data_head_;
            if (backlog != 0 && backlog >= (capacity_ + 1) / 2) {
                return false;
            }
        }
        return want_writable_.exchange(false, std::memory_order_seq_cst);
    }

    void rearm_writable() noexcept { want_writable_.store(true, std::memory_order_seq_cst); }

    void set_actor(actor_ref<link_protocol> a) {
        std::lock_guard lock(mutex_);
        actor_ = std::move(a);
    }

    void send_reply(std::uint64_t request, const error& outcome, byte_view payload) override {
        if (!outcome && !fits("reply", payload)) {
            send_reply(request,
                       error{errc::invalid_argument, "the reply is larger than the maximum frame"},
                       {});
            return;
        }
        (void)append(lane::replies, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::reply);
            w.u64(request);
            w.u8(static_cast<std::uint8_t>(outcome.code()));
            if (outcome) {
                w.str(outcome.to_string());
            } else {
                w.raw(payload);
            }
            w.end_frame(at);
        });
    }

    static dead_letter_reason reason_for(errc code) noexcept {
        switch (code) {
        case errc::unknown_type: return dead_letter_reason::unknown_type;
        case errc::malformed:
        case errc::type_mismatch: return dead_letter_reason::malformed; // a ref of another protocol
        case errc::mailbox_full:
        case errc::would_block:
        case errc::timeout: return dead_letter_reason::mailbox_full;
        case errc::cancelled:        // waited for room, then lost
        case errc::node_unreachable: // queued for a link actor that stopped
            return dead_letter_reason::link_lost;
        default: return dead_letter_reason::receiver_down;
        }
    }

    void refuse(const detail::inbound& in, const error& why) override {
        box_->messages_refused.fetch_add(1, std::memory_order_relaxed);
        record_dead_letter(reason_for(why.code()), in.type, in.trace);
        if (in.is_ask) {
            send_reply(in.request, why, {});
        }
    }

    void watch(std::uint64_t export_id) override {
        (void)append(lane::urgent, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::monitor);
            w.u64(export_id);
            w.end_frame(at);
        });
    }

    void exit(std::uint64_t export_id, const error& cause) override {
        (void)append(lane::replies, [&](wire_writer& w) { // in order with the sender's tells
            const auto at = w.begin_frame(frame_kind::exit);
            w.u64(export_id);
            w.u8(static_cast<std::uint8_t>(cause.code()));
            w.str(cause.to_string());
            w.end_frame(at);
        });
    }

    void send_down(std::uint64_t export_id, const error& cause) {
        (void)append(lane::replies, [&](wire_writer& w) { // after the actor's last messages
            const auto at = w.begin_frame(frame_kind::down);
            w.u64(export_id);
            w.u8(static_cast<std::uint8_t>(cause.code()));
            w.str(cause.message());
            w.end_frame(at);
        });
    }

    void send_lookup(std::uint64_t request, const std::string& name, const std::string& sig) {
        (void)append(lane::urgent, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::lookup);
            w.u64(request);
            w.str(name);
            w.str(sig);
            w.end_frame(at);
        });
    }

    void send_spawn(std::uint64_t request, const std::string& kind, const std::string& sig) {
        (void)append(lane::urgent, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::spawn);
            w.u64(request);
            w.str(kind);
            w.str(sig);
            w.end_frame(at);
        });
    }

    /// The owner of the actor the peer spawned as `export_id` terminated.
    void send_stop(std::uint64_t export_id, const error& cause) {
        (void)append(lane::replies, [&](wire_writer& w) { // after the owner's last messages
            const auto at = w.begin_frame(frame_kind::stop);
            w.u64(export_id);
            w.u8(static_cast<std::uint8_t>(cause.code()));
            w.str(cause.to_string());
            w.end_frame(at);
        });
    }

    void send_lookup_reply(std::uint64_t request, const error& outcome, std::uint64_t id) {
        (void)append(lane::urgent, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::lookup_reply);
            w.u64(request);
            w.u8(static_cast<std::uint8_t>(outcome.code()));
            w.str(outcome.message());
            w.u64(id);
            w.end_frame(at);
        });
    }

    /// The peer answered `request`.
    void complete(std::uint64_t request, const error& outcome, byte_view payload) {
        std::unique_ptr<detail::pending_reply> reply;
        {
            std::lock_guard lock(mutex_);
            auto it = pending_.find(request);
            if (it == pending_.end()) {
                return; // answered already (the link cannot answer twice)
            }
            reply = std::move(it->second);
            pending_.erase(it);
        }
        reply->complete(outcome, payload);
    }

    /// True once per export: the first watch of `export_id` by this peer.
    bool first_watch(std::uint64_t export_id) {
        std::lock_guard lock(mutex_);
        return watched_.insert(export_id).second;
    }
    void forget_watch(std::uint64_t export_id) {
        std::lock_guard lock(mutex_);
        watched_.erase(export_id);
    }

    /// I/O thread: the bytes to write now: every upkeep frame, then the
    /// message frames the peer's credit covers, oldest first.
    bytes take_output() {
        std::lock_guard lock(mutex_);
        bytes out;
        out.swap(urgent_);
        std::size_t end = data_head_;
        while (data_.size() - end >= frame_prefix_size) {
            const std::size_t size = frame_size_at(data_, end);
            if (size > window_) {
                break;
            }
            window_ -= size;
            end += size;
        }
        out.insert(out.end(), data_.begin() + static_cast<std::ptrdiff_t>(data_head_),
                   data_.begin() + static_cast<std::ptrdiff_t>(end));
        data_head_ = end;
        if (data_head_ == data_.size()) {
            data_.clear();
            data_head_ = 0;
        } else if (data_head_ > data_.size() / 2) {
            data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(data_head_));
            data_head_ = 0;
        }
        queued_ = false;
        return out;
    }

    // Inbound delivery has one owner at a time: the I/O thread, which
    // delivers message frames directly while it can, or the link actor, from
    // the first frame the I/O thread cannot deliver (a receiver without room,
    // upkeep that needs the actor) until it has drained every frame queued
    // behind it. Frames keep their order across the hand-overs, which happen
    // under `inbound_mutex_` (so what one owner wrote, `ungranted_` too, the
    // next one sees).

    /// I/O thread: true while the link actor owns delivery (frames must
    /// queue behind it). Once false it stays false until `push_inbound`.
    bool actor_delivers() const noexcept {
        // acquire: pairs with the link actor's release in `more_inbound`, so
        // what it wrote before handing delivery back (`ungranted_`) is seen.
        return actor_delivers_.load(std::memory_order_acquire);
    }
    /// What the link actor takes: frames in order, and when each read that
    /// queued some arrived (`arrived[i]`: the end offset of read i's frames
    /// in `frames`, and its time), so that an ask's deadline counts its wait.
    struct inbound_frames {
        bytes frames;
        std::vector<std::pair<std::size_t, time_point>> arrived;
    };
    /// I/O thread: queues the frames of one read, arrived at `now`, for the
    /// link actor, which owns delivery from now on; true if it must be told
    /// (it did not own it yet). Once the link actor has stopped
    /// (`close_inbound`), refuses them instead.
    bool push_inbound(bytes frames, time_point now) {
        {
            std::lock_guard lock(inbound_mutex_);
            if (!inbound_closed_) {
                if (inbound_.frames.empty()) {
                    inbound_.frames = std::move(frames);
                } else {
                    inbound_.frames.insert(inbound_.frames.end(), frames.begin(), frames.end());
                }
                inbound_.arrived.emplace_back(inbound_.frames.size(), now);
                return !actor_delivers_.exchange(true, std::memory_order_relaxed); // under the lock
            }
        }
        refuse_undelivered(frames);
        return false;
    }
    /// Link actor, stopping: it delivers nothing more. The frames queued for
    /// it, and any queued later, are refused: a tell is a `link_lost` dead
    /// letter here, an ask's error also goes to the peer's asker.
    void close_inbound() {
        inbound_frames left;
        {
            std::lock_guard lock(inbound_mutex_);
            inbound_closed_ = true;
            left = std::exchange(inbound_, {});
        }
        refuse_undelivered(left.frames);
    }
    /// Link actor: every inbound frame waiting.
    inbound_frames take_inbound() {
        std::lock_guard lock(inbound_mutex_);
        return std::exchange(inbound_, {});
    }
    /// Link actor, after delivering what it took: true if more frames wait
    /// (it keeps delivery and must come back for them); otherwise delivery
    /// goes back to the I/O thread.
    bool more_inbound() {
        std::lock_guard lock(inbound_mutex_);
        const bool more = !inbound_.frames.empty();
        actor_delivers_.store(more, std::memory_order_release);
        return more;
    }

    /// I/O thread: the peer granted `bytes` more of message frames.
    void grant(std::uint64_t bytes) {
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            window_ += bytes;
            wake = !queued_ && data_.size() > data_head_;
            queued_ = queued_ || wake;
        }
        if (wake) {
            enqueue_dirty();
        }
    }

    /// I/O thread: `bytes` of message frames arrived; false if that is more
    /// than the credit this node granted (the peer broke the protocol).
    bool received(std::uint64_t bytes) noexcept {
        return inflight_.fetch_add(bytes, std::memory_order_relaxed) + bytes <= receive_window_;
    }

    /// Delivery's owner: `bytes` of message frames were delivered; grants them
    /// back to the peer once a quarter of the window is due.
    void delivered(std::uint64_t bytes) {
        const std::uint64_t left = inflight_.fetch_sub(bytes, std::memory_order_relaxed) - bytes;
        ungranted_ += bytes;
        // Also when nothing is left in flight: the peer may be waiting to send a
        // frame bigger than what the last grants left it.
        if (ungranted_ != 0 && (ungranted_ >= receive_window_ / 4 || left == 0)) {
            send_credit(ungranted_);
            ungranted_ = 0;
        }
    }

    void send_credit(std::uint64_t bytes) {
        (void)append(lane::urgent, [&](wire_writer& w) {
            const auto at = w.begin_frame(frame_kind::credit);
            w.u64(bytes);
            w.end_frame(at);
        });
    }

    /// Bytes of message frames queued and not yet written (a snapshot).
    [[nodiscard]] std::size_t backlog() const {
        std::lock_guard lock(mutex_);
        return data_.size() - data_head_;
    }

    /// The link went down: later sends fail, asks in flight fail, queued
    /// tells become dead letters. Idempotent.
    /// True if the link actor waits for room in a receiver's mailbox (see
    /// `begin_room_wait`): only stopping it ends that wait.
    bool lose(const error& cause) {
        std::unordered_map<std::uint64_t, std::unique_ptr<detail::pending_reply>> pending;
        bytes unsent;
        bool waiting = false;
        {
            std::lock_guard lock(mutex_);
            if (lost_) {
                return false;
            }
            lost_ = true;
            waiting = room_wait_;
            // The link actor's cell keeps a copy of its spawn arguments (this link)
            // for a rebuild: holding its ref past the loss would be a cycle.
            actor_ = {};
            pending.swap(pending_);
            unsent.assign(data_.begin() + static_cast<std::ptrdiff_t>(data_head_), data_.end());
            data_.clear();
            data_head_ = 0;
            urgent_.clear();
        }
        const error why{errc::node_unreachable, "the link to " + peer_.name + " was lost", cause};
        for (auto& [request, reply] : pending) {
            reply->complete(why, {});
        }
        frame_reader frames(std::numeric_limits<std::uint32_t>::max());
        (void)frames.feed(unsent, [&](frame_view f) {
            if (f.kind == frame_kind::tell) {
                wire_reader r(f.body);
                detail::inbound in;
                (void)read_message_header(false, r, in);
                record_dead_letter(dead_letter_reason::link_lost, in.type, in.trace);
            }
            return true;
        });
        return waiting;
    }

    /// Link actor, about to wait for room for an inbound message: false if
    /// the link is lost already (nobody will stop it for the loss).
    bool begin_room_wait() {
        std::lock_guard lock(mutex_);
        room_wait_ = !lost_;
        return room_wait_;
    }
    void end_room_wait() {
        std::lock_guard lock(mutex_);
        room_wait_ = false;
    }

    // ---- refs inside messages (docs/net.md "Refs inside messages") ----------------

    /// The node, once the link actor exists and before any frame is read:
    /// where refs for this link are exported and their proxies made (as
    /// children of the link actor). Only ids: the link actor's cell holds
    /// this link.
    void serve_refs(const std::shared_ptr<export_table>& exports, std::uint64_t actor_id,
                    std::string actor_path, spawn_options proxy_mailbox) {
        std::lock_guard lock(refs_mutex_);
        exports_ = exports;
        actor_id_ = actor_id;
        actor_path_ = std::move(actor_path);
        proxy_mailbox_ = std::move(proxy_mailbox);
    }

    expected<detail::wire_ref> ref_to_wire(const actor_addr& who, const std::string& signature,
                                           detail::deliverer (*make)(const actor_addr&)) override {
        std::shared_ptr<export_table> exports;
        {
            std::lock_guard lock(refs_mutex_);
            if (auto it = proxies_.find(who.id()); it != proxies_.end()) {
                return detail::wire_ref{detail::ref_tag::yours, it->second};
            }
            exports = exports_.lock();
        }
        if (!exports) {
            return fail(errc::receiver_down, "the node does not export refs (closed)");
        }
        const auto e = exports->add_ref(who, signature, make);
        if (e.fresh) {
            forget_at_exit(sys_, exports, who, e.id);
        }
        return detail::wire_ref{detail::ref_tag::mine, e.id};
    }

    expected<actor_addr> exported_actor(std::uint64_t id, std::string_view signature) override {
        std::shared_ptr<export_table> exports;
        {
            std::lock_guard lock(refs_mutex_);
            exports = exports_.lock();
        }
        auto entry = exports ? exports->by_id(id) : nullptr;
        if (!entry) {
            if (exports && exports->issued(id)) {
                return fail(errc::receiver_down, "a ref to the actor exported as " +
                                                     std::to_string(id) + ", which terminated");
            }
            return fail(errc::malformed,
                        "a ref to " + std::to_string(id) + ", which this node never exported");
        }
        if (entry->signature != signature) {
            return fail(errc::type_mismatch, "the actor exported as " + std::to_string(id) +
                                                 " speaks " + entry->signature + ", not " +
                                                 std::string(signature));
        }
        return entry->who;
    }

    expected<detail::found_actor> peer_export(std::uint64_t id) override {
        detail::found_actor found;
        {
            std::lock_guard lock(refs_mutex_);
            found.proxy_path = actor_path_;
            found.proxy_mailbox = proxy_mailbox_;
            found.parent =
                actor_id_ == 0 ? actor_addr{} : sys_.find_addr(actor_id_).value_or(actor_addr{});
        }
        if (!found.parent) {
            return fail(errc::node_unreachable, "the link to " + peer_.name + " is lost");
        }
        found.sys = &sys_;
        found.over = shared_from_this();
        found.export_id = id;
        found.proxy_name = "r" + std::to_string(id);
        found.proxy_path += "/" + found.proxy_name;
        return found;
    }

    void adopt_proxy(const actor_addr& proxy, std::uint64_t id) override {
        {
            std::lock_guard lock(refs_mutex_);
            proxies_.insert_or_assign(proxy.id(), id);
        }
        (void)sys_.on_exit(proxy, [weak = weak_from_this(), proxy_id = proxy.id()](const error&) {
            if (auto l = weak.lock()) {
                std::lock_guard lock(l->refs_mutex_);
                l->proxies_.erase(proxy_id);
            }
        });
    }

    void not_encoded(std::string_view type, std::uint64_t trace, const error& /*why*/) override {
        record_dead_letter(dead_letter_reason::malformed, type, trace);
    }

private:
    enum class lane : std::uint8_t {
        data,    ///< tell, ask, down, exit: FIFO, covered by the peer's credit, bounded
        replies, ///< reply: as data, but never refused for space (the peer's asks, which
                 ///< our credit bounds, are what it answers)
        urgent,  ///< upkeep (credit, watches, lookups): ahead of data, never refused for space
    };

    // Frame headers stay under this (type names are at most 255 bytes).
    static constexpr std::size_t max_header = 320;

    [[nodiscard]] send_result fits(std::string_view type, byte_view payload) const {
        if (type.size() > max_type_name || payload.size() + max_header > max_frame_) {
            return fail(errc::invalid_argument,
                        "a message of " + std::to_string(payload.size()) +
                            " bytes does not fit the maximum frame size of " +
                            std::to_string(max_frame_));
        }
        return {};
    }

    template <class Write>
    send_result append(lane which, Write&& write) {
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            if (lost_) {
                return fail(errc::node_unreachable, "the link to " + peer_.name + " is lost");
            }
            if (which == lane::data && data_.size() - data_head_ >= capacity_) {
                return fail(errc::mailbox_full, "the outbound queue to " + peer_.name + " is full");
            }
            bytes& buf = which == lane::urgent ? urgent_ : data_;
            const std::size_t before = buf.size();
            wire_writer w(buf);
            write(w);
            if (buf.size() - before > frame_prefix_size + max_frame_) {
                buf.resize(before);
                return fail(errc::invalid_argument,
                            "a message of " + std::to_string(buf.size() - before) +
                                " bytes is larger than the maximum frame size");
            }
            wake = !queued_ && (which == lane::urgent || window_ > 0);

            queued_ = queued_ || wake;
        }
        if (wake) {
            enqueue_dirty();
        }
        return {};
    }

    void enqueue_dirty() {
        std::lock_guard lock(box_->mutex);
        if (!box_->ep) {
            return; // the node closed
        }
        box_->dirty.push_back(shared_from_this());
        // Woken under the lock (wake never blocks): a copy of the endpoint held
        // past it could outlive `close` as the last one and end CAF on this
        // worker, which the system's shutdown may be waiting for.
        box_->ep->wake();
    }

    // Inbound frames nobody will deliver: their messages are refused.
    void refuse_undelivered(byte_view frames) {
        const error why{errc::node_unreachable,
                        "the link to " + peer_.name + " went before the message was delivered"};
        frame_reader reader(std::numeric_limits<std::uint32_t>::max());
        (void)reader.feed(frames, [&](frame_view f) {
            if (f.kind == frame_kind::tell || f.kind == frame_kind::ask) {
                wire_reader r(f.body);
                detail::inbound in;
                (void)read_message_header(f.kind == frame_kind::ask, r, in);
                refuse(in, why);
            }
            return true;
        });
    }

    void record_dead_letter(dead_letter_reason why, std::string_view type, std::uint64_t trace) {
        // The type name must outlive the record: intern it. Names come from
        // peers, so the set is bounded: past `max_interned` other names are
        // recorded under one stand-in (the dead letter is still counted).
        static constexpr std::size_t max_interned = 4096;
        static std::mutex names_mutex;
        static std::unordered_set<std::string> names;
        std::string_view interned = "(a type name not kept: too many distinct ones)";
        {
            std::lock_guard lock(names_mutex);
            if (names.size() < max_interned) {
                interned = *names.emplace(type).first;
            } else if (auto it = names.find(std::string(type)); it != names.end()) {
                interned = *it;
            }
        }
        sys_.dead_letters().record(troupe::dead_letter{why, actor_addr{}, interned, trace});
    }

    const conn_id conn_;
    const peer_info peer_;
    const std::size_t capacity_;
    const std::uint32_t max_frame_;
    std::shared_ptr<outbox> box_;
    troupe::system& sys_;

    const std::uint64_t receive_window_;

    mutable std::mutex mutex_;
    bytes data_;                     // guarded by mutex_; message frames from data_head_ on
    std::size_t data_head_ = 0;      // guarded
    bytes urgent_;                   // guarded; upkeep frames
    std::uint64_t window_ = 0;       // guarded; bytes of data the peer's credit still covers
    bool queued_ = false;            // guarded: on box_->dirty
    bool lost_ = false;              // guarded
    bool room_wait_ = false;         // guarded: the link actor waits for room
    std::uint64_t last_request_ = 0; // guarded
    std::unordered_map<std::uint64_t, std::unique_ptr<detail::pending_reply>> pending_; // guarded
    std::unordered_set<std::uint64_t> watched_;                                         // guarded

    actor_ref<link_protocol> actor_; // guarded by mutex_; released at the loss
    std::atomic<bool> want_writable_{false};
    std::mutex inbound_mutex_;
    inbound_frames inbound_;      // guarded by inbound_mutex_: frames for the link actor
    bool inbound_closed_ = false; // guarded by inbound_mutex_: the link actor stopped
    // Written under inbound_mutex_ (set by the I/O thread, cleared by the link
    // actor); read by the I/O thread without it: see `actor_delivers`.
    std::atomic<bool> actor_delivers_{false};
    std::atomic<std::uint64_t> inflight_{0}; // received, not yet delivered (I/O thread, link actor)
    std::uint64_t ungranted_ = 0; // delivery's owner only: delivered, not yet granted back

    std::mutex refs_mutex_;
    std::weak_ptr<export_table> exports_; // guarded by refs_mutex_ (weak: entries hold proxies)
    std::uint64_t actor_id_ = 0;          // guarded; the link actor's
    std::string actor_path_;              // guarded
    spawn_options proxy_mailbox_;         // guarded
    std::unordered_map<std::uint64_t, std::uint64_t> proxies_; // guarded: proxy actor id -> export
};

/// An inbound tell or ask on its way to its receiver, with what a refusal
/// after a wait for room needs.
struct inbound_message {
    detail::delivery sent;
    detail::inbound in;                        // its views point into the frame
    std::shared_ptr<const export_entry> entry; // holds the receiver's ref
};

/// The export a reader of one link's frames found last: a stream of
/// messages to one actor looks it up once, not under the table's lock per
/// message. Safe to keep because an export id is never reissued and its
/// entry never changes; an entry the table has forgotten belongs to a
/// terminated actor, which `read_message` checks for anyway. (It keeps that
/// entry, and so its actor's ref, until the reader's next other receiver.)
/// **Threading:** one reader's (the I/O thread's, or the link actor's).
struct export_cache {
    std::uint64_t id = 0;
    std::shared_ptr<const export_entry> entry; // of `id`; never a miss
};

/// Reads the tell or ask in `r` from `from`'s peer into `out` (its views
/// point into `r`'s input) and finds its receiver; false (refused: a
/// dead letter here, the error to an asker) if it does not parse or its
/// receiver is gone.
bool read_message(bool is_ask, wire_reader& r, const std::shared_ptr<link_impl>& from,
                  const export_table& exports, export_cache& seen,
                  const detail::decode_limits& limits, inbound_message& out) {
    detail::inbound& in = out.in;
    const std::uint64_t id = read_message_header(is_ask, r, in);
    in.version = r.u32();
    in.payload = r.rest();
    in.from = from;
    in.limits = &limits;
    if (!r.ok()) {
        from->refuse(in, error{errc::malformed, "a message frame that does not parse"});
        return false;
    }
    if (seen.id != id || !seen.entry) {
        seen.entry = exports.by_id(id); // a miss is not kept: the id may be issued later
        seen.id = seen.entry ? id : 0;
    }
    out.entry = seen.entry;
    if (!out.entry || out.entry->who.is_terminated()) {
        from->refuse(in, error{errc::receiver_down, "no such actor on this node"});
        return false;
    }
    return true;
}

/// Answers the peer's lookup in `r` (any thread; the I/O thread's, so that
/// no message waiting for room holds it back).
void answer_lookup(wire_reader& r, std::size_t frame_size, link_impl& from,
                   const export_table& exports) {
    const std::uint64_t request = r.u64();
    const std::string name = r.str(max_actor_name);
    const std::string sig = r.str(frame_size);
    if (!r.done()) {
        return;
    }
    auto [id, entry] = exports.by_name(name);
    if (!entry) {
        from.send_lookup_reply(request, error{errc::receiver_down, "no actor published as " + name},
                               0);
    } else if (entry->signature != sig) {
        from.send_lookup_reply(
            request,
            error{errc::type_mismatch, name + " speaks " + entry->signature + ", not " + sig}, 0);
    } else {
        from.send_lookup_reply(request, error{}, id);
    }
}

/// Completes the ask `request` from the reply frame in `r` (any thread).
void read_reply(wire_reader& r, std::size_t frame_size, link_impl& from) {
    const std::uint64_t request = r.u64();
    const auto code = static_cast<errc>(r.u8());
    if (code == errc::none) {
        from.complete(request, error{}, r.rest());
    } else {
        from.complete(request, error{code, r.str(frame_size)}, {});
    }
}

/// `co_await` of an inbound send on the link actor's turn: while it waits for
/// room, `link_impl::lose` sees it and stops the actor, which cancels the
/// wait. Losing the link before the wait begins stops the actor here.
class room_wait final : public troupe::detail::awaitable_tag {
public:
    room_wait(troupe::detail::send_awaiter& send, link_impl& over) noexcept
        : send_(send), over_(over) {}
    bool await_ready() noexcept { return send_.await_ready(); } // room, or refused: no wait
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        waited_ = true;
        if (!over_.begin_room_wait()) {
            (void)current_actor().stop(error{errc::node_unreachable, "the link was lost"});
        }
        return send_.await_suspend(h);
    }
    send_result await_resume() noexcept {
        if (waited_) { // the common case, room at once, takes no lock
            over_.end_room_wait();
        }
        return send_.await_resume();
    }

private:
    troupe::detail::send_awaiter& send_;
    link_impl& over_;
    bool waited_ = false;
};

/// Delivers a link's inbound frames on a troupe worker (so `then` works and
/// no receiver's policy can block the I/O thread), runs the peer's spawns
/// and this node's lookups over the link. Its children are the proxies of
/// the peer's actors and the actors the peer spawned here (so a lost link
/// stops them).
class link_actor final : public actor<link_protocol> {
public:
    link_actor(std::shared_ptr<link_impl> l, std::shared_ptr<export_table> exports,
               std::shared_ptr<const spawn_kinds> kinds, std::uint32_t max_frame,
               spawn_options proxy_mailbox)
        : link_(std::move(l)), exports_(std::move(exports)), kinds_(std::move(kinds)),
          max_frame_(max_frame), proxy_mailbox_(std::move(proxy_mailbox)) {}

    // Frames in order, from the first one the I/O thread could not deliver
    // directly; a tell or an ask to a full receiver that waits for room
    // (policy `block` or `suspend`) holds back the frames after it: this actor
    // suspends in the send, and the credit of what it has not delivered
    // stays with it, so the peer's senders slow down. Delivery goes back to
    // the I/O thread once no frame waits.
    task<> on(inbound_ready& /*unused*/) {
        do {
            co_await deliver_inbound();
            // Later frames on a later turn (lookups and writable waits go
            // between), or now if this actor's own mailbox has no room.
        } while (link_->more_inbound() && !self().tell(inbound_ready{}));
    }

    void on(lookup_request& r, response_promise<detail::found_actor> reply) {
        const std::uint64_t request = ++last_lookup_;
        lookups_.emplace(request, std::move(reply));
        link_->send_lookup(request, r.name, r.signature);
    }

    void on(spawn_request& r, response_promise<detail::found_actor> reply) {
        const std::uint64_t request = ++last_lookup_;
        lookups_.emplace(request, std::move(reply));
        owners_.emplace(request, std::move(r.owner));
        link_->send_spawn(request, r.kind, r.signature);
    }

    void on(wait_writable& /*unused*/, response_promise<void> reply) {
        if (link_->room_or_notify()) {
            (void)reply.reply();
            return;
        }
        writable_waiters_.push_back(std::move(reply));
    }

    void on(writable& /*unused*/) {
        for (auto& w : writable_waiters_) {
            (void)w.reply();
        }
        writable_waiters_.clear();
    }

    void on(link_down& d) {
        stop(error{errc::node_unreachable, "the link to " + link_->peer().name + " was lost",
                   d.cause});
    }

    void on_stop(const error& cause) override {
        link_->close_inbound();
        writable lost;
        on(lost); // the waiters retry and find the link lost
        for (auto& [request, reply] : lookups_) {
            (void)reply.fail(error{errc::node_unreachable, "the link was lost", cause});
        }
        lookups_.clear();
        owners_.clear();
    }

private:
    // An ask that waited here past its deadline is refused (`timeout`: its
    // asker has given up); one still due gets the time it has left.
    bool still_due(detail::inbound& in, time_point arrived) {
        if (!in.is_ask || in.timeout == duration::max()) {
            return true;
        }
        const duration waited = system().clock().now() - arrived;
        if (waited >= in.timeout) {
            link_->refuse(in, error{errc::timeout, "the ask's deadline passed while it waited "
                                                   "behind a message for a full mailbox"});
            return false;
        }
        in.timeout -= std::max(waited, duration::zero());
        return true;
    }

    // The frames the I/O thread queued, in order.
    task<> deliver_inbound() {
        const auto batch = link_->take_inbound();
        frames_.clear(); // no other handler runs while this one is suspended
        frame_reader reader(max_frame_ + 1);
        (void)reader.feed(batch.frames, [&](frame_view f) {
            frames_.push_back(f);
            return true;
        });
        std::uint64_t data_bytes = 0;
        std::size_t read = 0; // of batch.arrived: the read the frame came in
        for (const frame_view& f : frames_) {
            const auto offset = static_cast<std::size_t>(f.body.data() - batch.frames.data());
            while (read + 1 < batch.arrived.size() && batch.arrived[read].first <= offset) {
                ++read;
            }
            std::optional<inbound_message> decoded;
            {
                // Refs in messages and replies decode for this link (on this
                // thread: a resumed task may run on another one).
                const detail::link_scope refs(*link_);
                handle(f, decoded, batch.arrived[read].second); // one entry per read at least
            }
            if (decoded && decoded->sent.send) {
                link_->delivered(std::exchange(data_bytes, 0)); // before it: delivered
                auto sent = co_await room_wait(*decoded->sent.send, *link_);
                // A refused tell has no sender here to go back to: the receiver counts
                // it (`rejected`) and it becomes a dead letter on this node too (drops
                // and sends to a terminated actor are dead letters already).
                // A wait cut short by the link's loss (`cancelled`) is one too. A
                // refused ask's error went to the peer's asker already.
                if (!sent && !decoded->in.is_ask &&
                    (sent.error().code() == errc::mailbox_full ||
                     sent.error().code() == errc::timeout ||
                     sent.error().code() == errc::cancelled)) {
                    link_->refuse(decoded->in, sent.error());
                }
            }
            if (is_credited(f.kind)) {
                data_bytes += frame_prefix_size + 1 + f.body.size();
            }
        }
        link_->delivered(data_bytes);
    }

    // `arrived`: when the I/O thread read it (an ask's time left runs from there).
    void handle(frame_view f, std::optional<inbound_message>& decoded, time_point arrived) {
        wire_reader r(f.body);
        switch (f.kind) {
        case frame_kind::tell:
        case frame_kind::ask: {
            auto& m = decoded.emplace();
            if (read_message(f.kind == frame_kind::ask, r, link_, *exports_, exports_seen_, limits_,
                             m) &&
                still_due(m.in, arrived)) {
                if (auto d = m.entry->deliver(m.in, this); d.send) {
                    m.sent.send.emplace(std::move(*d.send));
                }
            }
            return;
        }
        case frame_kind::reply: read_reply(r, f.body.size(), *link_); return;
        case frame_kind::spawn: spawn(r, f.body.size()); return;
        case frame_kind::lookup_reply: {
            const std::uint64_t request = r.u64();
            const auto code = static_cast<errc>(r.u8());
            std::string message = r.str(f.body.size());
            const std::uint64_t id = r.u64();
            auto it = lookups_.find(request);
            if (it == lookups_.end() || !r.done()) {
                return;
            }
            if (auto owner = owners_.extract(request); !owner.empty() && code == errc::none) {
                // The spawned actor lives as long as its owner (at once if the
                // owner has terminated already).
                (void)system().on_exit(owner.mapped(), [weak = std::weak_ptr<link_impl>(link_),
                                                        id](const error& cause) {
                    if (auto l = weak.lock()) {
                        l->send_stop(id, cause);
                    }
                });
            }
            if (code == errc::none) {
                detail::found_actor found;
                found.sys = &system();
                found.over = link_;
                found.export_id = id;
                found.parent = addr();
                found.proxy_name = "r" + std::to_string(id);
                found.proxy_path = path() + "/" + found.proxy_name;
                found.proxy_mailbox = proxy_mailbox_;
                (void)it->second.reply(std::move(found));
            } else {
                (void)it->second.fail(error{code, std::move(message)});
            }
            lookups_.erase(it);
            return;
        }
        case frame_kind::monitor: {
            const std::uint64_t id = r.u64();
            auto entry = exports_->by_id(id);
            if (!entry) {
                link_->send_down(id, error{errc::noproc, "no such actor"});
            } else if (link_->first_watch(id)) {
                std::weak_ptr<link_impl> weak = link_;
                (void)system().on_exit(entry->who, [weak, id](const error& cause) {
                    if (auto l = weak.lock()) {
                        l->forget_watch(id); // a later watch (a new proxy) gets its down too
                        l->send_down(id, cause);
                    }
                });
            }
            return;
        }
        case frame_kind::exit: {
            const std::uint64_t id = r.u64();
            const auto code = static_cast<errc>(r.u8());
            std::string message = r.str(f.body.size());
            auto entry = exports_->by_id(id);
            if (entry && r.done()) {
                (void)entry->who.signal_exit(
                    code == errc::none ? error{}
                                       : error{code, "a linked actor on " + link_->peer().name +
                                                         " exited: " + message});
            }
            return;
        }
        case frame_kind::stop: {
            const std::uint64_t id = r.u64();
            const auto code = static_cast<errc>(r.u8());
            std::string message = r.str(f.body.size());
            auto entry = exports_->by_id(id);
            if (entry && entry->spawned_by == addr().id() && r.done()) { // only its own
                (void)entry->who.stop(code == errc::none ? error{}
                                                         : error{code, std::move(message)});
            }
            return;
        }
        case frame_kind::down: {
            const std::uint64_t id = r.u64();
            const auto code = static_cast<errc>(r.u8());
            std::string message = r.str(f.body.size());
            if (auto proxy = system().find_addr(path() + "/r" + std::to_string(id))) {
                (void)proxy->stop(code == errc::none ? error{} : error{code, std::move(message)});
            }
            return;
        }
        default: return; // upkeep frames stay on the I/O thread
        }
    }

    // The peer asks for an actor of an allowed kind: a child of this actor,
    // exported until it terminates, answered with its export id.
    void spawn(wire_reader& r, std::size_t max_signature) {
        const std::uint64_t request = r.u64();
        const std::string kind = r.str(max_actor_name);
        const std::string sig = r.str(max_signature);
        if (!r.done()) {
            return;
        }
        auto allowed = kinds_->find(kind);
        if (!allowed) {
            link_->send_lookup_reply(
                request, error{errc::receiver_down, "nothing may be spawned as " + kind}, 0);
            return;
        }
        if (allowed->signature != sig) {
            link_->send_lookup_reply(
                request,
                error{errc::type_mismatch, kind + " speaks " + allowed->signature + ", not " + sig},
                0);
            return;
        }
        auto made = allowed->spawn(addr(), kind + "-" + std::to_string(++last_spawn_));
        if (!made) {
            link_->send_lookup_reply(request, made.error(), 0);
            return;
        }
        auto id =
            export_until_exit(system(), exports_, {},
                              export_entry{made->who, sig, std::move(made->deliver), addr().id()});
        link_->send_lookup_reply(request, id ? error{} : id.error(), id ? *id : 0);
    }

    std::shared_ptr<link_impl> link_;
    std::shared_ptr<export_table> exports_;
    std::shared_ptr<const spawn_kinds> kinds_;
    std::uint32_t max_frame_;
    spawn_options proxy_mailbox_;
    detail::decode_limits limits_;
    export_cache exports_seen_;
    std::vector<frame_view> frames_; // of the batch being delivered
    std::uint64_t last_lookup_ = 0;  // lookups and spawns
    std::uint64_t last_spawn_ = 0;
    std::map<std::uint64_t, response_promise<detail::found_actor>> lookups_;
    std::map<std::uint64_t, actor_addr> owners_; // of the spawns among lookups_
    std::vector<response_promise<void>> writable_waiters_;
};

/// The node's root actor, `/user/net`: the link actors are its children.
class net_root final : public actor<link_down> {
public:
    void on(link_down& /*unused*/) {}
};

// ---- the node -----------------------------------------------------------------------

/// True while a node's I/O callback runs on this thread (the I/O thread, which
/// the blocking calls would stall, and `close` would wait for).
thread_local bool on_io_thread = false;
struct io_callback {
    io_callback() noexcept { on_io_thread = true; }
    io_callback(const io_callback&) = delete;
    io_callback& operator=(const io_callback&) = delete;
    io_callback(io_callback&&) = delete;
    io_callback& operator=(io_callback&&) = delete;
    ~io_callback() { on_io_thread = false; }
};

bool valid_node_name(std::string_view n) {
    return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
    });
}

std::string hex(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4U) {
        s[static_cast<std::size_t>(i)] = digits[v & 0xfU];
    }
    return s;
}

class node_impl final : public node, public io_handler {
public:
    node_impl(troupe::system& sys, node_options opts, cluster_secret secret)
        : sys_(sys), opts_(std::move(opts)), secret_(std::move(secret)),
          box_(std::make_shared<outbox>()), exports_(std::make_shared<export_table>()),
          kinds_(std::make_shared<spawn_kinds>()) {
        identity_.name = opts_.name;
        identity_.type_table_hash = detail::type_table_hash();
        identity_.seal = opts_.encrypt;
        do {
            randombytes_buf(&identity_.id, sizeof identity_.id);
        } while (identity_.id == 0);
    }
    node_impl(const node_impl&) = delete;
    node_impl& operator=(const node_impl&) = delete;
    node_impl(node_impl&&) = delete;
    node_impl& operator=(node_impl&&) = delete;
    ~node_impl() override { close(); }

    expected<void> start() {
        auto root = sys_.spawn_named<net_root>("net", spawn_options{});
        if (!root) {
            return troupe::unexpected(root.error());
        }
        root_ = root->addr();
        const duration tick =
            std::max<duration>(opts_.heartbeat_interval / 2, std::chrono::milliseconds(5));
        auto ep = open_endpoint(*this, tick);
        if (!ep) {
            return troupe::unexpected(ep.error());
        }
        box_->ep = *ep;
        return {};
    }

    std::uint64_t id() const noexcept override { return identity_.id; }
    const std::string& name() const noexcept override { return identity_.name; }

    expected<std::uint16_t> listen(const std::string& host, std::uint16_t port) override {
        if (auto ep = endpoint_or_closed(); !ep) {
            return troupe::unexpected(ep.error());
        } else {
            return (*ep)->listen(host, port);
        }
    }

    expected<peer_info> connect(const std::string& host, std::uint16_t port) override {
        if (on_scheduler_worker() || current_actor_id() != 0 || on_io_thread) {
            return fail(errc::would_block, "node::connect blocks; call it from a plain thread");
        }
        auto ep = endpoint_or_closed();
        if (!ep) {
            return troupe::unexpected(ep.error());
        }
        auto c = (*ep)->connect(host, port);
        if (!c) {
            return troupe::unexpected(c.error());
        }
        std::unique_lock lock(mutex_);
        const bool done = cv_.wait_for(lock, opts_.connect_timeout,
                                       [&] { return outcomes_.count(*c) != 0 || closed_; });
        if (closed_ && outcomes_.count(*c) == 0) {
            return fail(errc::receiver_down, "the node closed");
        }
        if (!done) {
            abandoned_.insert(*c);
            return fail(errc::timeout, "the handshake with " + host + ":" + std::to_string(port) +
                                           " did not finish in time");
        }
        auto outcome = std::move(outcomes_.at(*c));
        outcomes_.erase(*c);
        return outcome;
    }

    std::vector<peer_info> peers() const override {
        std::lock_guard lock(mutex_);
        std::vector<peer_info> out;
        out.reserve(links_.size());
        for (const auto& [id, l] : links_) {
            out.push_back(l.link->peer());
        }
        return out;
    }

    hook_list<const peer_info&, bool, const error&>& peer_events() noexcept override {
        return peer_events_;
    }

    expected<void> unpublish(std::string_view name) override { return exports_->remove(name); }

    node_counters counters() const noexcept override {
        node_counters c;
        c.handshakes_refused = handshakes_refused_.load(std::memory_order_relaxed);
        c.handshake_timeouts = handshake_timeouts_.load(std::memory_order_relaxed);
        c.links_lost = links_lost_.load(std::memory_order_relaxed);
        c.frames_refused = frames_refused_.load(std::memory_order_relaxed);
        c.messages_refused = box_->messages_refused.load(std::memory_order_relaxed);
        c.delivered_directly = delivered_directly_.load(std::memory_order_relaxed);
        c.delivered_by_link_actor = delivered_by_link_actor_.load(std::memory_order_relaxed);
        return c;
    }

    void close() noexcept override {
        if (on_io_thread) {
            return; // it would wait for itself (a peer_events hook); see node.hpp
        }
        std::shared_ptr<endpoint> ep;
        {
            std::lock_guard lock(mutex_);
            if (closed_) {
                return;
            }
            closed_ = true;
            ep = box_->ep;
        }
        cv_.notify_all(); // a connect in flight gives up
        if (ep) {
            ep->shutdown(); // no I/O callback runs after this
        }
        for (auto& [c, s] : sessions_) {
            if (s.link) {
                lost(s, error{errc::stopped, "the node closed"});
            }
        }
        sessions_.clear();
        (void)root_.stop();
        exports_->clear();
        std::shared_ptr<endpoint> last;
        {
            // Refs to remote actors may outlive the node (their proxies hold the
            // links): the endpoint, and CAF with it, ends here, on this thread.
            std::lock_guard lock(box_->mutex);
            box_->dirty.clear();
            last = std::exchange(box_->ep, nullptr);
        }
    }

protected:
    expected<void> publish_erased(std::string name, actor_addr who, std::string signature,
                                  detail::deliverer deliver) override {
        if (name.empty() || name.size() > max_actor_name) {
            return fail(errc::invalid_argument, "a published name is 1 to 255 bytes");
        }
        auto id = export_until_exit(
            sys_, exports_, std::move(name),
            export_entry{std::move(who), std::move(signature), std::move(deliver)});
        if (!id) {
            return troupe::unexpected(id.error());
        }
        return {};
    }

    expected<void> allow_spawn_erased(std::string kind, std::string signature,
                                      detail::spawner spawn) override {
        if (kind.empty() || kind.size() > max_actor_name) {
            return fail(errc::invalid_argument, "a kind is 1 to 255 bytes");
        }
        return kinds_->add(std::move(kind),
                           spawn_kinds::kind{std::move(signature), std::move(spawn)});
    }

    expected<ask_handle<detail::found_actor>>
    spawn_erased(const actor_addr& owner, std::string_view peer, std::string_view kind,
                 std::string signature, duration timeout) override {
        if (!owner) {
            return fail(errc::invalid_argument, "a remote spawn needs an owner");
        }
        if (current_actor_id() == 0) {
            return fail(errc::invalid_argument, "node::spawn_then outside an actor's turn");
        }
        auto actor = link_actor_of(peer);
        if (!actor) {
            return troupe::unexpected(actor.error());
        }
        return actor->ask(spawn_request{owner, std::string(kind), std::move(signature)}, timeout);
    }

    expected<ask_handle<detail::found_actor>> lookup_erased(std::uint64_t peer,
                                                            std::string_view name,
                                                            std::string signature,
                                                            duration timeout) override {
        if (on_io_thread) {
            return fail(errc::would_block, "node::lookup from the I/O thread (a peer_events hook)");
        }
        actor_ref<link_protocol> actor;
        {
            std::lock_guard lock(mutex_);
            auto it = links_.find(peer);
            if (it == links_.end()) {
                return fail(errc::node_unreachable, "no link to node " + hex(peer));
            }
            actor = it->second.actor;
        }
        return actor.ask(lookup_request{std::string(name), std::move(signature)}, timeout);
    }

    // ---- I/O thread ---------------------------------------------------------------

    // Tells are delivered directly only from reads up to this size: a small
    // read is latency-bound traffic (a tell answering a tell), a big one a
    // stream, which the link actor delivers faster, in parallel with this
    // thread's reading and decoding (measured: docs/net-bench.md).
    static constexpr std::size_t direct_tell_read_limit = 4096;

    // What one read of a link's stream left: frames for the link actor, and
    // the bytes of message frames the I/O thread delivered directly (their
    // credit is granted once per read).
    struct inbound_read {
        bool small = false; // at most direct_tell_read_limit bytes
        bytes for_actor;
        std::uint64_t delivered = 0;
    };

    struct session {
        session(conn_id id, bool in, std::string addr, std::uint32_t max_frame, node_identity self,
                const cluster_secret& secret)
            : c(id), inbound(in), address(std::move(addr)), reader(max_frame),
              shake(std::move(self), secret,
                    in ? handshake_role::acceptor : handshake_role::connector),
              opened(steady::now()), last_rx(opened), last_tx(opened) {}
        conn_id c;
        bool inbound;
        std::string address;
        frame_reader reader;
        handshake shake;
        steady::time_point opened, last_rx, last_tx;
        std::shared_ptr<link_impl> link; // once established
        actor_ref<link_protocol> actor;
        // This node (the lower id of the two) accepted it as the one connection
        // to its peer, and waits for the connector's AUTH.
        bool kept = false;
        std::optional<frame_sealer> sealer; // a sealed link, once established
        std::optional<frame_opener> opener;
        export_cache exports_seen; // of messages delivered directly
    };

    void on_open(conn_id c, bool inbound, const std::string& peer) override {
        const io_callback here;
        auto [it, fresh] = sessions_.try_emplace(c, c, inbound, peer, max_handshake_frame_length,
                                                 identity_, secret_);
        (void)fresh;
        write(it->second, it->second.shake.start());
    }

    void on_data(conn_id c, byte_view data) override {
        const io_callback here;
        auto it = sessions_.find(c);
        if (it == sessions_.end()) {
            return;
        }
        session& s = it->second;
        s.last_rx = steady::now();
        inbound_read read;
        read.small = data.size() <= direct_tell_read_limit;
        error why;
        auto ok = s.reader.feed(data, [&](frame_view f) {
            if (!s.link) {
                return handshake_frame(s, f, why);
            }
            if (!s.opener) {
                return link_frame(s, f, read, why);
            }
            if (f.kind != frame_kind::sealed) {
                why = error{errc::unauthenticated, "a plain frame on a sealed link"};
                return false;
            }
            auto inner = s.opener->open(f.body);
            if (!inner) {
                why = inner.error();
                return false;
            }
            if (inner->kind != frame_kind::batch) {
                why = error{errc::malformed, "a sealed frame that is not a batch"};
                return false;
            }
            frame_reader frames(opts_.max_frame_size);
            bool go_on = true;
            auto whole = frames.feed(inner->body, [&](frame_view g) {
                go_on = link_frame(s, g, read, why);
                return go_on;
            });
            if (!whole || frames.mid_frame()) {
                why = whole ? error{errc::malformed, "a sealed batch ends inside a frame"}
                            : whole.error();
                return false;
            }
            return go_on;
        });
        if (s.link && read.delivered != 0) {
            s.link->delivered(read.delivered); // before a hand-over: its credit is ours
        }
        if (!read.for_actor.empty() && s.link &&
            s.link->push_inbound(std::move(read.for_actor), sys_.clock().now())) {
            // One notice at a time (the frames wait in the link, bounded by the credit).
            if (!s.actor.tell(inbound_ready{})) {
                why = error{errc::mailbox_full, "the link actor refused its inbound notice"};
            }
        }
        if (!ok) {
            why = ok.error();
        }
        // A stream that broke the protocol (not a handshake refusal: counted
        // there; not a peer saying bye).
        if (!ok || (why && s.link && why.code() != errc::stopped)) {
            frames_refused_.fetch_add(1, std::memory_order_relaxed);
        }
        if (why) {
            drop(s, why);
        }
        settle_superseded();
    }

    void on_closed(conn_id c) override {
        const io_callback here;
        auto it = sessions_.find(c);
        if (it == sessions_.end()) {
            return;
        }
        finish(it->second, error{errc::node_unreachable, "the connection closed"});
        sessions_.erase(it);
        settle_superseded();
    }

    void on_wake() override {
        const io_callback here;
        std::vector<std::shared_ptr<link_impl>> dirty;
        {
            std::lock_guard lock(box_->mutex);
            dirty.swap(box_->dirty);
        }
        for (auto& l : dirty) {
            auto out = l->take_output();
            auto it = sessions_.find(l->conn());
            if (it == sessions_.end() || it->second.link != l) {
                continue;
            }
            if (!out.empty()) {
                write(it->second, out);
            }
            if (l->drained() && !it->second.actor.tell(writable{})) {
                l->rearm_writable(); // told again after the next write
            }
        }
    }

    void on_tick() override {
        const io_callback here;
        const auto now = steady::now();
        std::vector<conn_id> doomed;
        for (auto& [c, s] : sessions_) {
            if (!s.link) {
                if (now - s.opened > opts_.handshake_timeout) {
                    handshake_timeouts_.fetch_add(1, std::memory_order_relaxed);
                    doomed.push_back(c);
                }
            } else if (now - s.last_rx > opts_.heartbeat_timeout) {
                doomed.push_back(c);
            } else if (now - s.last_tx >= opts_.heartbeat_interval) {
                bytes hb;
                wire_writer w(hb);
                w.end_frame(w.begin_frame(frame_kind::heartbeat));
                write(s, hb);
            }
        }
        for (conn_id c : doomed) {
            auto it = sessions_.find(c);
            drop(it->second, it->second.link
                                 ? error{errc::timeout, "no heartbeat from the peer in time"}
                                 : error{errc::timeout, "the handshake did not finish in time"});
        }
        settle_superseded();
    }

private:
    // The link actor of the peer named `peer` (O(peers)).
    expected<actor_ref<link_protocol>> link_actor_of(std::string_view peer) const {
        std::lock_guard lock(mutex_);
        for (const auto& [id, l] : links_) {
            if (l.link->peer().name == peer) {
                return l.actor;
            }
        }
        return fail(errc::node_unreachable, "no link to a node named " + std::string(peer));
    }

    expected<std::shared_ptr<endpoint>> endpoint_or_closed() const {
        std::lock_guard lock(mutex_);
        if (closed_ || !box_->ep) {
            return fail(errc::receiver_down, "the node is closed");
        }
        return box_->ep;
    }

    // Writes whole frames to `s`; on a sealed link as sealed batches, each
    // at most a maximum frame long (one AEAD operation per batch).
    void write(session& s, byte_view data) {
        s.last_tx = steady::now();
        if (!s.sealer) {
            box_->ep->write(s.c, data);
            return;
        }
        bytes sealed;
        std::size_t begin = 0;
        while (begin < data.size()) {
            std::size_t end = begin;
            while (data.size() - end >= frame_prefix_size) {
                const std::size_t size = frame_size_at(data, end);
                if (end > begin && end + size - begin > opts_.max_frame_size) {
                    break;
                }
                end += size;
            }
            if (auto ok =
                    s.sealer->seal(frame_kind::batch, data.subspan(begin, end - begin), sealed);
                !ok) {
                // The counter ran out (2^64 frames): the link cannot go on safely.
                box_->ep->close(s.c);
                return;
            }
            begin = end;
        }
        box_->ep->write(s.c, sealed);
    }

    // One frame of an established link: upkeep handled here, messages
    // delivered here while this thread owns delivery, the rest queued in
    // `read` for the link actor. False (with `why`) closes it.
    bool link_frame(session& s, frame_view f, inbound_read& read, error& why) {
        switch (f.kind) {
        case frame_kind::heartbeat: return true;
        case frame_kind::credit: {
            wire_reader r(f.body);
            const std::uint64_t n = r.u64();
            if (!r.done()) {
                why = error{errc::malformed, "a credit frame that does not parse"};
                return false;
            }
            s.link->grant(n);
            return true;
        }
        case frame_kind::bye: why = error{errc::stopped, "the peer closed the link"}; return false;
        case frame_kind::lookup: {
            wire_reader r(f.body);
            answer_lookup(r, f.body.size(), *s.link, *exports_);
            return true;
        }
        case frame_kind::tell:
        case frame_kind::ask:
        case frame_kind::reply:
        case frame_kind::down:
        case frame_kind::exit:
        case frame_kind::stop: {
            if (!s.link->received(frame_prefix_size + 1 + f.body.size())) {
                why = error{errc::malformed, "the peer sent beyond the credit it was given"};
                return false;
            }
            // Directly while nothing waits for the link actor (nor in this
            // read: `for_actor` holds what it queued for it already).
            const bool message = f.kind == frame_kind::tell || f.kind == frame_kind::ask ||
                                 f.kind == frame_kind::reply;
            if (message && (f.kind != frame_kind::tell || read.small) && read.for_actor.empty() &&
                !s.link->actor_delivers()) {
                bool delivered = false;
                try {
                    delivered = deliver_directly(s, f);
                } catch (const std::exception& e) {
                    // As when the link actor fails delivering: the link goes.
                    why = error{errc::exception, std::string("delivering a frame: ") + e.what()};
                    return false;
                }
                if (delivered) {
                    read.delivered += frame_prefix_size + 1 + f.body.size();
                    bump(delivered_directly_);
                    return true;
                }
            }
            if (message) {
                bump(delivered_by_link_actor_);
            }
        }
            [[fallthrough]];
        case frame_kind::lookup_reply:
        case frame_kind::spawn:
        case frame_kind::monitor: {
            wire_writer w(read.for_actor);
            const auto at = w.begin_frame(f.kind);
            w.raw(f.body);
            w.end_frame(at);
            return true;
        }
        default:
            why = error{errc::malformed, "an unexpected frame: " + std::string(to_string(f.kind))};
            return false;
        }
    }

    // A counter only this thread writes: no read-modify-write needed.
    static void bump(std::atomic<std::uint64_t>& counter) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    // I/O thread, owning delivery: a reply, an ask, or a tell (of a small
    // read) whose receiver has room, delivered now (saving the hop through
    // the link actor); false (a tell or an ask to a full receiver) leaves
    // the frame to the link actor.
    bool deliver_directly(session& s, frame_view f) {
        const detail::link_scope refs(*s.link); // refs inside decode for this link
        wire_reader r(f.body);
        if (f.kind == frame_kind::reply) {
            read_reply(r, f.body.size(), *s.link);
            return true;
        }
        inbound_message m;
        if (!read_message(f.kind == frame_kind::ask, r, s.link, *exports_, s.exports_seen, limits_,
                          m)) {
            return true; // refused, and counted
        }
        return !m.entry->deliver(m.in, nullptr).no_room;
    }

    bool handshake_frame(session& s, frame_view f, error& why) {
        auto step = s.shake.on_frame(f);
        if (!step.out.empty()) {
            write(s, step.out);
        }
        if (s.shake.state() == handshake::status::deciding) {
            decide(s);
        } else if (s.shake.state() == handshake::status::awaiting_auth && !s.inbound) {
            // The connector knows its peer now: linked already, nothing to wait for.
            if (auto reason = superseded(s)) {
                write(s, s.shake.decline(*reason));
            }
        }
        switch (s.shake.state()) {
        case handshake::status::refused:
        case handshake::status::declined: why = s.shake.failure(); return false;
        case handshake::status::established: return established(s, why);
        default: return true;
        }
    }

    // One connection per pair of nodes (docs/net.md "Handshake"): the node
    // with the lower id decides for every connection between the two, on its
    // I/O thread one at a time, and keeps the first it decides on while that
    // one lives, so at most one is ever kept; the other node goes on with any
    // connection not declined to it, and declines only when it has a link.
    // Why `s` must give way, or nothing.
    //
    // (A preference among connections still in the handshake, such as "the
    // lower id's own", would let the lower id decline the peer's connection
    // for one the peer has not seen yet, and the peer's `connect` could not
    // tell what to wait for.)
    std::optional<std::string> superseded(const session& s) {
        const std::uint64_t peer = s.shake.peer().id;
        {
            std::lock_guard lock(mutex_);
            if (links_.count(peer) != 0) {
                return "node '" + identity_.name + "' has a link to node '" + s.shake.peer().name +
                       "' already";
            }
        }
        if (identity_.id > peer) {
            return std::nullopt; // the peer decides
        }
        for (const auto& [c, other] : sessions_) {
            if (c == s.c || other.link || other.shake.peer().id != peer) {
                continue;
            }
            if (other.kept) {
                return "node '" + identity_.name + "' keeps another connection to node '" +
                       s.shake.peer().name + "'";
            }
        }
        return std::nullopt;
    }

    void decide(session& s) {
        if (auto reason = superseded(s)) {
            write(s, s.shake.decline(*reason));
            return;
        }
        s.kept = s.inbound && identity_.id < s.shake.peer().id;
        write(s, s.shake.accept());
    }

    // I/O thread: settles the `connect` calls whose connection gave way to
    // another one to the same peer: with that peer's link once it is up, or
    // with a failure once no connection that could become it is left.
    void settle_superseded() {
        bool settled = false;
        {
            std::lock_guard lock(mutex_);
            for (auto it = superseded_.begin(); it != superseded_.end();) {
                auto link = links_.find(it->peer);
                if (link != links_.end()) {
                    record_outcome(it->c, false, link->second.link->peer());
                } else if (!may_link(it->peer)) {
                    record_outcome(it->c, false,
                                   troupe::unexpected(error{
                                       errc::node_unreachable,
                                       "the connection kept in place of this one did not come up",
                                       it->cause}));
                } else {
                    ++it;
                    continue;
                }
                it = superseded_.erase(it);
                settled = true;
            }
        }
        if (settled) {
            cv_.notify_all();
        }
    }

    // True while a connection in the handshake may still become a link to
    // `peer` (an outbound one whose HELLO has not come may lead there too).
    [[nodiscard]] bool may_link(std::uint64_t peer) const {
        return std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& e) {
            const session& s = e.second;
            switch (s.shake.state()) {
            case handshake::status::awaiting_hello: return !s.inbound;
            case handshake::status::deciding:
            case handshake::status::awaiting_auth: return s.shake.peer().id == peer;
            default: return false;
            }
        });
    }

    bool established(session& s, error& why) {
        if (opts_.encrypt || s.shake.peer().seal) {
            const session_keys keys = s.shake.keys();
            s.sealer.emplace(keys.tx);
            s.opener.emplace(keys.rx);
            s.reader.set_max_length(opts_.max_frame_size + frame_prefix_size + seal_overhead + 1);
        } else {
            s.reader.set_max_length(opts_.max_frame_size);
        }
        peer_info info{s.shake.peer().id, s.shake.peer().name, s.address, s.sealer.has_value(),
                       s.shake.peer().type_table_hash};
        auto l = std::make_shared<link_impl>(s.c, info, opts_, box_, sys_);
        {
            std::lock_guard lock(mutex_);
            if (links_.count(info.id) != 0) {
                why = error{errc::name_taken, "a link to " + info.name + " exists already"};
                return false;
            }
        }
        auto actor = troupe::system::spawn_child_of<link_actor>(
            root_, "peer-" + hex(info.id) + "-" + std::to_string(s.c),
            spawn_options{.capacity = 4096}, l, exports_, kinds_, opts_.max_frame_size,
            opts_.proxy_mailbox);
        if (!actor || actor->addr().is_terminated()) {
            why = error{errc::receiver_down, "the node is closing"};
            return false;
        }
        l->set_actor(*actor);
        // Before any frame: the I/O thread decodes refs in what it delivers.
        l->serve_refs(exports_, actor->addr().id(), actor->addr().path(), opts_.proxy_mailbox);
        s.link = l;
        s.actor = *actor;
        s.kept = false;
        {
            std::lock_guard lock(mutex_);
            links_.emplace(info.id, peer_entry{l, *actor});
            record_outcome(s.c, s.inbound, info);
        }
        cv_.notify_all();
        l->send_credit(opts_.receive_window); // the peer may send this much at first
        peer_events_(info, true, error{});
        return true;
    }

    // Closes `s` with `why` (refused handshake, protocol error, heartbeat).
    void drop(session& s, const error& why) {
        const conn_id c = s.c;
        finish(s, why); // counted before the peer can see the close
        box_->ep->close(c);
        sessions_.erase(c);
    }

    // The end of a session, established or not.
    void finish(session& s, const error& why) {
        if (s.link) {
            lost(s, why);
            return;
        }
        if (s.shake.state() == handshake::status::declined) {
            // Not a failure: the peer is (or is being) linked over another
            // connection, and a `connect` over this one waits for that link.
            std::lock_guard lock(mutex_);
            if (!s.inbound && abandoned_.erase(s.c) == 0) {
                superseded_.push_back(superseded_connect{s.c, s.shake.peer().id, {}});
            }
            return;
        }
        handshakes_refused_.fetch_add(1, std::memory_order_relaxed);
        const error cause = why ? why : error{errc::node_unreachable, "the connection closed"};
        {
            std::lock_guard lock(mutex_);
            record_outcome(s.c, s.inbound, troupe::unexpected(cause));
            if (s.shake.state() != handshake::status::awaiting_hello) {
                for (auto& w : superseded_) {
                    if (w.peer == s.shake.peer().id) {
                        w.cause = cause;
                    }
                }
            }
        }
        cv_.notify_all();
    }

    void lost(session& s, const error& why) {
        links_lost_.fetch_add(1, std::memory_order_relaxed);
        {
            // First: once a monitor of one of its proxies fires, `peers` no longer
            // lists the peer.
            std::lock_guard lock(mutex_);
            auto it = links_.find(s.link->peer().id);
            if (it != links_.end() && it->second.link == s.link) {
                links_.erase(it);
            }
        }
        // In order behind the frames queued for it, unless it waits for room
        // (its mailbox waits too) or its mailbox is full: then through the
        // system lane, which also ends the wait (`cancelled`).
        if (s.link->lose(why) || !s.actor.tell(link_down{why})) {
            (void)s.actor.stop(error{errc::node_unreachable, "the link was lost", why});
        }
        peer_events_(s.link->peer(), false, why);
        s.link.reset();
    }

    // Guarded by mutex_: the outcome of an outbound connection for `connect`.
    void record_outcome(conn_id c, bool inbound, expected<peer_info> outcome) {
        if (inbound) {
            return;
        }
        if (abandoned_.erase(c) != 0) {
            return;
        }
        outcomes_.insert_or_assign(c, std::move(outcome));
    }

    struct peer_entry {
        std::shared_ptr<link_impl> link;
        actor_ref<link_protocol> actor;
    };
    /// A `connect` whose connection was declined in favour of another to `peer`.
    struct superseded_connect {
        conn_id c;
        std::uint64_t peer;
        error cause; ///< why the last connection to `peer` failed, if one did
    };

    troupe::system& sys_;
    const node_options opts_;
    const cluster_secret secret_;
    node_identity identity_;
    std::shared_ptr<outbox> box_;
    std::shared_ptr<export_table> exports_;
    std::shared_ptr<spawn_kinds> kinds_;
    actor_addr root_;
    hook_list<const peer_info&, bool, const error&> peer_events_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool closed_ = false;                                       // guarded
    std::unordered_map<std::uint64_t, peer_entry> links_;       // guarded, by peer id
    std::unordered_map<conn_id, expected<peer_info>> outcomes_; // guarded
    std::unordered_set<conn_id> abandoned_;                     // guarded
    std::vector<superseded_connect> superseded_;                // guarded; set on the I/O thread

    std::unordered_map<conn_id, session> sessions_; // I/O thread (then `close`)
    const detail::decode_limits limits_;            // of messages delivered directly

    std::atomic<std::uint64_t> handshakes_refused_{0};
    std::atomic<std::uint64_t> handshake_timeouts_{0};
    std::atomic<std::uint64_t> links_lost_{0};
    std::atomic<std::uint64_t> frames_refused_{0};
    std::atomic<std::uint64_t> delivered_directly_{0};      // written by the I/O thread only
    std::atomic<std::uint64_t> delivered_by_link_actor_{0}; // written by the I/O thread only
};

/// The system extension that owns a node: closes it at the system's shutdown.
struct node_slot {
    std::shared_ptr<node_impl> node;
    explicit node_slot(std::shared_ptr<node_impl> n) : node(std::move(n)) {}
    node_slot(const node_slot&) = delete;
    node_slot& operator=(const node_slot&) = delete;
    node_slot(node_slot&&) = delete;
    node_slot& operator=(node_slot&&) = delete;
    ~node_slot() {
        if (node) {
            node->close();
        }
    }
};

} // namespace
} // namespace troupe::net::internal

namespace troupe::net {

expected<std::shared_ptr<node>> node::attach(troupe::system& sys, node_options opts) {
    using namespace internal;
    init_sodium();
    if (!valid_node_name(opts.name)) {
        return fail(errc::invalid_argument,
                    "a node name is 1 to 64 of [A-Za-z0-9_.-], not \"" + opts.name + "\"");
    }
    if (opts.secret.empty() == opts.secret_file.empty()) {
        return fail(errc::invalid_argument, "give the cluster secret, or a file holding it");
    }
    if (opts.heartbeat_interval <= duration::zero() ||
        opts.heartbeat_timeout <= opts.heartbeat_interval ||
        opts.handshake_timeout <= duration::zero() || opts.max_frame_size < 64 ||
        opts.receive_window < opts.max_frame_size + frame_prefix_size ||
        opts.outbound_capacity == 0) {
        return fail(errc::invalid_argument,
                    "heartbeat interval > 0, timeout > interval, handshake timeout > 0, "
                    "max frame size >= 64, receive window >= max frame size + 4, outbound "
                    "capacity > 0");
    }
    auto secret = opts.secret_file.empty() ? cluster_secret::from_string(opts.secret)
                                           : cluster_secret::from_file(opts.secret_file);
    if (!secret) {
        return troupe::unexpected(secret.error());
    }
    opts.secret.clear();
    if (sys.find_extension<node_slot>()) {
        return fail(errc::name_taken, "this system has a node already");
    }
    auto impl = std::make_shared<node_impl>(sys, std::move(opts), std::move(*secret));
    if (auto ok = impl->start(); !ok) {
        return troupe::unexpected(ok.error());
    }
    auto slot = sys.extension<node_slot>([&] { return new node_slot(impl); });
    if (!slot || slot->node != impl) {
        impl->close();
        return fail(errc::name_taken, "this system has a node already");
    }
    return std::shared_ptr<node>(impl);
}

} // namespace troupe::net
