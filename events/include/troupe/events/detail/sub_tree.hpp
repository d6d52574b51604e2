// Part of troupe. See LICENSE at the repository root.
// The subscriber set of one topic, as the registry's publishers read it. Not public API.

#pragma once

#include <troupe/events/detail/snapshot.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace troupe::events::detail {

struct sub_base;

/// Where a subscription goes in delivery order: priority descending, then subscription order
/// ascending. Unique per subscription (`order` is).
struct sub_key {
    int priority;
    std::uint64_t order;
};
[[nodiscard]] constexpr bool delivered_before(const sub_key& a, const sub_key& b) noexcept {
    return a.priority != b.priority ? a.priority > b.priority : a.order < b.order;
}

/// A node of a persistent (path-copying) B+ tree of subscriptions in delivery order: leaves
/// (`sub_leaf`) hold the subscriptions, branches (`sub_branch`) their children, every leaf at
/// the same depth. Immutable once published; owned as `sub_version` describes.
struct sub_node {
    explicit sub_node(bool is_leaf) noexcept : leaf(is_leaf) {}
    bool leaf;              // a sub_leaf, else a sub_branch
    std::uint8_t count = 0; // entries in use, 1 ..= capacity
};

struct sub_leaf : sub_node {
    /// Subscriptions at most; every leaf but the root holds at least half as many.
    static constexpr std::size_t capacity = 32;
    // Entries past count are never read: left uninitialised rather than cleared on every copy.
    sub_leaf() noexcept : sub_node(true) {} // NOLINT(cppcoreguidelines-pro-type-member-init)
    // Entries [0, count), owned by the registry (core::by_id_): see sub_version.
    std::array<sub_base*, capacity> items;
};

struct sub_branch : sub_node {
    /// Children at most; every branch but the root holds at least half as many (the root 2).
    static constexpr std::size_t capacity = 16;
    // As in sub_leaf: entries past count are never read.
    sub_branch() noexcept : sub_node(false) {} // NOLINT(cppcoreguidelines-pro-type-member-init)
    struct entry {
        const sub_node* child;
        sub_key last; // of the child's last subscription: routes lookups
    };
    std::array<entry, capacity> items; // [0, count) in use
};

/// With at least 2 children at the root and half-full nodes below, a tree of depth d holds
/// n >= 2 * 8^(d - 2) * 16 subscriptions: d < 24 for any n of 64 bits, so a walk's fixed stack
/// (one frame per branch level) never overflows.
inline constexpr std::size_t max_sub_tree_depth = 32;
static_assert(sub_leaf::capacity >= 32 && sub_branch::capacity >= 16,
              "smaller nodes make deeper trees: recompute max_sub_tree_depth");
static_assert(sub_leaf::capacity <= 255 && sub_branch::capacity <= 255, "count is 8 bits");

/// Visits the leaves of a tree in delivery order: no recursion, no allocation.
///
/// Use: `for (sub_leaf_cursor c(root); c.leaf() != nullptr; c.next()) { ... }`.
class sub_leaf_cursor {
public:
    /// At the first leaf of `root` (may be null: then at the end).
    // stack_ is written below depth_ before it is read; clearing it all would cost a memset of
    // max_sub_tree_depth frames on every publish.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): see above
    explicit sub_leaf_cursor(const sub_node* root) noexcept {
        if (root != nullptr) {
            descend(root);
        }
    }
    /// The current leaf; null at the end.
    [[nodiscard]] const sub_leaf* leaf() const noexcept { return leaf_; }
    /// Moves to the next leaf (or to the end).
    void next() noexcept {
        leaf_ = nullptr;
        while (depth_ > 0) {
            auto& top = stack_[depth_ - 1];
            if (top.next < top.node->count) {
                descend(top.node->items[top.next++].child);
                return;
            }
            --depth_;
        }
    }

private:
    void descend(const sub_node* n) noexcept {
        while (!n->leaf) {
            const auto* b = static_cast<const sub_branch*>(n);
            stack_[depth_++] = frame{b, 1}; // never past the tree's depth: max_sub_tree_depth
            n = b->items[0].child;
        }
        leaf_ = static_cast<const sub_leaf*>(n);
    }

    struct frame {
        const sub_branch* node;
        std::size_t next; // index of the next child to visit
    };
    std::array<frame, max_sub_tree_depth> stack_; // [0, depth_) in use
    std::size_t depth_ = 0;
    const sub_leaf* leaf_ = nullptr;
};

/// One version of a topic's subscriber tree, as publishers hold it while they walk it.
///
/// Ownership: nodes are plain (no reference counts). The newest version owns its whole tree.
/// When a change replaces version v by v', v' shares every node it did not change, and v
/// keeps the rest: the nodes v' replaced (and the subscription the change removed) plus a
/// reference to v'. So whoever holds a version keeps alive every node and subscription it can
/// reach, through the chain of newer versions, and a version's leftovers are freed only when
/// it and every older version are released. Live subscriptions are owned by the registry's
/// core; `sub_set::clear` empties the tree before the core goes.
///
/// **Threading:** publishers share a version (`root()` only); only the writer that replaced
/// it writes its other fields, before it lets go of its own reference, and only the
/// destructor reads them (after the last reference: ordered by the reference count).
class sub_version {
public:
    explicit sub_version(const sub_node* root) noexcept : root_(root) {}
    sub_version(const sub_version&) = delete;
    sub_version& operator=(const sub_version&) = delete;
    ~sub_version();

    /// The root (null: no subscriber); valid while this version is held.
    [[nodiscard]] const sub_node* root() const noexcept { return root_; }

private:
    friend class sub_set;
    const sub_node* root_;
    // Set once by the writer that replaces this version (all three), read by the destructor.
    mutable std::vector<const sub_node*> replaced_; // this version's nodes the newer one lacks
    mutable std::shared_ptr<sub_base> removed_;     // the subscription that change removed
    mutable std::shared_ptr<const sub_version> newer_;
};

/// The subscribers of one topic: a persistent B+ tree (`sub_node`) published one version at a
/// time (`sub_version`).
///
/// Why this structure: publishers must walk a topic's subscribers without a lock while
/// subscribe/unsubscribe change them. A sorted vector published copy-on-write made every change
/// copy the whole list (O(n), so O(n^2) to subscribe n callbacks to one topic). A change here
/// copies only the nodes on one root-to-leaf path, O(log n) of them, and shares every other
/// node with the versions publishers may still be walking. Wide leaves keep a walk close to a
/// vector scan; nodes without reference counts make a copied entry a plain pointer copy (with
/// `shared_ptr` entries, every copied entry cost an atomic increment and a later decrement).
///
/// **Threading:** `load()` from any thread; `insert`, `erase` and `clear` from one thread at
/// a time (the registry calls them under its mutex).
/// **Memory ordering:** release/acquire on the version cell (`snapshot`): a version's nodes
/// are complete before a publisher can load it, and a subscription inserted before `insert`
/// returned is complete before a publisher that loads the new version reaches it.
/// **Progress:** `load()` copies one reference under the cell's spin bit (as `snapshot`).
/// A change runs in O(log n), allocates O(log n) nodes plus the new version, and returns the
/// replaced version: release it outside any lock (that may destroy a removed subscription).
/// Whoever drops the last reference to old versions, possibly a publisher that held one
/// during many changes, frees what they kept, in time linear in it and without recursion.
class sub_set {
public:
    sub_set() = default;
    sub_set(const sub_set&) = delete;
    sub_set& operator=(const sub_set&) = delete;
    ~sub_set() = default;

    /// The current version; null while nothing was ever subscribed. @threadsafe
    [[nodiscard]] std::shared_ptr<const sub_version> load() const {
        // acquire: pairs with the release store in publish().
        return current_.load(std::memory_order_acquire);
    }

    /// Adds `s` after every subscription delivered before it; returns the replaced version.
    /// @pre `s` is not here, no subscription here has its key, and the caller keeps `s` alive
    /// until it erases it (or clears).
    [[nodiscard]] std::shared_ptr<const sub_version> insert(const std::shared_ptr<sub_base>& s);
    /// Removes `s` (found by its key); returns the replaced version, or null if `s` is not here.
    [[nodiscard]] std::shared_ptr<const sub_version> erase(const std::shared_ptr<sub_base>& s);
    /// Removes every subscription; returns the replaced version (null if there was none).
    [[nodiscard]] std::shared_ptr<const sub_version> clear();

private:
    std::shared_ptr<const sub_version> publish(std::shared_ptr<const sub_version> old,
                                               std::shared_ptr<const sub_version> next,
                                               std::vector<const sub_node*> replaced,
                                               std::shared_ptr<sub_base> removed);

    snapshot<const sub_version> current_; // written by the writer, read by anyone
};

} // namespace troupe::events::detail
