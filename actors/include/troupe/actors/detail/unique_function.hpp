// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace troupe::detail {

/// A move-only `void()` callable (what C++23 calls `move_only_function`):
/// continuations capture move-only state such as a response promise, which
/// `std::function` cannot hold. A callable of at most `inline_size` bytes
/// whose move cannot throw is stored inline (no allocation); a larger one
/// costs one allocation.
class unique_function {
public:
    static constexpr std::size_t inline_size = 56;

    unique_function() noexcept = default;
    // enable_if rather than requires: clang-tidy 14's forwarding-reference
    // check only recognises the former as excluding unique_function itself.
    template <class F,
              class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
                                       std::is_invocable_v<std::decay_t<F>&>>>
    explicit unique_function(F&& f) {
        using fn = std::decay_t<F>;
        if constexpr (fits_inline<fn>) {
            ::new (static_cast<void*>(storage_.data())) fn(std::forward<F>(f));
            ops_ = &inline_ops<fn>;
        } else {
            ::new (static_cast<void*>(storage_.data())) fn*(new fn(std::forward<F>(f)));
            ops_ = &heap_ops<fn>;
        }
    }
    unique_function(unique_function&& other) noexcept : ops_(other.ops_) {
        if (ops_ != nullptr) {
            ops_->move(other.storage_.data(), storage_.data());
            other.ops_ = nullptr;
        }
    }
    unique_function& operator=(unique_function&& other) noexcept {
        if (this != &other) {
            reset();
            if (other.ops_ != nullptr) {
                other.ops_->move(other.storage_.data(), storage_.data());
                ops_ = std::exchange(other.ops_, nullptr);
            }
        }
        return *this;
    }
    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;
    ~unique_function() { reset(); }

    /// Calls the callable; must not be empty.
    void operator()() { ops_->call(storage_.data()); }
    explicit operator bool() const noexcept { return ops_ != nullptr; }

private:
    struct ops {
        void (*call)(void* self);
        void (*move)(void* from, void* to) noexcept; // leaves `from` destroyed
        void (*destroy)(void* self) noexcept;
    };
    template <class F>
    static constexpr bool fits_inline =
        sizeof(F) <= inline_size &&
        alignof(F) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<F>;
    template <class F>
    static constexpr ops inline_ops{
        [](void* self) { (*std::launder(static_cast<F*>(self)))(); },
        [](void* from, void* to) noexcept {
            F* src = std::launder(static_cast<F*>(from));
            ::new (to) F(std::move(*src));
            src->~F();
        },
        [](void* self) noexcept { std::launder(static_cast<F*>(self))->~F(); },
    };
    template <class F>
    static constexpr ops heap_ops{
        [](void* self) { (**std::launder(static_cast<F**>(self)))(); },
        [](void* from, void* to) noexcept { ::new (to) F*(*std::launder(static_cast<F**>(from))); },
        [](void* self) noexcept { delete *std::launder(static_cast<F**>(self)); },
    };
    void reset() noexcept {
        if (ops_ != nullptr) {
            std::exchange(ops_, nullptr)->destroy(storage_.data());
        }
    }

    alignas(std::max_align_t) std::array<std::byte, inline_size> storage_{};
    const ops* ops_ = nullptr;
};
// One cache line: the inline buffer and the operations pointer.
static_assert(sizeof(unique_function) == 64);

/// Names a `then` continuation kept by an actor: the slot it occupies and a
/// sequence number that is never handed out twice by that actor, so a
/// completion that arrives after its continuation was dropped (and its slot
/// reused) finds a different sequence and is ignored.
struct continuation_ticket {
    std::uint64_t seq = 0;
    std::uint32_t slot = 0;
};

} // namespace troupe::detail
