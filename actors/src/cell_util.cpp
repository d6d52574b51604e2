// Part of troupe. See LICENSE at the repository root.

#include "cell_util.hpp"

#include <boost/core/demangle.hpp>

#include <exception>
#include <string>
#include <typeinfo>

namespace troupe::internal {

error error_from_current_exception() {
    try {
        throw;
    } catch (const error_exception& ex) {
        return ex.get();
    } catch (const std::exception& ex) {
        return error{errc::exception, ex.what()};
    } catch (...) {
        return error{errc::exception, "non-standard exception"};
    }
}

std::string current_exception_type() {
    try {
        throw;
    } catch (const std::exception& ex) {
        return boost::core::demangle(typeid(ex).name());
    } catch (...) {
        return "non-standard exception";
    }
}

error handler_failure(const error& cause, std::string_view exception_type,
                      std::string_view message_type) {
    std::string text = "the handler of ";
    text += message_type;
    text += " threw ";
    text += exception_type;
    return error{errc::handler_failed, std::move(text), cause};
}

errc errc_of(dead_letter_reason r) noexcept {
    switch (r) {
    case dead_letter_reason::receiver_down: return errc::receiver_down;
    case dead_letter_reason::handler_failed: return errc::handler_failed;
    case dead_letter_reason::late_reply: return errc::timeout;
    case dead_letter_reason::stash_full: return errc::stash_full;
    case dead_letter_reason::unknown_type: return errc::unknown_type;
    case dead_letter_reason::malformed: return errc::malformed;
    case dead_letter_reason::link_lost: return errc::node_unreachable;
    case dead_letter_reason::mailbox_full: return errc::mailbox_full;
    case dead_letter_reason::link_overflow:
    case dead_letter_reason::dropped_newest:
    case dead_letter_reason::dropped_oldest:
    case dead_letter_reason::redirect_failed:
    case dead_letter_reason::injected_drop: return errc::dropped;
    }
    return errc::dropped;
}

bool is_drop(dead_letter_reason r) noexcept { return errc_of(r) == errc::dropped; }

std::string_view dead_letter_text(dead_letter_reason r) noexcept {
    switch (r) { // no default: -Wswitch flags a new enumerator
    case dead_letter_reason::receiver_down: return "dead letter: the receiver terminated first";
    case dead_letter_reason::handler_failed: return "dead letter: its handler failed";
    case dead_letter_reason::late_reply: return "dead letter: the ask had completed";
    case dead_letter_reason::dropped_newest:
        return "dead letter: refused by the receiver's drop_newest policy";
    case dead_letter_reason::dropped_oldest:
        return "dead letter: evicted by a newer message (drop_oldest)";
    case dead_letter_reason::redirect_failed: return "dead letter: no usable redirect target";
    case dead_letter_reason::injected_drop: return "dead letter: dropped by an interceptor";
    case dead_letter_reason::stash_full: return "dead letter: stashed while the stash was full";
    case dead_letter_reason::unknown_type:
        return "dead letter: its wire type or version is not known on this node";
    case dead_letter_reason::malformed:
        return "dead letter: it arrived from a peer and did not decode";
    case dead_letter_reason::link_lost: return "dead letter: the link to its node was lost first";
    case dead_letter_reason::link_overflow:
        return "dead letter: no room in the outbound queue to its node in time";
    case dead_letter_reason::mailbox_full:
        return "dead letter: it arrived from a peer while the receiver's mailbox was full";
    }
    return "dead letter";
}

} // namespace troupe::internal
