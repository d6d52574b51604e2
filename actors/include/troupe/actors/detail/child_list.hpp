// Part of troupe. See LICENSE at the repository root.

#pragma once

namespace troupe::detail {

/// The links one child keeps in its parent's children list.
template <class Node>
struct sibling_links {
    Node* newer = nullptr; ///< the next younger sibling (null: the newest)
    Node* older = nullptr; ///< the next older sibling (null: the oldest)
};

/// A parent's children: intrusive, doubly linked, newest first. `Node` has a
/// public `sibling_links<Node> siblings` member. One pointer in the parent,
/// two in each child; whether the parent still takes children is the
/// owner's flag, not the list's.
///
/// **Threading:** none of its own; the owner serialises every call (the actor
/// cell uses the system's striped tree lock, since children may be spawned
/// from any thread). **Cost:** O(1) per operation except the walks. The list
/// takes no references; its owner keeps the listed nodes alive.
template <class Node>
class child_list {
public:
    /// Adds `n` (not listed anywhere) as the newest child.
    void add_newest(Node& n) noexcept {
        n.siblings = sibling_links<Node>{nullptr, newest_};
        if (newest_ != nullptr) {
            newest_->siblings.newer = &n;
        }
        newest_ = &n;
    }
    /// True if `n` is in this list.
    [[nodiscard]] bool contains(const Node& n) const noexcept {
        return n.siblings.newer != nullptr || newest_ == &n;
    }
    /// Unlinks `n`. Returns false if it was not listed (removed before).
    bool remove(Node& n) noexcept {
        if (!contains(n)) {
            return false;
        }
        sibling_links<Node>& l = n.siblings;
        (l.newer != nullptr ? l.newer->siblings.older : newest_) = l.older;
        if (l.older != nullptr) {
            l.older->siblings.newer = l.newer;
        }
        l = sibling_links<Node>{};
        return true;
    }
    [[nodiscard]] bool empty() const noexcept { return newest_ == nullptr; }
    [[nodiscard]] Node* newest() const noexcept { return newest_; }
    /// Calls `f(node)` newest first; `f` must not change the list.
    template <class F>
    void for_each(F&& f) const {
        for (Node* n = newest_; n != nullptr; n = n->siblings.older) {
            f(*n);
        }
    }
    /// Unlinks every child, newest first, handing each to `f` (which may drop
    /// the owner's reference to it).
    template <class F>
    void clear(F&& f) {
        Node* n = newest_;
        newest_ = nullptr;
        while (n != nullptr) {
            Node* older = n->siblings.older;
            n->siblings = sibling_links<Node>{};
            f(*n);
            n = older;
        }
    }

private:
    Node* newest_ = nullptr;
};

} // namespace troupe::detail
