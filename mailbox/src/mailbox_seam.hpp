// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/mailbox/mailbox.hpp>

#include <cstdint>

namespace troupe::detail {

/// The interleaving seam of `mailbox::reserve()`. tests/mailbox compiles
/// mailbox.cpp a second time with TROUPE_MAILBOX_TEST_SEAM defined and
/// supplies `mailbox_pause`, which then runs at each point below, so a test
/// can let "other threads" push and pop exactly there, deterministically.
/// The library build compiles the calls away.
enum class mailbox_pause_point : std::uint8_t {
    after_snapshot,   ///< the pre-check read reserved_, found the hint full, will read released_
    before_increment, ///< the pre-check passed; reserved_ is about to be incremented
    after_increment,  ///< reserved_ taken, the hint said full, will read released_
};

#if defined(TROUPE_MAILBOX_TEST_SEAM)
void mailbox_pause(mailbox& mb, mailbox_pause_point at) noexcept;
#else
inline void mailbox_pause(mailbox& /*mb*/, mailbox_pause_point /*at*/) noexcept {}
#endif

} // namespace troupe::detail
