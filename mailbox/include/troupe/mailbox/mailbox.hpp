// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace troupe {

namespace detail {
struct mailbox_test_seam; // tests only: reaches the counters (tests/mailbox)
} // namespace detail

/// Which lane of a mailbox a node travels in.
enum class lane : std::uint8_t { user, system };

/// The enumerator's name.
[[nodiscard]] constexpr std::string_view to_string(lane l) noexcept {
    switch (l) { // no default: -Wswitch flags a new enumerator
    case lane::user: return "user";
    case lane::system: return "system";
    }
    return "unknown";
}

/// Intrusive link every message carries; the mailbox never allocates.
struct mailbox_node {
    mailbox_node* next = nullptr; // written by the producer before publication
    lane lane_kind = lane::user;  // immutable once pushed
    std::uint8_t owner_flags = 0; // free for the node's owner (fits the padding after lane_kind)
};

/// Whether producers may take queued user messages back out of a mailbox
/// (`mailbox::evict_oldest`), as overflow policy `drop_oldest` does. Allowing
/// it guards the consumer's lists with a one-byte spinlock; `none` leaves the
/// consumer side wait-free.
enum class mailbox_eviction : std::uint8_t { none, allowed };

/// The enumerator's name.
[[nodiscard]] constexpr std::string_view to_string(mailbox_eviction e) noexcept {
    switch (e) { // no default: -Wswitch flags a new enumerator
    case mailbox_eviction::none: return "none";
    case mailbox_eviction::allowed: return "allowed";
    }
    return "unknown";
}

/// Outcome of `mailbox::push`.
enum class push_result : std::uint8_t {
    accepted,           ///< queued; the consumer is already scheduled or running
    accepted_unblocked, ///< queued and the consumer was idle: the caller must schedule it
    full,               ///< user lane at capacity; ownership stays with the caller
    closed,             ///< the mailbox is closed; ownership stays with the caller
};

/// The enumerator's name.
[[nodiscard]] constexpr std::string_view to_string(push_result r) noexcept {
    switch (r) { // no default: -Wswitch flags a new enumerator
    case push_result::accepted: return "accepted";
    case push_result::accepted_unblocked: return "accepted_unblocked";
    case push_result::full: return "full";
    case push_result::closed: return "closed";
    }
    return "unknown";
}

/// A multi-producer, single-consumer mailbox with a bounded user lane and an
/// unbounded system lane, built on an intrusive lock-free LIFO inbox.
///
/// Producers push with one CAS on `head_`; the consumer takes the whole stack
/// with one exchange and reverses it into private FIFO lists, system lane
/// first. The head also encodes whether the consumer is idle ("blocked"), so
/// the producer that turns an idle mailbox non-empty learns it must schedule
/// the consumer — no extra atomic per message for scheduling.
///
/// Why not Boost.Lockfree here: `queue(n)` preallocates n nodes (capacity
/// would cost memory per idle actor), while this inbox allocates nothing and
/// lets an idle mailbox cost the same at capacity 16 or 1,000,000. It is also
/// faster for this role. bench/mailbox, medians of 3, this 2-core VM:
///
/// | case                                | troupe::mailbox | boost::lockfree::queue | CAF lifo_inbox (unbounded) |
/// |-------------------------------------|-----------------|------------------------|----------------------------|
/// | push+pop, one thread                | 10.0 ns         | 15.6 ns                | 6.1 ns                     |
/// | 8 producers -> 1 consumer (65,534)  | 14.6 M msg/s    | 5.6 M msg/s            | 23.3 M msg/s               |
///
/// The remaining gap to CAF's inbox is the bound (one reservation per push).
///
/// **Threading:** `push`, `evict_oldest`, `size`, `is_closed` from any thread;
/// `fetch`, `pop_system`, `pop_user`, `try_block`, `close` only from the
/// consumer (the actor's current worker).
/// **Memory ordering:** everything a producer wrote before a successful push
/// is visible to the consumer once it popped the node (release CAS / acquire
/// exchange on `head_`).
/// **Progress:** push is lock-free. With `mailbox_eviction::allowed` (policy
/// `drop_oldest`) the consumer's lists are guarded by a one-byte spinlock
/// shared with evicting producers; otherwise the consumer side is wait-free.
class mailbox {
public:
    /// The largest user-lane bound. The slot counters wrap after 2^32
    /// messages and are compared as signed differences (see `has_room`),
    /// which stays exact while a producer's snapshot is fewer than
    /// 2^31 - capacity messages old; 2^30 leaves a billion of margin.
    static constexpr std::uint32_t max_capacity = std::uint32_t{1} << 30;

    /// An empty mailbox whose consumer is idle. `capacity` bounds the user
    /// lane; nothing is preallocated. `eviction` says whether producers may
    /// call `evict_oldest`.
    /// @pre `0 < capacity <= max_capacity`
    mailbox(std::uint32_t capacity, mailbox_eviction eviction) noexcept;
    mailbox(const mailbox&) = delete;
    mailbox& operator=(const mailbox&) = delete;
    ~mailbox() = default; // the owner drains with close() first

    /// Enqueues `n` in its lane. Takes ownership only on `accepted*`.
    /// System nodes are never refused for capacity.
    /// @threadsafe
    [[nodiscard]] push_result push(mailbox_node* n) noexcept;

    /// Moves new arrivals into the consumer's lists. Returns true if any.
    /// @consumer_only
    bool fetch() noexcept;
    /// Next system message, or nullptr. Call `fetch` first.
    /// @consumer_only
    [[nodiscard]] mailbox_node* pop_system() noexcept;
    /// Next user message (frees one unit of capacity), or nullptr.
    /// @consumer_only
    [[nodiscard]] mailbox_node* pop_user() noexcept;
    /// True if the consumer's lists or the inbox may hold messages.
    /// @consumer_only
    [[nodiscard]] bool has_pending() const noexcept;
    /// True if new messages arrived since the last fetch.
    [[nodiscard]] bool has_arrivals() const noexcept {
        // relaxed: a hint; fetch() does the acquire exchange.
        const std::uintptr_t h = head_.load(std::memory_order_relaxed);
        return is_chain(h) && !is_closing(h);
    }
    /// Marks the consumer idle if nothing is pending. Returns false (and stays
    /// active) if messages are pending or arrived: the consumer must keep
    /// going.
    /// @consumer_only
    [[nodiscard]] bool try_block() noexcept;
    /// As `try_block`, but queued user messages do not count: for a consumer
    /// that cannot handle them now (the next push of either lane wakes it).
    /// Pending system messages and any arrival still keep it active.
    /// @consumer_only
    [[nodiscard]] bool try_block_ignoring_user() noexcept;
    /// Marks an idle mailbox active again without a message (e.g. to run a
    /// resumption). Returns true if it was idle: the caller must schedule.
    /// @threadsafe
    [[nodiscard]] bool try_unblock() noexcept;
    /// First half of a two-phase close: later *user* pushes get `closed`,
    /// while system pushes are still accepted and kept for `close()`. Returns
    /// every message queued so far (both lanes, FIFO per lane, system first),
    /// linked by `next`. Lets a dying owner finish its accounting before it
    /// answers the system requests that raced with its death.
    /// @consumer_only
    [[nodiscard]] mailbox_node* close_user_lane() noexcept;
    /// Closes the mailbox for good: every later push gets `closed`. Returns
    /// every message still queued (after `close_user_lane`, the system
    /// messages that arrived since), linked by `next`, system first.
    /// A push that returned `closed` happens after this call (acquire on the
    /// closed head, pairing with its release), so what the owner wrote
    /// before `close()` is visible to that pusher.
    /// @consumer_only
    [[nodiscard]] mailbox_node* close() noexcept;

    /// Removes the oldest queued user message to make room (`drop_oldest`).
    /// Returns nullptr if none could be taken right now. The caller owns the
    /// node and must count it.
    /// @threadsafe @pre constructed with `mailbox_eviction::allowed`
    [[nodiscard]] mailbox_node* evict_oldest() noexcept;

    /// User messages queued or being pushed (a snapshot), at most `capacity`.
    [[nodiscard]] std::uint32_t size() const noexcept {
        // Released first: every released slot was reserved before, so the
        // difference never goes below zero. It can exceed the capacity while
        // refused senders still hold their transient reservation; clamped.
        // Relaxed: a statistic.
        const std::uint32_t released = released_.load(std::memory_order_relaxed);
        const std::uint32_t used = reserved_.load(std::memory_order_relaxed) - released;
        return used < capacity_ ? used : capacity_;
    }
    [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool is_closed() const noexcept {
        // acquire: pairs with the exchange in close().
        return head_.load(std::memory_order_acquire) == closed_tag;
    }

private:
    friend struct detail::mailbox_test_seam;

    /// Whether a reservation numbered `reserved` fits, given the count of
    /// released slots read *after* it. Both counters wrap, and `released` may
    /// be newer than `reserved` (the consumer already freed slots reserved
    /// after the snapshot), so the difference is taken as signed: a negative
    /// one means the snapshot is stale and there is room. An unsigned
    /// difference wraps to ~2^32 there and reads as full (the lost-send bug).
    [[nodiscard]] static constexpr bool has_room(std::uint32_t reserved, std::uint32_t released,
                                                 std::uint32_t capacity) noexcept {
        // Modular conversion (C++20): the two's-complement reading of the gap.
        return static_cast<std::int32_t>(reserved - released) < static_cast<std::int32_t>(capacity);
    }

    // head_ holds a tag or a chain: the newest pushed node (LIFO), whose low
    // bit marks a chain pushed after close_user_lane() (nodes are aligned).
    static constexpr std::uintptr_t active_tag = 0;  // empty, consumer scheduled/running
    static constexpr std::uintptr_t blocked_tag = 1; // empty, consumer idle
    static constexpr std::uintptr_t closed_tag = 2;  // closed for good
    static constexpr std::uintptr_t closing_tag = 3; // user lane closed, no system message yet
    static constexpr std::uintptr_t closing_bit = 1; // on a chain: user lane closed
    static_assert(alignof(mailbox_node) > closing_tag, "tags and the closing bit need free bits");
    [[nodiscard]] static bool is_chain(std::uintptr_t h) noexcept { return h > closing_tag; }
    [[nodiscard]] static bool is_closing(std::uintptr_t h) noexcept {
        return h == closing_tag || (is_chain(h) && (h & closing_bit) != 0);
    }
    [[nodiscard]] static mailbox_node* chain_of(std::uintptr_t h) noexcept {
        // NOLINTNEXTLINE(performance-no-int-to-ptr): h is a node pointer with a tag bit
        return reinterpret_cast<mailbox_node*>(h & ~closing_bit);
    }

    push_result push_node(mailbox_node* n) noexcept;
    bool reserve() noexcept;                    // takes a user-lane slot if one is free
    void release(std::uint32_t n) noexcept;     // consumer (or lock holder) frees slots
    void take_inbox(std::uintptr_t h) noexcept; // appends a LIFO chain to the lists
    mailbox_node* take_all(std::uintptr_t new_head) noexcept; // both close halves
    bool block_if_no_arrivals() noexcept; // the head's active -> blocked step of try_block*

    // The user-lane bound is kept by two counters, so a message does not move
    // one counter between the producer's and the consumer's core twice (the
    // old single counter's cost in fan-in): slots reserved by producers
    // (`reserved_`), and slots released by the consumer (`released_`). A
    // producer compares against `released_hint_`, a lower bound of
    // `released_` kept beside `reserved_`, and reads `released_` only when
    // the hint says full, so the bound stays exact.
    //
    // The consumer's side comes first, the producers' last, and `released_`
    // starts at least `cache_line_size` bytes before `reserved_` and
    // `released_hint_` (a static_assert in the constructor pins it). Each is
    // a naturally aligned 4-byte counter, so it never straddles a line, and
    // the consumer's counter never shares a line with the producers', wherever
    // the mailbox sits: the actor cell needs no cache-line alignment for it
    // (aligned allocation cost ~150 bytes more per idle actor;
    // docs/architecture.md). The members between fill the gap (46 bytes),
    // with `spacing_` and 2 bytes of alignment padding for the rest, so the
    // consumer's lists may still share a line with the producers' counters.
    // `head_` is written by both sides: producers CAS it on every push, the
    // consumer exchanges it on every fetch and CASes it to block; it sits
    // with the producers, whose every message writes it. 72 bytes in all,
    // none of them tail padding.
    //
    // Consumer's side (or the lock holder's, when eviction is allowed).
    std::atomic<std::uint32_t> released_{0}; // single writer; seq_cst store (see reserve())
    mailbox_eviction eviction_;              // immutable
    // Only used when eviction_ is allowed; mutable for has_pending() const.
    mutable std::atomic<bool> locked_{false};
    mailbox_node* user_head_ = nullptr;   // consumer (or lock holder) only
    mailbox_node* user_tail_ = nullptr;   // consumer (or lock holder) only
    mailbox_node* sys_head_ = nullptr;    // consumer (or lock holder) only
    mailbox_node* sys_tail_ = nullptr;    // consumer (or lock holder) only
    std::array<std::byte, 12> spacing_{}; // never read: the rest of the gap
    // Producers' side.
    std::uint32_t capacity_;                        // immutable
    std::atomic<std::uintptr_t> head_{blocked_tag}; // producers CAS; consumer exchanges
    std::atomic<std::uint32_t> reserved_{0};        // producers: seq_cst RMW (see reserve())
    std::atomic<std::uint32_t> released_hint_{0};   // producers: relaxed, a lower bound
};

} // namespace troupe
