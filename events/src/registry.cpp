// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/current_actor.hpp>
#include <troupe/events/registry.hpp>

#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace troupe::events {
namespace detail {

namespace {
thread_local const std::string* tl_topic = nullptr; // topic being dispatched on this thread
thread_local int tl_dead_letter_depth = 0;          // recursion guard of the dead-letter hook
} // namespace

const std::string* current_publish_topic() noexcept { return tl_topic; }
publish_scope::publish_scope(const std::string* t) noexcept : prev(tl_topic) { tl_topic = t; }
publish_scope::~publish_scope() { tl_topic = prev; }

const std::string* intern_topic_name(std::string_view name) {
    static std::mutex mutex;
    static auto* names = new std::unordered_set<std::string>(); // process lifetime
    std::lock_guard lock(mutex);
    return &*names->emplace(name).first; // node-based: addresses are stable
}

void fill_meta(event_meta& m, topic_entry& e) {
    m.topic = e.name;
    // relaxed: only uniqueness and per-topic order of the counter matter.
    m.sequence = e.sequence.fetch_add(1, std::memory_order_relaxed) + 1;
    m.timestamp = std::chrono::system_clock::now();
    m.source_id = troupe::current_actor_id(); // 0 outside actors
    m.trace_id = troupe::outgoing_trace_id();
}

core::~core() {
    // The trees point at the subscriptions by_id_ owns: empty them first, for topic entries
    // that outlive the core (held by topic<T> handles).
    std::vector<std::shared_ptr<const sub_version>> old;
    for (auto& [name, e] : topics_) {
        old.push_back(e->subs.clear());
    }
}

std::size_t core::shard_of(std::string_view name) noexcept {
    return std::hash<std::string_view>{}(name) % shard_count;
}

expected<entry_ptr> core::declare(std::string_view name, std::type_index t, std::string_view tn,
                                  bool retain) {
    if (auto e = find(name)) {
        if (e->type != t) {
            return fail(errc::type_mismatch, "topic '" + std::string(name) + "' has payload type " +
                                                 std::string(e->type_name) + ", not " +
                                                 std::string(tn));
        }
        if (retain) {
            e->retain.store(true, std::memory_order_relaxed);
        }
        return e;
    }
    if (auto ok = validate_topic_name(name); !ok) {
        return troupe::unexpected(ok.error());
    }
    std::vector<std::shared_ptr<const void>> trash;
    std::unique_lock lock(mu_);
    if (auto it = topics_.find(name); it != topics_.end()) {
        lock.unlock();
        return declare(name, t, tn, retain); // lost a race: re-check the type
    }
    auto e = std::make_shared<topic_entry>(std::string(name), t, tn);
    e->retain.store(retain, std::memory_order_relaxed);
    // Only wildcard subscriptions can predate the topic: an exact one declares it first.
    for (const auto& [id, s] : wildcard_) {
        if (s->type == t && s->pat.matches(name)) {
            insert_into(*e, s, trash); // no publisher sees e yet
        }
    }
    topics_.emplace(std::string(name), e);
    auto& shard = lookup_[shard_of(name)];
    auto old = shard.load(std::memory_order_acquire);
    auto copy = old ? std::make_shared<topic_map>(*old) : std::make_shared<topic_map>();
    copy->emplace(std::string(name), e);
    shard.store(std::move(copy), std::memory_order_release);
    trash.push_back(std::move(old));
    return e;
}

entry_ptr core::find(std::string_view name) const {
    auto shard = lookup_[shard_of(name)].load(std::memory_order_acquire);
    if (!shard) {
        return nullptr;
    }
    auto it = shard->find(name);
    return it == shard->end() ? nullptr : it->second;
}

void core::insert_into(topic_entry& e, const sub_ptr& s, trash_bin& trash) {
    trash.push_back(e.subs.insert(s)); // the replaced version: released after unlocking
}

void core::erase_from(topic_entry& e, const sub_ptr& s, trash_bin& trash) {
    if (auto old = e.subs.erase(s)) {
        trash.push_back(std::move(old)); // may hold the last reference to s
    }
}

expected<std::uint64_t> core::add(const sub_ptr& s, const actor_addr& bound) {
    entry_ptr exact_entry;
    if (s->pat.is_exact()) {
        auto e = declare(s->pat.text(), s->type, s->type_name, false);
        if (!e) {
            return troupe::unexpected(e.error());
        }
        exact_entry = std::move(*e);
    }
    trash_bin trash;
    bool first_of_actor = false;
    {
        std::lock_guard lock(mu_);
        s->id = next_id_++;
        s->order = s->id;
        by_id_.emplace(s->id, s);
        if (exact_entry) {
            insert_into(*exact_entry, s, trash);
        } else {
            wildcard_.emplace(s->id, s);
            for (auto& [name, e] : topics_) {
                if (e->type == s->type && s->pat.matches(name)) {
                    insert_into(*e, s, trash);
                }
            }
        }
        if (bound) {
            s->bound_actor = bound.id();
            auto [it, fresh] = watched_.try_emplace(s->bound_actor);
            it->second.insert(s->id);
            first_of_actor = fresh;
        }
    }
    const auto id = s->id;
    notify_change(change::subscribed, *s);
    if (first_of_actor) {
        // One observer per actor, shared by all its bound subscriptions: unsubscribing them
        // one by one leaves nothing behind on the actor. Registered after unlocking and after
        // the change hook: for an actor that already exited it runs at once, on this thread.
        std::weak_ptr<core> weak = weak_from_this();
        sys_.on_exit(bound, [weak, actor = bound.id()](const error&) {
            if (auto c = weak.lock()) {
                c->on_bound_actor_exit(actor);
            }
        });
    }
    return id;
}

void core::on_bound_actor_exit(std::uint64_t actor) {
    std::set<std::uint64_t> ids;
    {
        std::lock_guard lock(mu_);
        auto it = watched_.find(actor);
        if (it == watched_.end()) {
            return;
        }
        ids = std::move(it->second);
        watched_.erase(it); // a later subscription of this actor registers a new observer
    }
    for (const auto id : ids) { // in subscription order
        remove(id);
    }
}

bool core::remove(std::uint64_t id) {
    trash_bin trash;
    sub_ptr s;
    {
        std::lock_guard lock(mu_);
        auto it = by_id_.find(id);
        if (it == by_id_.end()) {
            return false;
        }
        s = std::move(it->second);
        by_id_.erase(it);
        if (s->bound_actor != 0) {
            if (auto w = watched_.find(s->bound_actor); w != watched_.end()) {
                w->second.erase(id); // the entry stays: the actor's observer is still there
            }
        }
        // release: pairs with the acquire load in dispatch(), which then skips s even in a
        // tree loaded before the erase below.
        s->active.store(false, std::memory_order_release);
        if (s->pat.is_exact()) {
            if (auto tit = topics_.find(s->pat.text()); tit != topics_.end()) {
                erase_from(*tit->second, s, trash);
            }
        } else {
            wildcard_.erase(id);
            for (auto& [name, e] : topics_) {
                if (e->type == s->type && s->pat.matches(name)) {
                    erase_from(*e, s, trash);
                }
            }
        }
    }
    notify_change(change::unsubscribed, *s);
    return true; // s and trash released here, outside the lock
}

std::vector<entry_ptr> core::matching_topics(const sub_base& s) const {
    std::vector<entry_ptr> out;
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : topics_) {
        if (e->type == s.type && s.pat.matches(name)) {
            out.push_back(e);
        }
    }
    return out;
}

std::size_t core::subscription_count() const {
    std::lock_guard lock(mu_);
    return by_id_.size();
}

std::size_t core::exit_observer_count() const {
    std::lock_guard lock(mu_);
    return watched_.size();
}

void core::set_change_hook(std::function<void(const subscription_change&)> h) {
    change_hook_.store(
        h ? std::make_shared<const std::function<void(const subscription_change&)>>(std::move(h))
          : nullptr);
}

void core::set_failure_hook(std::function<void(const callback_failure&)> h) {
    failure_hook_.store(
        h ? std::make_shared<const std::function<void(const callback_failure&)>>(std::move(h))
          : nullptr);
}

void core::notify_change(change c, const sub_base& s) {
    if (auto h = change_hook_.load(std::memory_order_acquire)) {
        (*h)(subscription_change{c == change::subscribed, s.pat.text(), s.type_name, s.id});
    }
}

void core::report_callback_exception(const sub_base& s, const std::string& topic,
                                     std::string what) {
    callback_failures_.fetch_add(1, std::memory_order_relaxed);
    if (auto h = failure_hook_.load(std::memory_order_acquire)) {
        try {
            (*h)(callback_failure{s.id, topic, std::move(what)});
        } catch (...) { // a throwing hook must not reach the publisher either
        }
    }
}

std::size_t core::dispatch(topic_entry& e, const void* ev) {
    // Holding the version keeps every node and subscription it reaches alive while it is
    // walked, whatever changes meanwhile (see sub_version); acquire inside load().
    const auto version = e.subs.load();
    if (!version || version->root() == nullptr) {
        return 0;
    }
    publish_scope scope(e.name);
    std::size_t handed = 0;
    // The loops are written out here (not a callback) so the hot loop keeps its state in
    // registers across the subscribers' virtual calls.
    for (sub_leaf_cursor c(version->root()); c.leaf() != nullptr; c.next()) {
        const auto* leaf = c.leaf();
        const auto* item = leaf->items.data();
        const auto* const end = item + leaf->count;
        for (; item != end; ++item) {
            auto& s = **item;
            // acquire: pairs with the release store in remove(); skips it once removed.
            if (!s.active.load(std::memory_order_acquire) || !s.accepts(ev)) {
                continue;
            }
            // acq_rel: the first exchange wins among concurrent publishers (once).
            if (s.once && s.fired.exchange(true, std::memory_order_acq_rel)) {
                continue; // another publisher won
            }
            if (s.deliver(ev, *this)) {
                ++handed;
            }
            if (s.once) {
                remove(s.id);
            }
        }
    }
    return handed;
}

} // namespace detail

namespace {
/// Which registry a system has: a system extension (per system, destroyed
/// with it), not a process-wide map.
struct registry_slot {
    std::mutex mutex;
    registry* current = nullptr; // guarded by mutex; set while the registry lives
};

std::shared_ptr<registry_slot> slot_of(troupe::system& sys) {
    return sys.extension<registry_slot>([] { return std::make_shared<registry_slot>(); });
}
} // namespace

registry::registry(troupe::system& sys) : core_(std::make_shared<detail::core>(sys)) {
    if (auto slot = slot_of(sys)) {
        std::lock_guard lock(slot->mutex);
        if (slot->current != nullptr) {
            throw std::logic_error("troupe::events::registry: the system already has a registry");
        }
        slot->current = this;
    }
    dead_letters_ = *declare<dead_letter_event>(dead_letters_topic);
    failures_ = *declare<failure_event>(failures_topic);
    decisions_ = *declare<decision_event>(decisions_topic);

    std::weak_ptr<detail::core> weak = core_;
    auto dl_entry = dead_letters_.entry_;
    dead_letter_hook_ = sys.dead_letters().hooks().add([weak, dl_entry](const dead_letter& d) {
        if (detail::tl_dead_letter_depth > 0) {
            return; // a dead letter of a dead-letter event: not republished
        }
        auto c = weak.lock();
        if (!c) {
            return;
        }
        ++detail::tl_dead_letter_depth;
        const auto* t = detail::current_publish_topic();
        event<dead_letter_event> ev{dead_letter_event{d.reason, d.receiver,
                                                      std::string(d.message_type), d.trace_id,
                                                      t != nullptr ? *t : std::string()},
                                    {}};
        detail::fill_meta(ev.meta, *dl_entry);
        if (dl_entry->retain.load(std::memory_order_relaxed)) {
            dl_entry->retained.store(std::make_shared<const event<dead_letter_event>>(ev));
        }
        c->dispatch(*dl_entry, &ev);
        --detail::tl_dead_letter_depth;
    });

    // Hold the core weakly: a call in flight may outlive the registry.
    auto f_entry = failures_.entry_;
    failure_hook_ = sys.failure_hooks().add([weak, f_entry](const actor_addr& a, const error& e) {
        if (auto c = weak.lock()) {
            event<failure_event> ev{failure_event{a, e}, {}};
            detail::fill_meta(ev.meta, *f_entry);
            c->dispatch(*f_entry, &ev);
        }
    });
    auto d_entry = decisions_.entry_;
    decision_hook_ = sys.decision_hooks().add(
        [weak, d_entry](const actor_addr& a, const error& e, child_decision d) {
            if (auto c = weak.lock()) {
                event<decision_event> ev{decision_event{a, e, d}, {}};
                detail::fill_meta(ev.meta, *d_entry);
                c->dispatch(*d_entry, &ev);
            }
        });
}

registry::~registry() {
    auto& sys = core_->sys();
    sys.dead_letters().hooks().remove(dead_letter_hook_);
    sys.failure_hooks().remove(failure_hook_);
    sys.decision_hooks().remove(decision_hook_);
    if (auto slot = sys.find_extension<registry_slot>()) {
        std::lock_guard lock(slot->mutex);
        if (slot->current == this) {
            slot->current = nullptr;
        }
    }
}

tl::unexpected<error> registry::mismatch(const detail::topic_entry& e, std::string_view other) {
    return fail(errc::type_mismatch, "topic '" + *e.name + "' has payload type " +
                                         std::string(e.type_name) + ", not " + std::string(other));
}

void registry::bind_stop_token(const detail::sub_ptr& s, const std::stop_token& st) {
    if (!st.stop_possible()) {
        return;
    }
    std::weak_ptr<detail::core> weak = core_;
    const auto id = s->id;
    // Lives in the subscription, so it goes (and deregisters) with it.
    s->stop_cb.emplace(st, std::function<void()>([weak, id] {
                           if (auto c = weak.lock()) {
                               c->remove(id);
                           }
                       }));
}

registry* find_registry(troupe::system& sys) noexcept {
    auto slot = sys.find_extension<registry_slot>();
    if (!slot) {
        return nullptr;
    }
    std::lock_guard lock(slot->mutex);
    return slot->current;
}

registry& events(troupe::system& sys) {
    if (auto* r = find_registry(sys)) {
        return *r;
    }
    throw std::logic_error("troupe::events::events(): no registry constructed for this system");
}

} // namespace troupe::events
