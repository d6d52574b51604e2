// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_addr.hpp>
#include <troupe/actors/hook_list.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace troupe {

/// Why a message was not handled.
enum class dead_letter_reason : std::uint8_t {
    receiver_down,   ///< sent to (or still queued in) an actor that stopped
    dropped_newest,  ///< the receiver's `drop_newest` policy refused it
    dropped_oldest,  ///< evicted by a newer message under `drop_oldest`
    handler_failed,  ///< its handler threw; it is not retried
    late_reply,      ///< a reply that arrived after its ask completed
    redirect_failed, ///< `redirect` had no usable target
    injected_drop,   ///< dropped by an interceptor (fault injection), not by overflow
    stash_full,      ///< its handler stashed it while the stash was at capacity
    unknown_type,    ///< net: arrived from a peer with a wire type (or version) not known here
    malformed,       ///< net: failed to decode (from a peer) or to encode (for one)
    link_lost,       ///< net: queued for a peer whose link was lost before it was sent
    link_overflow,   ///< net: waited too long for room in the outbound queue to a peer
    mailbox_full,    ///< net: arrived from a peer while its receiver's mailbox was full
};
inline constexpr std::size_t dead_letter_reason_count = 13;

/// The enumerator's name (`"dropped_oldest"`).
[[nodiscard]] std::string_view to_string(dead_letter_reason r) noexcept;
std::ostream& operator<<(std::ostream& os, dead_letter_reason r);

/// One message that will never be handled.
struct dead_letter {
    dead_letter_reason reason;
    actor_addr receiver;           ///< may be empty for late replies
    std::string_view message_type; ///< payload type name
    std::uint64_t trace_id = 0;
};

/// The system's dead-letter sink: counts by reason and observer hooks.
///
/// **Threading:** `record` runs on whichever thread the letter died on; the
/// hooks are called there too (see `hook_list`), so they must be short and
/// must not block (the events module publishes from one).
/// **Memory ordering:** counters are relaxed statistics; read them at a
/// quiescent point for exact accounting.
class dead_letter_sink {
public:
    void record(const dead_letter& letter) noexcept;
    [[nodiscard]] std::uint64_t count(dead_letter_reason r) const noexcept {
        return counts_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t total() const noexcept;

    /// Observers of every dead letter: `hooks().add(fn)` / `hooks().remove(id)`.
    [[nodiscard]] hook_list<const dead_letter&>& hooks() noexcept { return hooks_; }

private:
    std::array<std::atomic<std::uint64_t>, dead_letter_reason_count> counts_{}; // statistics
    hook_list<const dead_letter&> hooks_;
};

} // namespace troupe
