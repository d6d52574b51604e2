// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/message.hpp>
#include <troupe/actors/response_promise.hpp>
#include <troupe/actors/task.hpp>
#include <troupe/actors/type_name.hpp>

#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe::detail {

/// The cell whose behaviour is being constructed on this thread; read by
/// `actor_base`'s constructor so user classes need no context parameter.
cell*& constructing_cell() noexcept;

/// True if `Impl` answers `M` later: its handler takes a response promise.
template <class Impl, class M>
concept defers_reply = askable<M> && requires(Impl& impl, M& m) {
    impl.on(m, std::declval<response_promise<typename M::reply_type>>());
};

/// Runs a handler that takes a response promise (`defers_reply`). The
/// envelope keeps its reference to the ask, so a handler that throws before
/// answering fails the asker with `handler_failed` and the exception's text.
template <class Impl, class M>
void invoke_deferring_handler(Impl& impl, cell& c, M& m, ask_state_base*& reply) {
    using reply_t = typename M::reply_type;
    auto* state = static_cast<ask_state<reply_t>*>(reply);
    if (state != nullptr) {
        state->enter_handler();
    }
    thread_context& ctx = this_thread_context();
    ctx.message = nullptr; // the promise is this handler's way to wait: no stash()
    response_promise<reply_t> promise(boost::intrusive_ptr<ask_state<reply_t>>(state), ctx.trace);
    using result = decltype(impl.on(m, std::move(promise)));
    if constexpr (is_task<result>::value) {
        static_assert(std::is_void_v<typename result::value_type>,
                      "a handler that takes a response_promise answers through it: it returns "
                      "task<void>");
        auto h = impl.on(m, std::move(promise)).release();
        pending_task t;
        t.handle = h;
        t.reply = std::exchange(reply, nullptr); // the task holds the ask until it ends
        t.complete = [](std::coroutine_handle<> raw, void* r) {
            auto typed = std::coroutine_handle<task_promise<void>>::from_address(raw.address());
            typed.promise().take(); // rethrows a failure: the runtime fails the ask
            if (r != nullptr) {
                static_cast<ask_state_base*>(r)->leave_handler();
            }
        };
        c.begin_task(t);
    } else {
        static_assert(std::is_void_v<result>,
                      "a handler that takes a response_promise answers through it: it returns "
                      "void");
        impl.on(m, std::move(promise));
        if (state != nullptr) {
            state->leave_handler();
        }
    }
}

/// Runs a handler that answers by returning (or, for a task, by `co_return`).
template <class Impl, class M>
void invoke_returning_handler(Impl& impl, cell& c, M& m, ask_state_base*& reply) {
    using result = decltype(impl.on(m));
    if constexpr (is_task<result>::value) {
        using value = typename result::value_type;
        this_thread_context().message = nullptr; // the task owns its message: no stash()
        auto h = impl.on(m).release();
        pending_task t;
        t.handle = h;
        t.reply = std::exchange(reply, nullptr);
        t.complete = [](std::coroutine_handle<> raw, void* r) {
            auto typed = std::coroutine_handle<task_promise<value>>::from_address(raw.address());
            auto* state = static_cast<ask_state_base*>(r);
            if constexpr (std::is_void_v<value>) {
                typed.promise().take(); // rethrows a failure
                if (state != nullptr) {
                    static_cast<ask_state<void>*>(state)->set_value();
                }
            } else {
                value v = typed.promise().take();
                if (state != nullptr) {
                    static_cast<ask_state<value>*>(state)->set_value(std::move(v));
                }
            }
        };
        c.begin_task(t);
    } else if constexpr (std::is_void_v<result>) {
        impl.on(m);
        if (reply != nullptr && this_thread_context().message_fate == 0) { // not stashed
            if constexpr (askable<M>) {
                static_assert(std::is_void_v<typename M::reply_type>,
                              "the handler of an ask-able message must return its reply_type");
                static_cast<ask_state<void>*>(reply)->set_value();
            }
        }
    } else {
        result r = impl.on(m);
        if (reply != nullptr && this_thread_context().message_fate == 0) { // not stashed
            if constexpr (askable<M>) {
                using reply_t = typename M::reply_type;
                static_assert(std::is_convertible_v<result, reply_t>,
                              "handler result does not convert to the message's reply_type");
                static_cast<ask_state<reply_t>*>(reply)->set_value(reply_t(std::move(r)));
            }
        }
    }
}

/// True if `Impl` has a handler for `M`: `on(M&)`, or `on(M&, response_promise<R>)`.
template <class Impl, class M>
concept handles = defers_reply<Impl, M> || requires(Impl& impl, M& m) {
    impl.on(m);
};

/// Instantiated only for a message type `M` of the protocol that `Impl` has
/// no handler for: the one diagnostic of that mistake, naming both types in
/// its instantiation context.
template <class Impl, class M>
struct missing_handler {
    static_assert(handles<Impl, M>,
                  "the actor class has no handler for a message type of its protocol: add "
                  "`void on(M&)` (or `R on(M&)` / `task<R> on(M&)` for an ask-able M, or "
                  "`void on(M&, response_promise<R>)`); M is named in this diagnostic's "
                  "\"required from\" line (missing_handler<Impl, M>)");
};

template <class Impl, class M>
void invoke_handler(Impl& impl, cell& c, M& m, ask_state_base*& reply) {
    if constexpr (defers_reply<Impl, M>) {
        invoke_deferring_handler(impl, c, m, reply);
    } else {
        invoke_returning_handler(impl, c, m, reply);
    }
}

/// A cell together with its behaviour `Impl`, built by `Factory` (which
/// captures the spawn arguments, so a restart can build a fresh instance).
template <class Impl, class Factory>
class cell_impl final : public cell {
public:
    using protocol_type = typename Impl::protocol;

    // storage_ is raw memory for the behaviour, which construct_behaviour() builds in place:
    // zeroing it here would be wasted work.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): see above
    cell_impl(system_core& sys, cell* parent, const spawn_options& opts, std::string name,
              Factory f)
        : cell(sys, parent, opts, std::move(name)), factory_(std::move(f)) {}
    cell_impl(const cell_impl&) = delete;
    cell_impl& operator=(const cell_impl&) = delete;
    ~cell_impl() override { destroy_behaviour(); }

    [[nodiscard]] const std::type_info& protocol() const noexcept override {
        return typeid(protocol_type);
    }
    [[nodiscard]] std::string_view behaviour_name() const noexcept override {
        return type_name<Impl>();
    }

protected:
    void dispatch(envelope& e) override {
        if (behavior_base* b = current_behavior(); b != nullptr && b->dispatch(*this, e)) {
            return; // a behaviour installed by become() had a handler for it
        }
        auto& ue = static_cast<user_envelope<protocol_type>&>(e);
        Impl& impl = *std::launder(reinterpret_cast<Impl*>(&storage_));
        if constexpr (requires { std::visit([](auto&) {}, ue.msg); }) {
            std::visit([&](auto& m) { dispatch_one(impl, m, ue.reply); }, ue.msg);
        } else {
            dispatch_one(impl, ue.msg, ue.reply);
        }
    }
    actor_base* construct_behaviour() override {
        constructing_cell() = this;
        struct reset {
            reset() = default;
            reset(const reset&) = delete;
            reset& operator=(const reset&) = delete;
            ~reset() { constructing_cell() = nullptr; }
        } guard;
        Impl* p = ::new (static_cast<void*>(&storage_)) Impl(factory_());
        alive_ = true;
        return p;
    }
    void destroy_behaviour() noexcept override {
        if (alive_) {
            alive_ = false;
            std::launder(reinterpret_cast<Impl*>(&storage_))->~Impl();
        }
    }

private:
    // Checked here, where the behaviour type is first known (at spawn): one
    // static_assert per message type without a handler, and nothing else.
    template <class M>
    void dispatch_one(Impl& impl, M& m, ask_state_base*& reply) {
        if constexpr (handles<Impl, M>) {
            invoke_handler(impl, *this, m, reply);
        } else {
            (void)missing_handler<Impl, M>{}; // its instantiation is the diagnostic
        }
    }

    bool alive_ = false; // first: it fits in the cell's tail padding
    [[no_unique_address]] Factory factory_;
    alignas(Impl) std::byte storage_[sizeof(Impl)];
};

/// Behaviour built from a function object: `f(self, msg)` or `f(msg)`; a
/// deferred reply: `f(self, msg, promise)` or `f(msg, promise)`.
template <class Protocol, class F>
class function_actor final : public actor<Protocol> {
public:
    explicit function_actor(F f) : f_(std::move(f)) {}

    template <class M, class R>
    requires std::is_invocable_v < F&, actor<Protocol>
    &, M&,
        response_promise < R >> || (!std::is_invocable_v<F&, actor<Protocol>&, M&> &&
                                    std::is_invocable_v<F&, M&, response_promise<R>>)decltype(auto)
                                       on(M& m, response_promise<R>&& reply) {
        if constexpr (std::is_invocable_v<F&, actor<Protocol>&, M&, response_promise<R>>) {
            return f_(static_cast<actor<Protocol>&>(*this), m, std::move(reply));
        } else {
            return f_(m, std::move(reply));
        }
    }

    template <class M>
    decltype(auto) on(M& m) {
        if constexpr (std::is_invocable_v<F&, actor<Protocol>&, M&>) {
            return f_(static_cast<actor<Protocol>&>(*this), m);
        } else {
            static_assert(std::is_invocable_v<F&, M&>,
                          "a function behaviour must accept (actor<P>&, Msg&) or (Msg&) for every "
                          "message of the protocol");
            return f_(m);
        }
    }

private:
    F f_;
};

} // namespace troupe::detail
