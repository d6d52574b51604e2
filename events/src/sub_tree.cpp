// Part of troupe. See LICENSE at the repository root.

#include <troupe/events/detail/sub_tree.hpp>
// (own header above; core.hpp completes sub_base)
#include <troupe/events/detail/core.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace troupe::events::detail {
namespace {

using branch_entry = sub_branch::entry;
using node_list = std::vector<const sub_node*>;

sub_key key_of(const sub_base& s) noexcept { return sub_key{s.priority, s.order}; }

const sub_leaf& as_leaf(const sub_node& n) noexcept { return static_cast<const sub_leaf&>(n); }
const sub_branch& as_branch(const sub_node& n) noexcept {
    return static_cast<const sub_branch&>(n);
}

/// Entries a node of this kind holds at least, except at the root.
std::size_t min_fill(const sub_node& n) noexcept {
    return (n.leaf ? sub_leaf::capacity : sub_branch::capacity) / 2;
}

sub_key last_key(const sub_node& n) noexcept {
    return n.leaf ? key_of(*as_leaf(n).items[n.count - 1]) : as_branch(n).items[n.count - 1].last;
}

void free_node(const sub_node* n) noexcept {
    if (n->leaf) {
        std::default_delete<const sub_leaf>{}(&as_leaf(*n));
    } else {
        std::default_delete<const sub_branch>{}(&as_branch(*n));
    }
}

void free_tree(const sub_node* n) noexcept {
    if (n == nullptr) {
        return;
    }
    if (!n->leaf) {
        const auto& b = as_branch(*n);
        for (std::size_t i = 0; i < b.count; ++i) {
            free_tree(b.items[i].child); // recursion as deep as the tree: < max_sub_tree_depth
        }
    }
    free_node(n);
}

void collect_tree(const sub_node* n, node_list& out) {
    if (n == nullptr) {
        return;
    }
    out.push_back(n);
    if (!n->leaf) {
        const auto& b = as_branch(*n);
        for (std::size_t i = 0; i < b.count; ++i) {
            collect_tree(b.items[i].child, out);
        }
    }
}

/// Nodes one change builds or replaces at most: two per level (a split, or a join with a
/// neighbour) plus a new root.
constexpr std::size_t max_change_nodes = 2 * max_sub_tree_depth + 2;

/// The bookkeeping of one change: the nodes it built (freed again if it fails or drops one)
/// and the nodes of the current version it replaced. Fixed arrays: a change allocates only
/// its nodes, the new version and one list of the replaced nodes.
struct change {
    std::array<const sub_node*, max_change_nodes> built{};
    std::size_t built_count = 0;
    std::array<const sub_node*, max_change_nodes> replaced{};
    std::size_t replaced_count = 0;

    change() = default;
    change(const change&) = delete;
    change& operator=(const change&) = delete;
    ~change() {
        for (std::size_t i = 0; i < built_count; ++i) { // left only if it did not complete
            free_node(built[i]);
        }
    }
    void add_built(const sub_node* n) noexcept { built[built_count++] = n; }
    void add_replaced(const sub_node* n) noexcept { replaced[replaced_count++] = n; }
    /// Frees `n`, built by this change but not part of its result.
    void discard(const sub_node* n) noexcept {
        const auto* last = std::remove(built.begin(), built.begin() + built_count, n);
        built_count = static_cast<std::size_t>(last - built.begin());
        free_node(n);
    }
    /// The new nodes now belong to the version made of them.
    void keep_built() noexcept { built_count = 0; }
    [[nodiscard]] node_list replaced_list() const {
        return node_list(replaced.begin(), replaced.begin() + replaced_count);
    }
};

/// One or two nodes (`second` null unless the entries did not fit in one).
struct split {
    const sub_node* first = nullptr;
    const sub_node* second = nullptr;
};

/// A new node of type `Node` holding entries `get(from) .. get(to - 1)`.
template <class Node, class Get>
const sub_node* build(change& c, std::size_t from, std::size_t to, const Get& get) {
    // Default-initialised: entries past count are never read, so they are not cleared.
    auto n = std::make_unique_for_overwrite<Node>();
    n->count = static_cast<std::uint8_t>(to - from);
    for (std::size_t i = from; i < to; ++i) {
        n->items[i - from] = get(i);
    }
    c.add_built(n.get());
    return n.release(); // owned by c until the change completes
}

/// Entries `get(0) .. get(total - 1)` as one node if they fit, else as two halves (each then
/// holds at least the minimum: past the capacity only when a full node gained one or an
/// underfull one joined a neighbour holding more than half).
template <class Node, class Get>
split build_split(change& c, std::size_t total, const Get& get) {
    if (total <= Node::capacity) {
        return {build<Node>(c, 0, total, get), nullptr};
    }
    const auto half = total / 2;
    return {build<Node>(c, 0, half, get), build<Node>(c, half, total, get)};
}

branch_entry entry_of(const sub_node* child) noexcept {
    return branch_entry{child, last_key(*child)};
}

/// A copy of `b` whose children `at .. at + width - 1` are replaced by `r.first` (and
/// `r.second`); as two branches if that no longer fits in one.
split replace_children(change& c, const sub_branch& b, std::size_t at, std::size_t width,
                       const split& r) {
    const std::size_t added = r.second != nullptr ? 2 : 1;
    const auto first = entry_of(r.first);
    const auto second = r.second != nullptr ? entry_of(r.second) : branch_entry{};
    const std::size_t total = b.count - width + added;
    return build_split<sub_branch>(c, total, [&](std::size_t j) {
        if (j < at) {
            return b.items[j];
        }
        if (j < at + added) {
            return j == at ? first : second;
        }
        return b.items[j - added + width];
    });
}

/// The child of `b` whose key range holds `k`: the first whose last key is not before `k`
/// (the last child for a key past them all).
std::size_t route(const sub_branch& b, const sub_key& k) noexcept {
    std::size_t i = 0;
    while (i + 1 < b.count && delivered_before(b.items[i].last, k)) {
        ++i;
    }
    return i;
}

split insert_below(change& c, const sub_node& n, sub_base* s, const sub_key& k) {
    c.add_replaced(&n); // every node on the path is copied
    if (n.leaf) {
        const auto& l = as_leaf(n);
        std::size_t pos = 0;
        while (pos < l.count && !delivered_before(k, key_of(*l.items[pos]))) {
            ++pos;
        }
        return build_split<sub_leaf>(c, l.count + 1u, [&](std::size_t j) {
            return j < pos ? l.items[j] : j == pos ? s : l.items[j - 1];
        });
    }
    const auto& b = as_branch(n);
    const auto i = route(b, k);
    return replace_children(c, b, i, 1, insert_below(c, *b.items[i].child, s, k));
}

/// The entries of two neighbouring nodes of one level as one node, or as two halves if they
/// do not fit in one.
split join(change& c, const sub_node& left, const sub_node& right) {
    const std::size_t total = left.count + right.count;
    if (left.leaf) {
        const auto& l = as_leaf(left);
        const auto& r = as_leaf(right);
        return build_split<sub_leaf>(c, total, [&](std::size_t j) {
            return j < l.count ? l.items[j] : r.items[j - l.count];
        });
    }
    const auto& l = as_branch(left);
    const auto& r = as_branch(right);
    return build_split<sub_branch>(
        c, total, [&](std::size_t j) { return j < l.count ? l.items[j] : r.items[j - l.count]; });
}

/// `n` without key `k` as a new node, or `&n` itself if it has no such key. The new node may
/// hold fewer than the minimum (a leaf even none): the caller, one level up, repairs that.
const sub_node* erase_below(change& c, const sub_node& n, const sub_key& k) {
    if (n.leaf) {
        const auto& l = as_leaf(n);
        for (std::size_t i = 0; i < l.count; ++i) {
            const auto here = key_of(*l.items[i]);
            if (!delivered_before(here, k) && !delivered_before(k, here)) {
                c.add_replaced(&n);
                return build<sub_leaf>(c, 0, l.count - 1u,
                                       [&](std::size_t j) { return l.items[j < i ? j : j + 1]; });
            }
        }
        return &n;
    }
    const auto& b = as_branch(n);
    const auto i = route(b, k);
    const auto* child = erase_below(c, *b.items[i].child, k);
    if (child == b.items[i].child) {
        return &n;
    }
    c.add_replaced(&n);
    if (child->count >= min_fill(*child)) {
        return replace_children(c, b, i, 1, split{child, nullptr}).first;
    }
    // Underfull: merge with a neighbour, or share its entries if both do not fit in one node.
    // A branch has at least two children (the root's rule; more below it), so one exists.
    const auto lo = i > 0 ? i - 1 : i;
    const auto* sibling = b.items[lo == i ? i + 1 : lo].child;
    const auto joined =
        lo == i ? join(c, *child, *sibling) : join(c, *sibling, *child); // in key order
    c.add_replaced(sibling);
    c.discard(child); // its entries are in `joined` now
    return replace_children(c, b, lo, 2, joined).first;
}

} // namespace

sub_version::~sub_version() {
    if (!newer_) {
        free_tree(root_); // the newest version: the whole tree is its own
        return;
    }
    for (const auto* n : replaced_) {
        free_node(n);
    }
    removed_.reset();
    // Release the chain of newer versions without recursing once per version (a publisher
    // that held an old version during many changes holds that many): a destructor that runs
    // while a release is in progress on this thread parks its successor there instead. (More
    // than one can be parked: destroying a removed subscription may unsubscribe another.)
    thread_local std::vector<std::shared_ptr<const sub_version>>* parked = nullptr;
    if (parked != nullptr) {
        parked->push_back(std::move(newer_));
        return;
    }
    std::vector<std::shared_ptr<const sub_version>> pending;
    parked = &pending;
    auto next = std::move(newer_);
    for (;;) {
        next.reset(); // if that was the last reference, its destructor parked its successor
        if (pending.empty()) {
            break;
        }
        next = std::move(pending.back());
        pending.pop_back();
    }
    parked = nullptr;
}

std::shared_ptr<const sub_version> sub_set::insert(const std::shared_ptr<sub_base>& s) {
    auto old = load();
    change c;
    const sub_node* root = nullptr;
    if (!old || old->root_ == nullptr) {
        root = build<sub_leaf>(c, 0, 1, [&](std::size_t) { return s.get(); });
    } else {
        auto top = insert_below(c, *old->root_, s.get(), key_of(*s));
        root = top.second == nullptr
                   ? top.first
                   : build<sub_branch>(c, 0, 2, [&](std::size_t j) { // the root split
                         return entry_of(j == 0 ? top.first : top.second);
                     });
    }
    auto replaced = c.replaced_list();
    auto next = std::make_shared<const sub_version>(root);
    c.keep_built(); // owned by `next` from here on
    return publish(std::move(old), std::move(next), std::move(replaced), nullptr);
}

std::shared_ptr<const sub_version> sub_set::erase(const std::shared_ptr<sub_base>& s) {
    auto old = load();
    if (!old || old->root_ == nullptr) {
        return nullptr;
    }
    change c;
    const auto* root = erase_below(c, *old->root_, key_of(*s));
    if (root == old->root_) {
        return nullptr; // not here
    }
    if (root->count == 0) { // the last one went
        c.discard(root);
        root = nullptr;
    } else if (!root->leaf && root->count == 1) { // the root's children merged: one level less
        const auto* only = as_branch(*root).items[0].child;
        c.discard(root);
        root = only;
    }
    auto replaced = c.replaced_list();
    auto next = std::make_shared<const sub_version>(root);
    c.keep_built(); // owned by `next` from here on
    return publish(std::move(old), std::move(next), std::move(replaced), s);
}

std::shared_ptr<const sub_version> sub_set::clear() {
    auto old = load();
    if (!old || old->root_ == nullptr) {
        return nullptr;
    }
    node_list all;
    collect_tree(old->root_, all);
    return publish(std::move(old), std::make_shared<const sub_version>(nullptr), std::move(all),
                   nullptr);
}

std::shared_ptr<const sub_version> sub_set::publish(std::shared_ptr<const sub_version> old,
                                                    std::shared_ptr<const sub_version> next,
                                                    std::vector<const sub_node*> replaced,
                                                    std::shared_ptr<sub_base> removed) {
    if (old) {
        // Publishers holding `old` read only its root; these fields are the destructor's.
        old->replaced_ = std::move(replaced);
        old->removed_ = std::move(removed);
        old->newer_ = next;
    }
    // release: pairs with the acquire load in load(); the new nodes are complete before.
    current_.store(std::move(next), std::memory_order_release);
    return old;
}

} // namespace troupe::events::detail
