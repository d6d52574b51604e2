// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace troupe {

/// Error codes. Values are stable and only appended to: they cross the wire.
enum class errc : std::uint8_t {
    none = 0,         ///< no error (a normal stop carries this code)
    mailbox_full,     ///< the receiver's user lane is at capacity (policy `reject`)
    timeout,          ///< a deadline passed (ask, `block` policy, shutdown)
    receiver_down,    ///< the receiver has stopped; the message became a dead letter
    cancelled,        ///< the operation was cancelled; the cause chain says why
    node_unreachable, ///< the remote node is not connected, or the link to it was lost
    dropped,          ///< the receiver's policy dropped the message (`drop_newest`)
    would_block,      ///< `block` policy used from a scheduler worker, where waiting is refused
    exception,        ///< a handler threw; the message holds `what()`
    handler_failed,   ///< the message's handler failed (dead-letter reason)
    invalid_argument, ///< misuse of the API (bad name, bad option)
    name_taken,       ///< a sibling already has that name
    stopped,          ///< stopped by request (a non-normal stop cause)
    linked_exit,      ///< a linked actor failed; the cause chain holds its error
    killed,           ///< stopped without running `on_stop` (shutdown timeout, kill)
    type_mismatch,    ///< a dynamic lookup found another protocol / payload type
    unsupported,      ///< not available in this build or context
    escalated,        ///< a supervisor gave up on a child failure; the cause holds it
    noproc,           ///< no such actor (a link or monitor of an empty address)
    broken_promise,   ///< a deferred reply's promise was dropped unanswered
    already_replied,  ///< a response promise was used twice
    stash_full,       ///< an actor's stash was at capacity (`actor_base::stash`)
    unknown_type,     ///< net: the receiving node does not know the message's wire type or version
    malformed,        ///< net: a frame or payload failed to decode (bounds, limits, wrong shape)
    unauthenticated,  ///< net: the peer failed (or did not finish) the handshake's authentication
    incompatible,     ///< net: the peer speaks another protocol version
};

/// Returns the enumerator's name, e.g. `"mailbox_full"`.
[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// A failure value: a code, a human-readable message and an optional cause.
///
/// Errors are values at API boundaries (principle 6): cheap to move, copyable,
/// and printable. The cause chain records why (e.g. `cancelled` caused by the
/// parent's `stopped` caused by a `timeout`). Copies share the cause chain,
/// which is immutable once built.
class error {
public:
    /// A default error means "no error" (`errc::none`).
    error() noexcept = default;
    explicit error(errc code, std::string message = {}) noexcept
        : code_(code), message_(std::move(message)) {}
    error(errc code, std::string message, error cause)
        : code_(code), message_(std::move(message)),
          cause_(std::make_shared<const error>(std::move(cause))) {}

    [[nodiscard]] errc code() const noexcept { return code_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// The error that caused this one, or nullptr.
    [[nodiscard]] const error* cause() const noexcept { return cause_.get(); }
    /// True unless the code is `errc::none`.
    explicit operator bool() const noexcept { return code_ != errc::none; }
    /// The innermost error of the cause chain (this one if it has no cause).
    [[nodiscard]] const error& root_cause() const noexcept;

    /// "code: message <- cause-code: cause-message <- ..."
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const error& a, errc b) noexcept { return a.code_ == b; }

private:
    errc code_ = errc::none;
    std::string message_;
    std::shared_ptr<const error> cause_;
};

/// Thrown by a handler (or hook) to fail its actor with exactly `err` as the
/// failure cause, instead of `errc::exception` carrying `what()`.
class error_exception : public std::exception {
public:
    explicit error_exception(error err) : err_(std::move(err)), what_(err_.to_string()) {}
    [[nodiscard]] const error& get() const noexcept { return err_; }
    [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

private:
    error err_;
    std::string what_;
};

std::ostream& operator<<(std::ostream& os, const error& e);
std::ostream& operator<<(std::ostream& os, errc code);

} // namespace troupe
