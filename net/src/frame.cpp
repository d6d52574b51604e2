// Part of troupe. See LICENSE at the repository root.

#include "frame.hpp"

#include <algorithm>
#include <limits>

namespace troupe::net::internal {

std::string_view to_string(frame_kind k) noexcept {
    switch (k) { // no default: -Wswitch flags a new enumerator
    case frame_kind::hello: return "hello";
    case frame_kind::auth: return "auth";
    case frame_kind::refuse: return "refuse";
    case frame_kind::heartbeat: return "heartbeat";
    case frame_kind::bye: return "bye";
    case frame_kind::credit: return "credit";
    case frame_kind::batch: return "batch";
    case frame_kind::tell: return "tell";
    case frame_kind::ask: return "ask";
    case frame_kind::reply: return "reply";
    case frame_kind::lookup: return "lookup";
    case frame_kind::lookup_reply: return "lookup_reply";
    case frame_kind::spawn: return "spawn";
    case frame_kind::monitor: return "monitor";
    case frame_kind::demonitor: return "demonitor";
    case frame_kind::down: return "down";
    case frame_kind::exit: return "exit";
    case frame_kind::stop: return "stop";
    case frame_kind::sealed: return "sealed";
    }
    return "unknown";
}

void wire_writer::str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data()); // NOLINT: byte view of chars
    out_.insert(out_.end(), p, p + s.size());
}

void wire_writer::blob(byte_view b) {
    u32(static_cast<std::uint32_t>(b.size()));
    raw(b);
}

std::size_t wire_writer::begin_frame(frame_kind kind) {
    const std::size_t offset = out_.size();
    u32(0);
    u8(static_cast<std::uint8_t>(kind));
    return offset;
}

void wire_writer::end_frame(std::size_t offset) {
    const auto len = static_cast<std::uint32_t>(out_.size() - offset - frame_prefix_size);
    for (std::size_t i = 0; i < frame_prefix_size; ++i) {
        out_[offset + i] = static_cast<std::byte>((len >> (8 * i)) & 0xffU);
    }
}

std::string wire_reader::str(std::size_t max) { return std::string(text(max)); }

std::string_view wire_reader::text(std::size_t max) {
    auto b = blob(max);
    return {reinterpret_cast<const char*>(b.data()), b.size()}; // NOLINT: chars of bytes
}

byte_view wire_reader::blob(std::size_t max) {
    const std::uint32_t n = u32();
    if (!ok_ || n > max || n > remaining()) {
        ok_ = false;
        return {};
    }
    auto b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
}

byte_view wire_reader::rest() noexcept {
    if (!ok_) {
        return {};
    }
    auto b = in_.subspan(pos_);
    pos_ = in_.size();
    return b;
}

expected<std::uint32_t> frame_reader::length_of(const std::byte* p) const {
    std::uint32_t len = 0;
    for (std::size_t i = 0; i < frame_prefix_size; ++i) {
        len |= static_cast<std::uint32_t>(p[i]) << (8 * i); // NOLINT: bounded by the caller
    }
    if (len < min_frame_length) {
        return fail(errc::malformed, "a frame length of 0");
    }
    if (len > max_length_) {
        return fail(errc::malformed, "a frame of " + std::to_string(len) +
                                         " bytes announced; the maximum is " +
                                         std::to_string(max_length_));
    }
    return len;
}

} // namespace troupe::net::internal
