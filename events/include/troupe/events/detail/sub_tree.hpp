// Part of troupe. See LICENSE at the repository root.
// The subscriber set of one topic, as the registry's publishers read it. Not public API.

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace troupe::events::detail {

struct sub_base;

/// One node of a persistent (path-copying) AVL tree of subscriptions, in delivery order:
/// priority descending, then subscription order (`sub_base::order`) ascending. An empty tree is
/// a null `sub_tree`.
///
/// Why this structure: publishers must walk a topic's subscribers without a lock while
/// subscribe/unsubscribe change them. A sorted vector published copy-on-write made every change
/// copy the whole list (O(n), so O(n^2) to subscribe n callbacks to one topic). A change to
/// this tree copies only the path from the root to the changed position, O(log n) nodes, and
/// shares every other node with the previous version, which readers may still be walking.
///
/// **Threading:** nodes are immutable once built, so any number of threads may walk a tree
/// while one writer at a time (the registry, under its mutex) builds the next version from it.
/// **Memory ordering:** none of its own; trees are handed to readers through a `snapshot`
/// (release/acquire), which makes a node's contents visible before its root is loaded.
/// **Progress:** `tree_insert` and `tree_erase` run in O(log n) and allocate O(log n) nodes;
/// releasing the replaced version frees the O(log n) nodes no longer shared. `tree_for_each`
/// runs in O(n) and never allocates.
struct sub_node {
    std::shared_ptr<sub_base> sub;
    std::shared_ptr<const sub_node> left;
    std::shared_ptr<const sub_node> right;
    std::uint8_t height = 1; // of this subtree; a leaf is 1
};
using sub_tree = std::shared_ptr<const sub_node>;

/// An AVL tree of n nodes is lower than 1.4405 log2(n + 2), so below 93 for any n that fits
/// in memory: the walk's fixed stack never overflows.
inline constexpr std::size_t max_sub_tree_height = 96;

/// `t` with `s` added: after every subscription of higher priority, or of equal priority and
/// lower `order`. `t` itself is unchanged.
/// @pre `s` is not in `t` and no subscription in `t` has the same `order`.
[[nodiscard]] sub_tree tree_insert(const sub_tree& t, const std::shared_ptr<sub_base>& s);

/// `t` without `s` (found by priority and `order`); `t` itself when `s` is not in it.
[[nodiscard]] sub_tree tree_erase(const sub_tree& t, const sub_base& s);

/// Calls `f(sub_base&)` for each subscription of `root` (may be null) in delivery order.
/// Iterative, with a fixed stack: no recursion, no allocation.
template <class F>
void tree_for_each(const sub_node* root, F&& f) {
    std::array<const sub_node*, max_sub_tree_height> stack{};
    std::size_t depth = 0;
    const sub_node* n = root;
    while (n != nullptr || depth > 0) {
        while (n != nullptr) {
            stack[depth++] = n; // at most the tree's height: see max_sub_tree_height
            n = n->left.get();
        }
        n = stack[--depth];
        f(*n->sub);
        n = n->right.get();
    }
}

} // namespace troupe::events::detail
