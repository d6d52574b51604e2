// Part of troupe. See LICENSE at the repository root.
//
// Typed publish/subscribe over `/`-separated topics (docs/contract.md "Events").

#pragma once

#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/actors/type_name.hpp>
#include <troupe/events/detail/core.hpp>
#include <troupe/events/event.hpp>
#include <troupe/events/pattern.hpp>
#include <troupe/events/subscription.hpp>
#include <troupe/events/system_topics.hpp>
#include <troupe/events/topic.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>

namespace troupe::events {

/// Options of one topic, given when it is declared.
struct topic_options {
    /// Keep the last published event; `registry::last` returns it and
    /// subscribers with `receive_retained` get it on subscribing.
    bool retain_last = false;
};

/// Options of one subscription.
template <class T>
struct subscribe_options {
    /// Only events whose payload passes are delivered (runs on the publisher's thread).
    std::function<bool(const T&)> filter{};
    /// Higher first; equal priorities in subscription order.
    int priority = 0;
    /// Deliver at most one event (even under concurrent publishers), then unsubscribe.
    bool once = false;
    /// Unsubscribe when this actor terminates (actor subscribers are always
    /// bound to themselves).
    actor_addr bound_to{};
    /// Unsubscribe when this token is cancelled.
    std::stop_token stop{};
    /// On subscribing, deliver the retained last event of every matching topic that has one.
    bool receive_retained = false;
};

/// A subscription was added or removed (for the net module's propagation).
struct subscription_change {
    bool subscribed = true; ///< false: removed
    std::string pattern;
    std::string_view payload_type;
    std::uint64_t id = 0;
};

/// A callback subscriber threw.
struct callback_failure {
    std::uint64_t subscription_id = 0;
    std::string topic;
    std::string what;
};

/// The event registry of one `troupe::system`.
///
/// Ownership: the user constructs it, once per system, after the system (it
/// adds hooks to the system's dead-letter and supervision hook lists, which
/// it removes again), and destroys it before the system (declare it after
/// the system). While it lives, `events(sys)` finds
/// it. Topics are declared with one payload type; they are never removed.
///
/// **Threading:** every member may be called from any thread, including
/// actor handlers and callbacks. Publishing takes no lock and never waits,
/// except for an actor subscriber with the `block` policy when published
/// from a plain thread (see below):
/// it walks an immutable snapshot of the topic's subscribers in delivery
/// order (a persistent B+ tree, `detail::sub_set`; a matching subscribe or
/// unsubscribe publishes a new version that copies O(log n) nodes and shares
/// the rest) and, for actor subscribers, enqueues per the subscriber's
/// overflow policy (a `block` policy subscriber is not waited for from a
/// worker; avoid it). The one exception is a `once` subscription, which the
/// publisher that fires it removes (taking the mutex below).
/// Subscribe/unsubscribe/declare serialise on one internal mutex; on a topic
/// with n subscribers each costs O(log n) (a wildcard pattern also re-matches
/// the declared topics).
/// **Memory ordering:** a subscription is visible to publishes that start
/// after `subscribe` returned (release/acquire on the snapshot). After
/// `unsubscribe` returns, no publish that starts later delivers to it; a
/// publish already walking an older snapshot may still deliver the one event
/// it is publishing, or skip it (it checks the subscription's active flag,
/// acquire, just before delivering). Statistics are relaxed.
/// **Lifetimes:** a subscription bound to an actor (every actor subscriber,
/// or `subscribe_options::bound_to`) is removed when that actor exits. The
/// registry watches each such actor with one `system::on_exit` observer,
/// shared by all its bound subscriptions, so an actor that subscribes and
/// unsubscribes repeatedly leaves one observer, not one per subscription
/// (`exit_observer_count()`). One bound to a stop token is removed when the
/// token is cancelled; its `stop_callback` goes with the subscription. A
/// removed subscription (its callback, filter and actor reference) is
/// destroyed by the unsubscribe itself or, if publishes that started before
/// it still run, by the last of them as it ends; never under the mutex.
/// **Failure:** invalid names/patterns fail with `errc::invalid_argument`;
/// a name declared with another payload type fails with
/// `errc::type_mismatch` naming both types. An exception in a callback
/// subscriber is caught, counted (`callback_failures()`) and reported to the
/// failure hook; it never reaches the publisher. An event an actor's mailbox
/// refuses is counted in `undelivered()`; drops become dead letters
/// (published on `troupe/dead_letters` with the topic).
class registry {
public:
    explicit registry(troupe::system& sys);
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;
    ~registry();

    /// Declares (or finds) topic `name` with payload type `T`.
    template <class T>
    expected<topic<T>> declare(std::string_view name, topic_options opts = {}) {
        auto e = core_->declare(name, typeid(T), troupe::type_name<T>(), opts.retain_last);
        if (!e) {
            return troupe::unexpected(e.error());
        }
        return topic<T>(std::move(*e));
    }

    /// Publishes `value` on `t`. Returns how many subscribers it was handed to.
    template <class T, class U>
    requires std::same_as<std::remove_cvref_t<U>, T> std::size_t publish(const topic<T>& t,
                                                                         U&& value) {
        return publish_entry<T>(*t.entry_, std::forward<U>(value));
    }

    /// Publishes on a topic named at run time; declares it with `T` if new.
    /// Fails with `invalid_argument` or `type_mismatch`.
    template <class T>
    expected<std::size_t> publish(std::string_view name, T value) {
        auto e = core_->find(name);
        if (!e) {
            auto d = core_->declare(name, typeid(T), troupe::type_name<T>(), false);
            if (!d) {
                return troupe::unexpected(d.error());
            }
            e = std::move(*d);
        } else if (e->type != std::type_index(typeid(T))) {
            return mismatch(*e, troupe::type_name<T>());
        }
        return publish_entry<T>(*e, std::move(value));
    }

    /// Subscribes actor `ref` (its protocol must accept `event<T>`) to `t`.
    template <class T, class P>
    requires protocol_accepts_v<P, event<T>> expected<subscription>
    subscribe(const topic<T>& t, const actor_ref<P>& ref, subscribe_options<T> opts = {}) {
        return subscribe_actor<T>(t.name(), ref, std::move(opts));
    }
    /// Subscribes callback `fn(const event<T>&)` to `t`; it runs on the publisher's thread.
    template <class T, class F>
    requires std::invocable < F&, const event<T>
    & > expected<subscription> subscribe(const topic<T>& t, F fn, subscribe_options<T> opts = {}) {
        return subscribe_callback<T>(t.name(), std::move(fn), std::move(opts));
    }
    /// Subscribes actor `ref` to every topic of payload type `T` matching `pat`
    /// (topics of other types are not delivered; an exact pattern declares the topic).
    template <class T, class P>
    requires protocol_accepts_v<P, event<T>> expected<subscription>
    subscribe(std::string_view pat, const actor_ref<P>& ref, subscribe_options<T> opts = {}) {
        return subscribe_actor<T>(pat, ref, std::move(opts));
    }
    /// Subscribes callback `fn` to every topic of payload type `T` matching `pat`.
    template <class T, class F>
    requires std::invocable < F&, const event<T>
    & > expected<subscription> subscribe(std::string_view pat, F fn,
                                         subscribe_options<T> opts = {}) {
        return subscribe_callback<T>(pat, std::move(fn), std::move(opts));
    }

    /// The retained last event of `t` (empty if none or not retained).
    template <class T>
    [[nodiscard]] std::optional<event<T>> last(const topic<T>& t) const {
        return last_of<T>(*t.entry_);
    }
    /// As above, by name; fails with `type_mismatch`, or `invalid_argument` if unknown.
    template <class T>
    [[nodiscard]] expected<std::optional<event<T>>> last(std::string_view name) const {
        auto e = core_->find(name);
        if (!e) {
            return fail(errc::invalid_argument, "unknown topic '" + std::string(name) + "'");
        }
        if (e->type != std::type_index(typeid(T))) {
            return mismatch(*e, troupe::type_name<T>());
        }
        return last_of<T>(*e);
    }

    /// Called after each subscribe/unsubscribe (on the changing thread; keep it short).
    void set_subscription_hook(std::function<void(const subscription_change&)> h) {
        core_->set_change_hook(std::move(h));
    }
    /// Called when a callback subscriber throws (on the publisher's thread).
    void set_failure_hook(std::function<void(const callback_failure&)> h) {
        core_->set_failure_hook(std::move(h));
    }
    [[nodiscard]] std::uint64_t callback_failures() const noexcept {
        return core_->callback_failures();
    }
    [[nodiscard]] std::uint64_t undelivered() const noexcept { return core_->undelivered(); }
    [[nodiscard]] std::size_t subscription_count() const { return core_->subscription_count(); }
    /// Actors this registry has a `system::on_exit` observer on: one per actor
    /// with actor-bound subscriptions (an actor subscriber, or `bound_to`),
    /// registered with its first one and shared by all of them; it stays until
    /// the actor exits, however often the actor subscribes and unsubscribes
    /// (the actors API cannot take an observer back). A statistic, for tests
    /// and leak checks.
    [[nodiscard]] std::size_t exit_observer_count() const { return core_->exit_observer_count(); }

    /// System topics.
    [[nodiscard]] const topic<dead_letter_event>& dead_letters() const noexcept {
        return dead_letters_;
    }
    [[nodiscard]] const topic<failure_event>& failures() const noexcept { return failures_; }
    [[nodiscard]] const topic<decision_event>& decisions() const noexcept { return decisions_; }

    [[nodiscard]] troupe::system& sys() const noexcept { return core_->sys(); }

private:
    template <class T>
    struct typed_sub : detail::sub_base {
        typed_sub(pattern p, std::function<bool(const T&)> f)
            : sub_base(std::move(p), typeid(T), troupe::type_name<T>()), filter(std::move(f)) {}
        [[nodiscard]] bool accepts(const void* ev) const override {
            return !filter || filter(static_cast<const event<T>*>(ev)->payload);
        }
        std::function<bool(const T&)> filter{};
    };
    template <class T, class P>
    struct actor_sub final : typed_sub<T> {
        actor_sub(pattern p, std::function<bool(const T&)> f, actor_ref<P> r)
            : typed_sub<T>(std::move(p), std::move(f)), ref(std::move(r)) {}
        bool deliver(const void* ev, detail::core& c) override {
            auto r = ref.tell(*static_cast<const event<T>*>(ev));
            if (!r) {
                c.count_undelivered();
                return false;
            }
            return true;
        }
        actor_ref<P> ref;
    };
    template <class T, class F>
    struct callback_sub final : typed_sub<T> {
        callback_sub(pattern p, std::function<bool(const T&)> f, F cb)
            : typed_sub<T>(std::move(p), std::move(f)), fn(std::move(cb)) {}
        bool deliver(const void* ev, detail::core& c) override {
            const auto& e = *static_cast<const event<T>*>(ev);
            try {
                fn(e);
                return true;
            } catch (const std::exception& ex) {
                c.report_callback_exception(*this, e.meta.topic_name(), ex.what());
            } catch (...) {
                c.report_callback_exception(*this, e.meta.topic_name(), "unknown exception");
            }
            return false;
        }
        F fn;
    };

    template <class T, class V>
    std::size_t publish_entry(detail::topic_entry& e, V&& value) {
        event<T> ev{T(std::forward<V>(value)), {}};
        detail::fill_meta(ev.meta, e);
        if (e.retain.load(std::memory_order_relaxed)) {
            e.retained.store(std::make_shared<const event<T>>(ev), std::memory_order_release);
        }
        return core_->dispatch(e, &ev);
    }

    template <class T>
    static std::optional<event<T>> last_of(const detail::topic_entry& e) {
        auto p = e.retained.load(std::memory_order_acquire);
        if (!p) {
            return std::nullopt;
        }
        return *static_cast<const event<T>*>(p.get());
    }

    static tl::unexpected<error> mismatch(const detail::topic_entry& e, std::string_view other);

    template <class T, class P>
    expected<subscription> subscribe_actor(std::string_view pat, const actor_ref<P>& ref,
                                           subscribe_options<T> opts) {
        auto p = pattern::parse(pat);
        if (!p) {
            return troupe::unexpected(p.error());
        }
        opts.bound_to = ref.addr();
        auto filter = std::move(opts.filter);
        auto s = std::make_shared<actor_sub<T, P>>(std::move(*p), std::move(filter), ref);
        return finish<T>(std::move(s), opts);
    }
    template <class T, class F>
    expected<subscription> subscribe_callback(std::string_view pat, F fn,
                                              subscribe_options<T> opts) {
        auto p = pattern::parse(pat);
        if (!p) {
            return troupe::unexpected(p.error());
        }
        auto filter = std::move(opts.filter);
        auto s =
            std::make_shared<callback_sub<T, F>>(std::move(*p), std::move(filter), std::move(fn));
        return finish<T>(std::move(s), opts);
    }
    template <class T>
    expected<subscription> finish(const detail::sub_ptr& s, const subscribe_options<T>& opts) {
        s->priority = opts.priority;
        s->once = opts.once;
        auto id = core_->add(s, opts.bound_to);
        if (!id) {
            return troupe::unexpected(id.error());
        }
        bind_stop_token(s, opts.stop);
        if (opts.receive_retained) {
            for (const auto& e : core_->matching_topics(*s)) {
                auto p = e->retained.load(std::memory_order_acquire);
                if (p && s->active.load(std::memory_order_acquire) && s->accepts(p.get()) &&
                    !(s->once && s->fired.exchange(true, std::memory_order_acq_rel))) {
                    s->deliver(p.get(), *core_);
                    if (s->once) {
                        core_->remove(*id);
                    }
                }
            }
        }
        return subscription(core_, *id);
    }
    void bind_stop_token(const detail::sub_ptr& s, const std::stop_token& st);

    std::shared_ptr<detail::core> core_;
    std::uint64_t dead_letter_hook_ = 0; // ids in the system's hook lists, removed by ~registry
    std::uint64_t failure_hook_ = 0;
    std::uint64_t decision_hook_ = 0;
    topic<dead_letter_event> dead_letters_;
    topic<failure_event> failures_;
    topic<decision_event> decisions_;
};

/// The registry attached to `sys`. Precondition: one exists (throws
/// `std::logic_error` otherwise). Thread-safe.
registry& events(troupe::system& sys);
/// The registry attached to `sys`, or null.
registry* find_registry(troupe::system& sys) noexcept;

} // namespace troupe::events
