// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/clock.hpp>
#include <troupe/mailbox/overflow_policy.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

namespace troupe {

/// Sees every user message of one actor before its handler (fault
/// injection, tracing). Called on the actor's own turn only; one instance per
/// actor unless the implementation is thread-safe. It survives restarts.
class message_interceptor {
public:
    enum class action : std::uint8_t {
        deliver, ///< handle the message normally
        drop,    ///< discard it silently (counted as dropped)
        crash,   ///< fail the actor as if the handler had thrown
        /// Handle it twice, back to back, on the same message object (a
        /// handler that moves out of its message sees the moved-from value the
        /// second time). Not done when the first handling fails, stops the
        /// actor's user lane or starts a coroutine task (the task owns the
        /// message). A duplicated ask replies once; the second reply is late.
        /// The extra handling is not counted in `actor_counters::processed`.
        duplicate,
        /// Keep it back and handle it right after the next user message (a
        /// swap with its successor). At most one message is held; while one
        /// is, `hold` acts as `deliver`. A held message left when the actor
        /// terminates is dead-lettered (`receiver_down`).
        hold,
        /// Take it out and re-deliver it to the back of the mailbox after
        /// `delay_for()` (through the system clock). The re-delivered message
        /// is not intercepted again. If the actor has terminated by then it is
        /// dead-lettered (`receiver_down`); if the clock is torn down first it
        /// fails with `receiver_down` without a dead-letter record.
        delay,
    };
    virtual ~message_interceptor() = default;
    virtual action on_user_message(std::string_view type_name) = 0;
    /// How long a message answered with `action::delay` is held back; asked
    /// right after that answer, on the same turn.
    virtual duration delay_for() { return duration::zero(); }
};

/// How an actor's mailbox behaves; chosen at spawn, fixed for its lifetime.
struct spawn_options {
    /// Bound of the user lane. A bound, not a preallocation: an idle actor
    /// costs the same at 16 or 1,000,000.
    std::uint32_t capacity = 1024;
    /// What a send to a full user lane does (see `overflow_policy`).
    overflow_policy policy = overflow_policy::reject;
    /// How long a `block` (or `suspend`, from a plain thread) sender waits.
    duration block_timeout = std::chrono::seconds(1);
    /// Target of `redirect`; must be set (and of the same protocol) for it.
    actor_addr redirect_to;
    /// Receive exit signals of linked actors in `on_exit` instead of stopping.
    bool trap_exits = false;
    /// Messages one actor may handle per turn before yielding its worker.
    std::uint32_t throughput = 64;
    /// How long the parent's ordered stop waits for this actor before killing
    /// it (exit cause `killed` <- `timeout`). `duration::max()`: wait forever
    /// (infinity); zero: kill at once without `on_stop` (brutal kill).
    duration shutdown_timeout = duration::max();
    /// Optional per-actor interceptor of user messages; null (the default)
    /// costs one pointer test per message.
    std::shared_ptr<message_interceptor> interceptor;
};

} // namespace troupe
