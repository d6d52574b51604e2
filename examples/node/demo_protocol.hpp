// Part of troupe. See LICENSE at the repository root.

#pragma once

// The demo service `troupe-node` publishes: what a peer needs to talk to it.
//   echo    (echo_protocol):    replies with its payload
//   counter (counter_protocol): `bump` adds (told), `increment` adds and
//                               replies with the new count, `get_count` reads

#include <troupe/net/wire_type.hpp>

#include <cstdint>
#include <string>
#include <variant>

namespace troupe_demo {

struct echo {
    using reply_type = std::string;
    std::string payload;
    MSGPACK_DEFINE(payload)
};
using echo_protocol = echo;

struct bump {
    std::int64_t by = 1;
    MSGPACK_DEFINE(by)
};
struct increment {
    using reply_type = std::int64_t;
    std::int64_t by = 1;
    MSGPACK_DEFINE(by)
};
struct get_count {
    using reply_type = std::int64_t;
    std::uint8_t unused = 0;
    MSGPACK_DEFINE(unused)
};
using counter_protocol = std::variant<bump, increment, get_count>;

} // namespace troupe_demo

TROUPE_WIRE_TYPE(::troupe_demo::echo, "troupe_demo.echo", 1);
TROUPE_WIRE_TYPE(::troupe_demo::bump, "troupe_demo.bump", 1);
TROUPE_WIRE_TYPE(::troupe_demo::increment, "troupe_demo.increment", 1);
TROUPE_WIRE_TYPE(::troupe_demo::get_count, "troupe_demo.get_count", 1);
