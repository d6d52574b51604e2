// Part of troupe. See LICENSE at the repository root.
// Internals of the registry, needed by its templates. Not public API.

#pragma once

#include <troupe/actors/expected.hpp>
#include <troupe/events/detail/snapshot.hpp>
#include <troupe/events/detail/sub_tree.hpp>
#include <troupe/events/event.hpp>
#include <troupe/events/pattern.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace troupe {
class actor_addr;
class system;
} // namespace troupe

namespace troupe::events {
struct subscription_change;
struct callback_failure;
} // namespace troupe::events

namespace troupe::events::detail {

class core;

/// One subscription. Immutable after insertion except the atomics (and `stop_cb`, set once by
/// the subscribing thread).
struct sub_base {
    sub_base(pattern p, std::type_index t, std::string_view tn)
        : pat(std::move(p)), type(t), type_name(tn) {}
    sub_base(const sub_base&) = delete;
    sub_base& operator=(const sub_base&) = delete;
    virtual ~sub_base() = default;
    /// Filter check on the type-erased `event<T>`.
    [[nodiscard]] virtual bool accepts(const void* ev) const = 0;
    /// Delivers the type-erased `event<T>`; true if handed over.
    virtual bool deliver(const void* ev, core& c) = 0;

    std::uint64_t id = 0;
    std::uint64_t order = 0; // set by core::add before publishing; with priority, the tree key
    int priority = 0;
    bool once = false;
    pattern pat;
    std::type_index type;
    std::string_view type_name;
    std::atomic<bool> fired{false}; // once: the first exchange wins
    std::atomic<bool> active{true}; // cleared by unsubscribe (publishers skip it)
    std::uint64_t bound_actor = 0;  // id of the actor whose exit removes it (0: none); set by add
    // Unsubscribes when the bound token is cancelled; destroyed outside core's lock.
    std::optional<std::stop_callback<std::function<void()>>> stop_cb;
};
using sub_ptr = std::shared_ptr<sub_base>;

/// The process-wide copy of a topic name: stable for the life of the process,
/// so events can point at it without sharing ownership (copying an event then
/// touches no shared cache line). Topic names are few; they are never freed.
/// Thread-safe.
const std::string* intern_topic_name(std::string_view name);

struct topic_entry {
    topic_entry(std::string_view n, std::type_index t, std::string_view tn)
        : name(intern_topic_name(n)), type(t), type_name(tn) {}
    const std::string* name; // interned, never null
    std::type_index type;
    std::string_view type_name;
    std::atomic<bool> retain{false};
    std::atomic<std::uint64_t> sequence{0};
    sub_set subs;                  // the subscribers in delivery order (changed under core's mutex)
    snapshot<const void> retained; // an event<T>
};
using entry_ptr = std::shared_ptr<topic_entry>;

/// Thread-local: topic being published on this thread (for dead letters).
const std::string* current_publish_topic() noexcept;
struct publish_scope {
    explicit publish_scope(const std::string* t) noexcept;
    ~publish_scope();
    publish_scope(const publish_scope&) = delete;
    publish_scope& operator=(const publish_scope&) = delete;
    const std::string* prev;
};

/// Fills the metadata of a publish happening now on this thread.
void fill_meta(event_meta& m, topic_entry& e);

struct sv_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

class core : public std::enable_shared_from_this<core> {
public:
    explicit core(troupe::system& sys) : sys_(sys) {}
    core(const core&) = delete;
    core& operator=(const core&) = delete;
    ~core();

    [[nodiscard]] troupe::system& sys() const noexcept { return sys_; }

    /// Finds or creates a topic of type `t`. Fails with invalid_argument or type_mismatch.
    expected<entry_ptr> declare(std::string_view name, std::type_index t, std::string_view tn,
                                bool retain);
    /// Lock-free lookup (null if not declared).
    [[nodiscard]] entry_ptr find(std::string_view name) const;
    /// Inserts `s` (pattern already parsed) and returns its id. For an exact
    /// pattern the topic is declared with the subscription's type. If `bound`
    /// names an actor, `s` is removed when it exits (at once if it already has).
    expected<std::uint64_t> add(const sub_ptr& s, const actor_addr& bound);
    /// Removes a subscription; false if it was not there.
    bool remove(std::uint64_t id);
    /// Existing topics matched by `s` with the same type (for retained delivery).
    std::vector<entry_ptr> matching_topics(const sub_base& s) const;

    void set_change_hook(std::function<void(const subscription_change&)> h);
    void set_failure_hook(std::function<void(const callback_failure&)> h);
    void report_callback_exception(const sub_base& s, const std::string& topic, std::string what);
    void count_undelivered() noexcept { undelivered_.fetch_add(1, std::memory_order_relaxed); }

    [[nodiscard]] std::uint64_t callback_failures() const noexcept {
        return callback_failures_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t undelivered() const noexcept {
        return undelivered_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::size_t subscription_count() const;
    /// Actors this core has an `on_exit` observer on (see `registry::exit_observer_count`).
    [[nodiscard]] std::size_t exit_observer_count() const;

    /// Runs the subscriber list of `e` over the type-erased event `ev`.
    std::size_t dispatch(topic_entry& e, const void* ev);

private:
    using topic_map = std::unordered_map<std::string, entry_ptr, sv_hash, std::equal_to<>>;
    static constexpr std::size_t shard_count = 64;
    static std::size_t shard_of(std::string_view name) noexcept;
    // Replaced versions (and the subscriptions they may hold last), released after unlocking mu_:
    // destroying a stop_callback under it could deadlock with its callback.
    using trash_bin = std::vector<std::shared_ptr<const void>>;
    // Publish e's tree with s inserted / erased. Caller holds mu_. O(log n) for n subscribers.
    static void insert_into(topic_entry& e, const sub_ptr& s, trash_bin& trash);
    static void erase_from(topic_entry& e, const sub_ptr& s, trash_bin& trash);
    enum class change : std::uint8_t { subscribed, unsubscribed };
    void notify_change(change c, const sub_base& s);
    // The observer of actor `actor` ran: removes its bound subscriptions.
    void on_bound_actor_exit(std::uint64_t actor);

    troupe::system& sys_;
    mutable std::mutex mu_; // serialises every change below; publishers only to end a once
    topic_map topics_;      // guarded by mu_
    // Every subscription, and the wildcard ones again (re-matched when a topic is declared).
    // Hash maps, so that removing one of n subscriptions stays O(1) here.
    std::unordered_map<std::uint64_t, sub_ptr> by_id_;    // guarded by mu_
    std::unordered_map<std::uint64_t, sub_ptr> wildcard_; // guarded by mu_
    std::uint64_t next_id_ = 1;                           // guarded by mu_
    // Per actor with an on_exit observer from this core (one per actor, registered with its
    // first bound subscription, erased when it fires): ids of its bound subscriptions still
    // here. Unsubscribing erases the id but keeps the entry, because system::on_exit offers no
    // way to take the observer back; a later subscription of the same actor reuses it.
    std::unordered_map<std::uint64_t, std::set<std::uint64_t>> watched_; // guarded by mu_
    // Copy-on-write lookup shards for lock-free find(); written under mu_.
    std::array<snapshot<const topic_map>, shard_count> lookup_{};
    snapshot<const std::function<void(const subscription_change&)>> change_hook_;
    snapshot<const std::function<void(const callback_failure&)>> failure_hook_;
    std::atomic<std::uint64_t> callback_failures_{0}; // statistic
    std::atomic<std::uint64_t> undelivered_{0};       // statistic
};

} // namespace troupe::events::detail
