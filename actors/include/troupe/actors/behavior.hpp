// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/detail/cell_impl.hpp>
#include <troupe/actors/detail/message.hpp>

#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe {

/// Most behaviours one actor's stack holds (`become(b, become_mode::stack)`).
inline constexpr std::size_t max_behavior_depth = detail::max_behavior_depth;

namespace detail {

/// The handlers of a behaviour, seen as the runtime sees a class actor's:
/// `on(M&)` and `on(M&, response_promise<R>)` for what `F` accepts.
template <class F>
struct behavior_handlers {
    F f;
    template <class M, class R>
    requires std::is_invocable_v<F&, M&, response_promise<R>>
    decltype(auto) on(M& m, response_promise<R>&& reply) { return f(m, std::move(reply)); }
    template <class M>
    requires std::is_invocable_v<F&, M&>
    decltype(auto) on(M& m) { return f(m); }
};

/// One overload set from several lambdas.
template <class... Fs>
struct overloads : Fs... {
    using Fs::operator()...;
};

/// True if `F` is a handler for `M`, in any of the handler forms.
template <class F, class M>
inline constexpr bool handles_message_v = handles<behavior_handlers<F>, M>;

/// True if `F` handles at least one message type of `Protocol`.
template <class Protocol, class F>
struct handles_any : std::bool_constant<handles_message_v<F, Protocol>> {};
template <class... Ms, class F>
struct handles_any<std::variant<Ms...>, F>
    : std::disjunction<std::bool_constant<handles_message_v<F, Ms>>...> {};

/// A behaviour for `Protocol` made of the overload set `F`: the message
/// types `F` handles go to it, the others to the class's handlers.
template <class Protocol, class F>
class behavior_impl final : public behavior_base {
public:
    explicit behavior_impl(F f) : handlers_{std::move(f)} {}
    bool dispatch(cell& c, envelope& e) override {
        auto& ue = static_cast<user_envelope<Protocol>&>(e);
        if constexpr (requires { std::visit([](auto&) {}, ue.msg); }) {
            return std::visit([&](auto& m) { return dispatch_one(c, m, ue.reply); }, ue.msg);
        } else {
            return dispatch_one(c, ue.msg, ue.reply);
        }
    }

private:
    template <class M>
    bool dispatch_one(cell& c, M& m, ask_state_base*& reply) {
        if constexpr (handles_message_v<F, M>) {
            invoke_handler(handlers_, c, m, reply);
            return true;
        } else {
            return false;
        }
    }
    behavior_handlers<F> handlers_;
};

} // namespace detail

/// A set of handlers an actor speaking `Protocol` can switch to with
/// `become`: one lambda per message type it handles, in the forms of class
/// handlers (`void(M&)`, `R(M&)` for an ask-able M, `task<>`/`task<R>(M&)`,
/// `void(M&, response_promise<R>)`).
///
///     become(behavior<proto>{[this](open&) { ... },
///                            [this](read& r) -> int { return buffer_[r.at]; }});
///
/// Message types the behaviour has no handler for go to the class's `on`
/// overloads (every protocol message has one: the compiler checks it at the
/// spawn), so a state lists only what it changes. Each lambda must handle
/// at least one message type of `Protocol` (a `static_assert` says so).
///
/// **Lifetime:** the lambdas are kept until the behaviour is replaced or
/// popped (then destroyed before the next message is dispatched, so one
/// that calls `become` from inside itself stays valid until it returns), or
/// until the actor restarts or stops. A coroutine lambda that awaits must not
/// use its captures after switching behaviour from a hook (`on_down`, a
/// `then` continuation) while it waits; capture what it needs by value in
/// the coroutine's parameters instead.
/// **Threading:** built anywhere, moved into `become` on the actor's turn.
template <class Protocol>
class behavior {
public:
    template <class... Fs>
    requires(sizeof...(Fs) > 0) explicit behavior(Fs... fs)
        : impl_(make(detail::overloads<Fs...>{std::move(fs)...})) {
        static_assert((detail::handles_any<Protocol, Fs>::value && ...),
                      "a behaviour's lambda handles no message type of the actor's protocol "
                      "(check its parameter type: M& for the protocol's message types)");
    }
    behavior(behavior&&) noexcept = default;
    behavior& operator=(behavior&&) noexcept = default;
    behavior(const behavior&) = delete;
    behavior& operator=(const behavior&) = delete;
    ~behavior() = default;

    /// @private runtime: the handlers (null once taken).
    [[nodiscard]] std::unique_ptr<detail::behavior_base> release() && noexcept {
        return std::move(impl_);
    }

private:
    template <class F>
    static std::unique_ptr<detail::behavior_base> make(F f) {
        return std::make_unique<detail::behavior_impl<Protocol, F>>(std::move(f));
    }
    std::unique_ptr<detail::behavior_base> impl_;
};

} // namespace troupe
