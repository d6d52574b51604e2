// Part of troupe. See LICENSE at the repository root.

#pragma once

// The wire's framing (docs/net.md "Frames"): every frame is
//
//     u32 length (little-endian) | u8 kind | body (length - 1 bytes)
//
// `length` counts the kind byte and the body. A reader checks it against the
// maximum frame size before it keeps a single byte of the body, and never
// allocates what a prefix announces: it holds only bytes that arrived.
//
// Integers on the wire are little-endian; strings and byte runs carry a u32
// length first. `wire_reader` checks every length against the bytes left.

#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>
#include <troupe/net/detail/bytes.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::net::internal {

using detail::byte_view;
using detail::bytes;

/// Size of the length prefix.
inline constexpr std::size_t frame_prefix_size = 4;
/// Smallest `length` a frame can have: the kind byte alone.
inline constexpr std::uint32_t min_frame_length = 1;

/// Every frame kind. Values are the wire's: append only.
enum class frame_kind : std::uint8_t {
    // handshake (net/src/handshake.*)
    hello = 1,
    auth = 2,
    refuse = 3,
    // link upkeep
    heartbeat = 8,
    bye = 9,
    credit = 10,
    // whole frames back to back: the plaintext of a sealed frame
    batch = 11,
    // messages
    tell = 16,
    ask = 17,
    reply = 18,
    // names and watches
    lookup = 24,
    lookup_reply = 25, // also answers a spawn
    spawn = 26,
    monitor = 32,
    demonitor = 33,
    down = 34,
    exit = 35,
    stop = 36, // stops an actor the peer spawned here (its owner terminated)
    // a frame sealed with the link's AEAD key; its plaintext is kind | body
    sealed = 127,
};

[[nodiscard]] std::string_view to_string(frame_kind k) noexcept;

/// The whole size (prefix included) of the frame that starts at `at` in a
/// buffer of whole frames this node wrote; `buf` must hold its prefix.
[[nodiscard]] inline std::size_t frame_size_at(byte_view buf, std::size_t at) noexcept {
    std::uint32_t len = 0;
    for (std::size_t i = 0; i < frame_prefix_size; ++i) {
        len |= static_cast<std::uint32_t>(buf[at + i]) << (8 * i);
    }
    return frame_prefix_size + len;
}

/// Appends little-endian integers, strings and byte runs to a buffer.
class wire_writer {
public:
    explicit wire_writer(bytes& out) noexcept : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    /// u32 length, then the bytes.
    void str(std::string_view s);
    void blob(byte_view b);
    /// The bytes, no length (the rest of a frame).
    void raw(byte_view b) { out_.insert(out_.end(), b.begin(), b.end()); }

    /// Starts a frame of `kind`: writes a placeholder prefix and the kind;
    /// returns the prefix's offset for `end_frame`.
    std::size_t begin_frame(frame_kind kind);
    /// Writes the length of the frame begun at `offset`.
    void end_frame(std::size_t offset);

private:
    // One resize per integer, not one push_back per byte (the encoder's hot path).
    void put(std::uint64_t v, int n) {
        const std::size_t at = out_.size();
        out_.resize(at + static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            out_[at + static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (8 * i)) & 0xffU);
        }
    }
    bytes& out_;
};

/// Reads what `wire_writer` wrote, checking every length against the bytes
/// left. The first failure sticks: later reads return zero values, `ok()`
/// is false.
class wire_reader {
public:
    explicit wire_reader(byte_view in) noexcept : in_(in) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    /// At most `max` bytes (longer fails).
    std::string str(std::size_t max);
    /// As `str`, a view into the input (valid while the input is).
    std::string_view text(std::size_t max);
    /// A view into the input (valid while the input is).
    byte_view blob(std::size_t max);
    /// Everything left.
    byte_view rest() noexcept;
    [[nodiscard]] bool ok() const noexcept { return ok_; }
    /// True if everything was read without a failure.
    [[nodiscard]] bool done() const noexcept { return ok_ && pos_ == in_.size(); }
    [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }

private:
    std::uint64_t get(int n) {
        if (!ok_ || remaining() < static_cast<std::size_t>(n)) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
            v |= static_cast<std::uint64_t>(in_[pos_ + static_cast<std::size_t>(i)]) << (8 * i);
        }
        pos_ += static_cast<std::size_t>(n);
        return v;
    }
    byte_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// One frame as the reader hands it over: a view into the reader's input or
/// its buffer, valid until the next `feed`.
struct frame_view {
    frame_kind kind;
    byte_view body;
};

/// Splits a byte stream into frames.
///
/// **Limits:** a prefix announcing more than `max_length` (or 0) fails the
/// stream with `malformed` at once, before any of the body is kept; the
/// reader buffers at most one partial frame, of bytes that arrived.
/// **Threading:** one thread at a time (the connection's).
class frame_reader {
public:
    explicit frame_reader(std::uint32_t max_length) noexcept : max_length_(max_length) {}

    /// Feeds `in`; calls `on_frame(frame_view)` for each whole frame, in
    /// order. `on_frame` returns false to stop (the rest is dropped, the
    /// reader stays failed). Returns the stream's failure, if any.
    template <class F>
    expected<void> feed(byte_view in, F&& on_frame);

    /// Bytes held for a partial frame.
    [[nodiscard]] std::size_t buffered() const noexcept { return partial_.size(); }
    /// True while a frame (or its prefix) is incomplete.
    [[nodiscard]] bool mid_frame() const noexcept { return !partial_.empty(); }
    [[nodiscard]] std::uint32_t max_length() const noexcept { return max_length_; }
    /// Changes the limit for the frames after the current one (the
    /// handshake's frames are smaller than the link's).
    void set_max_length(std::uint32_t max_length) noexcept { max_length_ = max_length; }

private:
    // The announced length at the start of `p` (4 bytes), or an error.
    [[nodiscard]] expected<std::uint32_t> length_of(const std::byte* p) const;

    std::uint32_t max_length_;
    bytes partial_;
    bool failed_ = false;
};

template <class F>
expected<void> frame_reader::feed(byte_view in, F&& on_frame) {
    if (failed_) {
        return fail(errc::malformed, "the stream failed earlier");
    }
    // Complete a partial frame from the front of `in` first.
    while (!partial_.empty() && !in.empty()) {
        std::size_t need = frame_prefix_size;
        if (partial_.size() >= frame_prefix_size) {
            need += *length_of(partial_.data());
        }
        const std::size_t take = std::min(need - partial_.size(), in.size());
        partial_.insert(partial_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
        in = in.subspan(take);
        if (partial_.size() == frame_prefix_size) {
            auto len = length_of(partial_.data());
            if (!len) {
                failed_ = true;
                partial_.clear();
                return troupe::unexpected(len.error());
            }
            continue;
        }
        if (partial_.size() < need) {
            return {};
        }
        const bool go_on = on_frame(frame_view{static_cast<frame_kind>(partial_[frame_prefix_size]),
                                               byte_view(partial_).subspan(frame_prefix_size + 1)});
        partial_.clear();
        if (!go_on) {
            failed_ = true;
            return {};
        }
    }
    if (!partial_.empty()) {
        return {}; // `in` ran out inside the partial frame
    }
    // Whole frames straight from `in`, without copying.
    while (in.size() >= frame_prefix_size) {
        auto len = length_of(in.data());
        if (!len) {
            failed_ = true;
            return troupe::unexpected(len.error());
        }
        if (in.size() < frame_prefix_size + *len) {
            break;
        }
        const bool go_on = on_frame(frame_view{static_cast<frame_kind>(in[frame_prefix_size]),
                                               in.subspan(frame_prefix_size + 1, *len - 1)});
        in = in.subspan(frame_prefix_size + *len);
        if (!go_on) {
            failed_ = true;
            return {};
        }
    }
    partial_.assign(in.begin(), in.end());
    return {};
}

} // namespace troupe::net::internal
