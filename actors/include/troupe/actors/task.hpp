// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/detail/awaitable.hpp>
#include <troupe/actors/detail/pool.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace troupe {

template <class T = void>
class task;

namespace detail {

struct task_promise_base {
    // Coroutine frames come from the runtime's pool: one per coroutine
    // handler call, often freed on another worker than allocated them.
    static void* operator new(std::size_t size) { return pool_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { pool_deallocate(p, size); }

    std::coroutine_handle<> continuation; // resumed when this task finishes
    std::exception_ptr failure;

    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            if (auto c = h.promise().continuation) {
                return c;
            }
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { failure = std::current_exception(); }

    // Only troupe awaitables may be awaited inside handlers: the actor must
    // know how to resume (on its own turn) and cancel what it waits for.
    template <class A>
    requires troupe_awaitable<std::remove_cvref_t<A>> A && await_transform(A&& a)
    noexcept { return std::forward<A>(a); }
};

template <class T>
struct task_promise : task_promise_base {
    std::optional<T> value;
    task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T take() {
        if (failure) {
            std::rethrow_exception(failure);
        }
        return std::move(*value);
    }
};

template <>
struct task_promise<void> : task_promise_base {
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() {
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
};

} // namespace detail

/// A lazily started coroutine returning `T`: the return type of coroutine
/// handlers (`task<> on(msg&)`, or `task<R>` for a message whose
/// `reply_type` is R) and of helpers they `co_await`.
///
/// While a handler's task is suspended its actor is suspended too
/// (non-reentrant): no user message is handled, system messages are. A stop
/// or cancel completes the pending troupe awaitable with `errc::cancelled`.
/// Inside a task only troupe awaitables can be awaited (ask, send, sleep,
/// other tasks); anything else does not compile.
///
/// **Threading:** a task runs on its actor's turns only; it may resume on a
/// different worker thread than it suspended on (with the usual actor
/// happens-before hand-over).
template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    /// Awaiting a task runs it and resumes the awaiter when it finishes.
    auto operator co_await() && noexcept {
        struct awaiter : detail::awaitable_tag {
            handle_type h;
            bool await_ready() const noexcept { return !h || h.done(); }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept {
                h.promise().continuation = c;
                return h;
            }
            T await_resume() { return h.promise().take(); }
        };
        return awaiter{{}, h_};
    }

    /// @private runtime: gives up ownership of the frame.
    [[nodiscard]] handle_type release() noexcept { return std::exchange(h_, {}); }

private:
    void reset() noexcept {
        if (h_) {
            h_.destroy();
            h_ = {};
        }
    }
    handle_type h_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};
} // namespace detail

} // namespace troupe
