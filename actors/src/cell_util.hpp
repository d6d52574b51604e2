// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/actors/detail/cell.hpp>
#include <troupe/actors/error.hpp>

#include "cell_state.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace troupe::internal {

/// The error an exception in flight stands for (call inside a catch block):
/// its type and `what()`, for `std::exception`s.
[[nodiscard]] error error_from_current_exception();
/// Inside a catch block: the dynamic type of the exception being handled,
/// demangled ("non-standard exception" if it does not derive from
/// std::exception).
[[nodiscard]] std::string current_exception_type();
/// What an asker receives when the handler of its message (`message_type`)
/// failed with `cause` (thrown as `exception_type`): `handler_failed`, with
/// both types and the exception's text, caused by `cause`.
[[nodiscard]] error handler_failure(const error& cause, std::string_view exception_type,
                                    std::string_view message_type);

/// The error a sender's message completes with when it becomes a dead letter.
[[nodiscard]] errc errc_of(dead_letter_reason r) noexcept;
/// Whether a dead letter of reason `r` counts as `dropped` (else
/// `dead_lettered`).
[[nodiscard]] bool is_drop(dead_letter_reason r) noexcept;
/// What a dead letter's ask is failed with: why it died, in words (the
/// error's code already names the category).
[[nodiscard]] std::string_view dead_letter_text(dead_letter_reason r) noexcept;

/// Counts one message into a bucket of `actor_counters`.
inline void bump(std::atomic<std::uint64_t>& counter) noexcept {
    // release: pairs with the acquire in cell::counters(); a snapshot that
    // sees this message here sees it sent, and out of the bucket it left.
    counter.fetch_add(1, std::memory_order_release);
}

/// How long `o`'s actor may take to stop before its parent kills it.
[[nodiscard]] inline duration shutdown_timeout_of(const detail::cell_options* o) noexcept {
    return o != nullptr ? o->shutdown_timeout : duration::max();
}

/// Posts `call(fn)` to `target` when the clock reaches `at`; 0 if never.
template <class F>
timer_id call_at(clock& clk, time_point at, detail::cell_ptr target, F fn) {
    if (at == time_point::max()) {
        return 0;
    }
    return clk.schedule_at(at, [target = std::move(target), fn = std::move(fn)] {
        auto* e = new detail::system_envelope(detail::sys_kind::call);
        e->callback = [fn](const error&) { fn(); };
        target->enqueue_system(e);
    });
}

/// `mailbox_node::owner_flags` of a user message handed back by an
/// interceptor (`held_message::redeliver`): it is not intercepted again.
constexpr std::uint8_t redelivered_flag = 1;

} // namespace troupe::internal
