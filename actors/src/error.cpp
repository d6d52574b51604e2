// Part of troupe. See LICENSE at the repository root.

#include <troupe/actors/error.hpp>

namespace troupe {

std::string_view to_string(errc code) noexcept {
    switch (code) { // no default: -Wswitch flags a new enumerator
    case errc::none: return "none";
    case errc::mailbox_full: return "mailbox_full";
    case errc::timeout: return "timeout";
    case errc::receiver_down: return "receiver_down";
    case errc::cancelled: return "cancelled";
    case errc::node_unreachable: return "node_unreachable";
    case errc::dropped: return "dropped";
    case errc::would_block: return "would_block";
    case errc::exception: return "exception";
    case errc::handler_failed: return "handler_failed";
    case errc::invalid_argument: return "invalid_argument";
    case errc::name_taken: return "name_taken";
    case errc::stopped: return "stopped";
    case errc::linked_exit: return "linked_exit";
    case errc::killed: return "killed";
    case errc::type_mismatch: return "type_mismatch";
    case errc::unsupported: return "unsupported";
    case errc::escalated: return "escalated";
    case errc::noproc: return "noproc";
    case errc::broken_promise: return "broken_promise";
    case errc::already_replied: return "already_replied";
    case errc::stash_full: return "stash_full";
    case errc::unknown_type: return "unknown_type";
    case errc::malformed: return "malformed";
    case errc::unauthenticated: return "unauthenticated";
    case errc::incompatible: return "incompatible";
    }
    return "unknown";
}

const error& error::root_cause() const noexcept {
    const error* e = this;
    while (e->cause_) {
        e = e->cause_.get();
    }
    return *e;
}

std::string error::to_string() const {
    std::string out;
    for (const error* e = this; e != nullptr; e = e->cause()) {
        if (e != this) {
            out += " <- ";
        }
        out += troupe::to_string(e->code_);
        if (!e->message_.empty() && e->message_ != troupe::to_string(e->code_)) {
            out += ": ";
            out += e->message_;
        }
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const error& e) { return os << e.to_string(); }
std::ostream& operator<<(std::ostream& os, errc code) { return os << to_string(code); }

} // namespace troupe
