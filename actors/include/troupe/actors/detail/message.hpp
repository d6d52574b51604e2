// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/ask_state.hpp>
#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/type_name.hpp>

#include <boost/intrusive_ptr.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

namespace troupe {

/// True if `Protocol` (a message type or a `std::variant` of them) accepts `M`.
template <class Protocol, class M>
struct protocol_accepts : std::is_same<Protocol, M> {};
template <class... Ms, class M>
struct protocol_accepts<std::variant<Ms...>, M> : std::disjunction<std::is_same<Ms, M>...> {};
template <class Protocol, class M>
inline constexpr bool protocol_accepts_v =
    protocol_accepts<Protocol, std::remove_cvref_t<M>>::value;

/// The reply type of an ask-able message: `M::reply_type`.
template <class M>
concept askable = requires {
    typename M::reply_type;
};

namespace detail {

template <class T>
std::string_view type_name_of() noexcept {
    return troupe::type_name<T>();
}

/// A user message for an actor speaking `Protocol`: the payload plus, for
/// an ask, the shared reply state.
template <class Protocol>
struct user_envelope final : envelope {
    template <class M>
    explicit user_envelope(M&& m) : msg(std::forward<M>(m)) {}
    user_envelope(const user_envelope&) = delete; // would release reply twice
    user_envelope(user_envelope&&) = delete;
    user_envelope& operator=(const user_envelope&) = delete;
    user_envelope& operator=(user_envelope&&) = delete;
    ~user_envelope() override {
        if (reply != nullptr) {
            reply->release();
        }
    }
    // std::visit throws only on a valueless variant; msg is built once and never assigned (a
    // handler gets the alternative), so it always holds one.
    // NOLINTNEXTLINE(bugprone-exception-escape): see above
    [[nodiscard]] std::string_view type_name() const noexcept override {
        if constexpr (requires { std::visit([](auto&) {}, msg); }) {
            return std::visit(
                [](auto& m) { return type_name_of<std::remove_cvref_t<decltype(m)>>(); }, msg);
        } else {
            return type_name_of<Protocol>();
        }
    }
    void fail(const error& why) noexcept override {
        if (reply != nullptr) {
            reply->fail(why);
        }
    }

    Protocol msg;
    ask_state_base* reply = nullptr; // owned reference, set for asks
};

} // namespace detail
} // namespace troupe
