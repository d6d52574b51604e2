// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace troupe::detail {

/// A move-only `void()` callable (what C++23 calls `move_only_function`):
/// continuations capture move-only state such as a response promise, which
/// `std::function` cannot hold. One allocation per callable.
class unique_function {
public:
    unique_function() noexcept = default;
    // enable_if rather than requires: clang-tidy 14's forwarding-reference
    // check only recognises the former as excluding unique_function itself.
    template <class F,
              class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
                                       std::is_invocable_v<std::decay_t<F>&>>>
    explicit unique_function(F&& f)
        : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

    void operator()() { impl_->call(); }
    explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

private:
    struct concept_base {
        concept_base() = default;
        concept_base(const concept_base&) = delete;
        concept_base& operator=(const concept_base&) = delete;
        virtual ~concept_base() = default;
        virtual void call() = 0;
    };
    template <class F>
    struct model final : concept_base {
        explicit model(F f) : fn(std::move(f)) {}
        void call() override { fn(); }
        F fn;
    };
    std::unique_ptr<concept_base> impl_;
};

} // namespace troupe::detail
