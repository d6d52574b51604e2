// Part of troupe. See LICENSE at the repository root.

#include "cell_util.hpp"

#include <exception>

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

errc errc_of(dead_letter_reason r) noexcept {
    switch (r) {
    case dead_letter_reason::receiver_down: return errc::receiver_down;
    case dead_letter_reason::handler_failed: return errc::handler_failed;
    case dead_letter_reason::late_reply: return errc::timeout;
    case dead_letter_reason::dropped_newest:
    case dead_letter_reason::dropped_oldest:
    case dead_letter_reason::redirect_failed:
    case dead_letter_reason::injected_drop: return errc::dropped;
    }
    return errc::dropped;
}

} // namespace troupe::internal
