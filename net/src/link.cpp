// Part of troupe. See LICENSE at the repository root.

#include <troupe/net/detail/link.hpp>

namespace troupe::net::detail {
namespace {

// The codec's link on this thread: set by `link_scope` around the encoding
// and decoding of one message (or one inbound batch), read by `ref_codec`.
thread_local link* current = nullptr;

} // namespace

link* current_link() noexcept { return current; }

link_scope::link_scope(link& over) noexcept : previous_(current) { current = &over; }

link_scope::~link_scope() { current = previous_; }

} // namespace troupe::net::detail
