// Part of troupe. See LICENSE at the repository root.

#include <troupe/mailbox/overflow_policy.hpp>

#include <ostream>

namespace troupe {

std::ostream& operator<<(std::ostream& os, overflow_policy p) { return os << to_string(p); }

} // namespace troupe
