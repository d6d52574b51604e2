// Part of troupe. See LICENSE at the repository root.

#include <troupe/events/detail/sub_tree.hpp>
// (own header above; core.hpp completes sub_base)
#include <troupe/events/detail/core.hpp>

#include <algorithm>
#include <utility>

namespace troupe::events::detail {
namespace {

using sub_ptr = std::shared_ptr<sub_base>;

/// Delivery order: higher priority first, then older subscriptions first.
bool before(const sub_base& a, const sub_base& b) noexcept {
    if (a.priority != b.priority) {
        return a.priority > b.priority;
    }
    return a.order < b.order;
}

int height(const sub_tree& t) noexcept { return t ? t->height : 0; }

sub_tree make(sub_ptr s, sub_tree l, sub_tree r) {
    const auto h = static_cast<std::uint8_t>(1 + std::max(height(l), height(r)));
    return std::make_shared<const sub_node>(sub_node{std::move(s), std::move(l), std::move(r), h});
}

/// A node holding `s` over `l` and `r`, whose heights differ by at most 2 (one change below a
/// balanced node), rotated back into AVL balance.
sub_tree balance(sub_ptr s, sub_tree l, sub_tree r) {
    const int hl = height(l);
    const int hr = height(r);
    if (hl > hr + 1) {
        if (height(l->left) >= height(l->right)) { // single right rotation
            return make(l->sub, l->left, make(std::move(s), l->right, std::move(r)));
        }
        const auto& lr = l->right; // left-right: double rotation
        return make(lr->sub, make(l->sub, l->left, lr->left),
                    make(std::move(s), lr->right, std::move(r)));
    }
    if (hr > hl + 1) {
        if (height(r->right) >= height(r->left)) { // single left rotation
            return make(r->sub, make(std::move(s), std::move(l), r->left), r->right);
        }
        const auto& rl = r->left; // right-left: double rotation
        return make(rl->sub, make(std::move(s), std::move(l), rl->left),
                    make(r->sub, rl->right, r->right));
    }
    return make(std::move(s), std::move(l), std::move(r));
}

/// `t` without its first node, whose subscription goes to `first`. @pre `t` is not empty.
sub_tree erase_first(const sub_tree& t, sub_ptr& first) {
    if (!t->left) {
        first = t->sub;
        return t->right;
    }
    return balance(t->sub, erase_first(t->left, first), t->right);
}

} // namespace

sub_tree tree_insert(const sub_tree& t, const sub_ptr& s) {
    if (!t) {
        return make(s, nullptr, nullptr);
    }
    if (before(*s, *t->sub)) {
        return balance(t->sub, tree_insert(t->left, s), t->right);
    }
    return balance(t->sub, t->left, tree_insert(t->right, s));
}

sub_tree tree_erase(const sub_tree& t, const sub_base& s) {
    if (!t) {
        return t;
    }
    if (before(s, *t->sub)) {
        auto l = tree_erase(t->left, s);
        return l == t->left ? t : balance(t->sub, std::move(l), t->right);
    }
    if (before(*t->sub, s)) {
        auto r = tree_erase(t->right, s);
        return r == t->right ? t : balance(t->sub, t->left, std::move(r));
    }
    // Found (the key, priority + order, is unique).
    if (!t->left) {
        return t->right;
    }
    if (!t->right) {
        return t->left;
    }
    sub_ptr successor;
    auto r = erase_first(t->right, successor);
    return balance(std::move(successor), t->left, std::move(r));
}

} // namespace troupe::events::detail
