// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/clock.hpp>
#include <troupe/actors/detail/envelope.hpp>
#include <troupe/actors/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace troupe {

namespace detail {
class cell;
}

/// A user message taken out of an actor's stream by an interceptor
/// (`intercepted_message::hold`). It owns the message: destroying it without
/// redelivering makes it a dead letter (`receiver_down`; an ask fails).
///
/// **Threading:** may be moved to and used from any thread (e.g. a clock
/// callback); one owner at a time.
class held_message {
public:
    held_message() noexcept = default;
    held_message(held_message&& o) noexcept;
    held_message& operator=(held_message&& o) noexcept;
    held_message(const held_message&) = delete;
    held_message& operator=(const held_message&) = delete;
    ~held_message();

    /// True while it holds a message.
    explicit operator bool() const noexcept { return e_ != nullptr; }
    /// Puts the message back at the end of its actor's mailbox, where it is
    /// not intercepted again. Subject to the mailbox's bound and policy like
    /// any send; a terminated actor makes it a dead letter.
    send_result redeliver() noexcept;
    /// As `redeliver`, once `delay` has passed on the actor's clock. If the
    /// clock is shut down first, the message becomes a dead letter.
    void redeliver_after(duration delay);

private:
    friend class intercepted_message;
    friend class detail::cell;
    held_message(detail::cell_ptr c, detail::envelope* e) noexcept : cell_(std::move(c)), e_(e) {}
    void dead_letter() noexcept;

    detail::cell_ptr cell_;
    detail::envelope* e_ = nullptr; // owned
};

/// One user message as an interceptor sees it, before its handler, on the
/// receiving actor's turn. The interceptor decides what becomes of it by
/// calling one of the members below (the last call wins); calling none
/// delivers it.
class intercepted_message {
public:
    intercepted_message(const intercepted_message&) = delete;
    intercepted_message& operator=(const intercepted_message&) = delete;
    ~intercepted_message() = default;

    /// The payload's type name.
    [[nodiscard]] std::string_view type_name() const noexcept { return e_->type_name(); }
    /// Handle it now (the default).
    void deliver() noexcept { what_ = fate::deliver; }
    /// Handle it twice, back to back, on the same message object (a handler
    /// that moves out of its message sees the moved-from value the second
    /// time). The second run is skipped when the first fails, pauses the
    /// user lane or starts a coroutine task (the task owns the message). A
    /// duplicated ask replies once; the second reply is late. The extra run
    /// is not counted in `actor_counters::processed`.
    void deliver_twice() noexcept { what_ = fate::twice; }
    /// Discard it: a dead letter with reason `injected_drop` (counted in
    /// `actor_counters::dropped`; an ask fails with `dropped`).
    void drop() noexcept { what_ = fate::drop; }
    /// Fail the actor as if the handler had thrown `why` (exit cause
    /// `exception`); the message is dead-lettered as `handler_failed`.
    void crash(std::string why) {
        what_ = fate::crash;
        why_ = std::move(why);
    }
    /// Take it out of the stream; the interceptor owns it now (see
    /// `held_message`). Until it is redelivered (or dead-lettered) it counts
    /// as `actor_counters::queued`: still the actor's to handle.
    [[nodiscard]] held_message hold() noexcept;
    /// Whatever becomes of this message, handle `earlier` (taken with
    /// `hold` from the same actor) right after it: with `deliver`, a swap of
    /// two messages. If the actor cannot handle it then (it failed or stops),
    /// `earlier` goes back to the end of its mailbox.
    void then_deliver(held_message earlier) noexcept { then_ = std::move(earlier); }

private:
    friend class detail::cell;
    enum class fate : std::uint8_t { deliver, twice, drop, crash, held };
    intercepted_message(detail::cell* c, detail::envelope* e) noexcept : cell_(c), e_(e) {}

    detail::cell* cell_;  // the receiving actor (on its turn)
    detail::envelope* e_; // owned by the cell unless held
    fate what_ = fate::deliver;
    std::string why_;
    held_message then_;
};

/// Sees every user message of one actor before its handler (fault
/// injection, tracing). Called on the actor's own turn only; one instance per
/// actor unless the implementation is thread-safe. It survives restarts. An
/// actor spawned without one pays one test per message.
class message_interceptor {
public:
    virtual ~message_interceptor() = default;
    /// Decides about `m` (see `intercepted_message`). An exception fails the
    /// actor as if its handler had thrown.
    virtual void on_user_message(intercepted_message& m) = 0;
    /// The actor terminates: drop the messages it still holds now, so they
    /// become dead letters before the actor's exit is observed.
    virtual void on_terminate() {}
    /// Checked when an actor is spawned with this interceptor: an error
    /// (`invalid_argument`) refuses the spawn.
    [[nodiscard]] virtual expected<void> check() const { return {}; }
};

} // namespace troupe
