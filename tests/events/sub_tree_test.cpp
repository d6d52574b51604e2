// Part of troupe. See LICENSE at the repository root.
// The persistent subscriber tree behind each topic (detail/sub_tree.hpp), checked against a
// sorted vector: delivery order, B+ tree shape, and old versions left intact (and readable:
// run under ASan) while newer ones replace them.

#include <troupe/events/detail/core.hpp>
#include <troupe/events/detail/sub_tree.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <typeinfo>
#include <utility>
#include <vector>

namespace troupe {
namespace {

namespace ed = events::detail;
using sub_ptr = std::shared_ptr<ed::sub_base>;
using version_ptr = std::shared_ptr<const ed::sub_version>;

struct test_sub final : ed::sub_base {
    test_sub(int prio, std::uint64_t ord)
        : sub_base(*events::pattern::parse("t"), typeid(int), "int") {
        id = ord;
        order = ord;
        priority = prio;
    }
    [[nodiscard]] bool accepts(const void* /*ev*/) const override { return true; }
    bool deliver(const void* /*ev*/, ed::core& /*c*/) override { return true; }
};

sub_ptr make_sub(int prio, std::uint64_t ord) { return std::make_shared<test_sub>(prio, ord); }

bool by_delivery(const sub_ptr& a, const sub_ptr& b) {
    return ed::delivered_before({a->priority, a->order}, {b->priority, b->order});
}

std::vector<const ed::sub_base*> walk(const version_ptr& v) {
    std::vector<const ed::sub_base*> out;
    for (ed::sub_leaf_cursor c(v ? v->root() : nullptr); c.leaf() != nullptr; c.next()) {
        for (std::size_t i = 0; i < c.leaf()->count; ++i) {
            out.push_back(c.leaf()->items[i]);
        }
    }
    return out;
}

std::vector<const ed::sub_base*> raw(const std::vector<sub_ptr>& v) {
    std::vector<const ed::sub_base*> out;
    out.reserve(v.size());
    for (const auto& s : v) {
        out.push_back(s.get());
    }
    return out;
}

/// Checks the B+ tree invariants below `n` (entry counts, routing keys, every leaf at one
/// depth) and returns its depth: 1 for a leaf.
int check_shape(const ed::sub_node& n, bool is_root) {
    const auto capacity = n.leaf ? ed::sub_leaf::capacity : ed::sub_branch::capacity;
    EXPECT_LE(n.count, capacity);
    EXPECT_GE(n.count, is_root ? (n.leaf ? 1u : 2u) : capacity / 2);
    if (n.leaf) {
        return 1;
    }
    const auto& b = static_cast<const ed::sub_branch&>(n);
    int depth = 0;
    for (std::size_t i = 0; i < b.count; ++i) {
        const auto& child = *b.items[i].child;
        const int d = check_shape(child, false);
        EXPECT_TRUE(depth == 0 || d == depth) << "leaves at different depths";
        depth = d;
        // The routing key is the child's last subscription's.
        const ed::sub_node* last = &child;
        while (!last->leaf) {
            const auto& lb = static_cast<const ed::sub_branch&>(*last);
            last = lb.items[lb.count - 1].child;
        }
        const auto& ll = static_cast<const ed::sub_leaf&>(*last);
        EXPECT_EQ(b.items[i].last.order, ll.items[ll.count - 1]->order);
        EXPECT_EQ(b.items[i].last.priority, ll.items[ll.count - 1]->priority);
    }
    return depth + 1;
}

int check_shape(const version_ptr& v) {
    return v && v->root() != nullptr ? check_shape(*v->root(), true) : 0;
}

TEST(EventsSubTree, EmptySet) {
    ed::sub_set set;
    EXPECT_EQ(set.load(), nullptr);
    auto s = make_sub(0, 1);
    EXPECT_EQ(set.erase(s), nullptr);
    EXPECT_EQ(set.clear(), nullptr);
    EXPECT_EQ(set.insert(s), nullptr); // nothing replaced
    EXPECT_EQ(walk(set.load()), (std::vector<const ed::sub_base*>{s.get()}));
    EXPECT_NE(set.erase(s), nullptr);
    EXPECT_TRUE(walk(set.load()).empty());
    EXPECT_EQ(set.erase(s), nullptr); // no longer there
}

TEST(EventsSubTree, RandomChangesMatchASortedVector) {
    std::mt19937 rng(20261201); // fixed seed: the same sequence on every run
    std::vector<sub_ptr> model;
    ed::sub_set set;
    std::uint64_t next_order = 1;
    for (int step = 0; step < 4000; ++step) {
        const bool insert = model.empty() || rng() % 3 != 0; // grows on average
        if (insert) {
            auto s = make_sub(static_cast<int>(rng() % 7) - 3, next_order++);
            model.insert(std::upper_bound(model.begin(), model.end(), s, by_delivery), s);
            (void)set.insert(s);
        } else {
            const auto victim = model.begin() + static_cast<std::ptrdiff_t>(rng() % model.size());
            EXPECT_NE(set.erase(*victim), nullptr);
            model.erase(victim);
        }
        ASSERT_EQ(walk(set.load()), raw(model)) << "after step " << step;
        if (step % 100 == 0) {
            check_shape(set.load());
        }
    }
    check_shape(set.load());
    EXPECT_EQ(set.erase(make_sub(0, next_order++)), nullptr); // not there: nothing replaced
    // Then shrink to nothing in random order: merges and shares at every level.
    for (int step = 0; !model.empty(); ++step) {
        const auto victim = model.begin() + static_cast<std::ptrdiff_t>(rng() % model.size());
        EXPECT_NE(set.erase(*victim), nullptr);
        model.erase(victim);
        ASSERT_EQ(walk(set.load()), raw(model)) << "after shrink step " << step;
        if (step % 25 == 0) {
            check_shape(set.load());
        }
    }
    EXPECT_EQ(set.load()->root(), nullptr);
}

// Versions held by "publishers" stay whole while later changes replace and free nodes; an
// erased subscription lives as long as a version that can reach it.
TEST(EventsSubTree, HeldVersionsStayIntact) {
    std::mt19937 rng(99);
    std::vector<sub_ptr> model;
    ed::sub_set set;
    std::vector<version_ptr> held;
    std::vector<std::vector<const ed::sub_base*>> expected;
    std::uint64_t next_order = 1;
    for (int step = 0; step < 1500; ++step) {
        if (model.empty() || rng() % 2 == 0) {
            auto s = make_sub(static_cast<int>(rng() % 3), next_order++);
            model.insert(std::upper_bound(model.begin(), model.end(), s, by_delivery), s);
            (void)set.insert(s);
        } else {
            const auto victim = model.begin() + static_cast<std::ptrdiff_t>(rng() % model.size());
            (void)set.erase(*victim);
            model.erase(victim); // the model's reference goes: only the versions keep it
        }
        if (step % 10 == 0) {
            held.push_back(set.load());
            expected.push_back(raw(model));
        }
    }
    for (std::size_t i = 0; i < held.size(); ++i) {
        const auto got = walk(held[i]);
        ASSERT_EQ(got, expected[i]) << "version " << i;
        for (const auto* s : got) { // readable (ASan checks the memory)
            EXPECT_LT(s->order, next_order);
        }
    }
    // Release them in an order other than oldest first.
    for (std::size_t i = 1; i < held.size(); i += 2) {
        held[i].reset();
    }
    held.clear();
    EXPECT_EQ(walk(set.load()), raw(model));
}

// One publisher holding an old version through 100,000 changes holds a chain of 100,000
// versions; releasing it must not recurse once per version (this would overflow the stack).
TEST(EventsSubTree, LongVersionChainsAreReleasedIteratively) {
    ed::sub_set set;
    auto keep = make_sub(0, 1);
    (void)set.insert(keep);
    auto held = set.load();
    for (std::uint64_t i = 2; i < 50'002; ++i) {
        auto s = make_sub(0, i);
        (void)set.insert(s);
        (void)set.erase(s); // s now lives only in the chain
    }
    EXPECT_EQ(walk(held), (std::vector<const ed::sub_base*>{keep.get()}));
    held.reset();
    EXPECT_EQ(walk(set.load()), (std::vector<const ed::sub_base*>{keep.get()}));
}

TEST(EventsSubTree, SequentialInsertsStayLogarithmic) {
    // Equal priorities in subscription order always insert at the right end, as most
    // subscriptions do; then erasing from the front, the other end.
    constexpr std::uint64_t n = 1u << 15;
    std::vector<sub_ptr> subs;
    subs.reserve(n);
    ed::sub_set set;
    for (std::uint64_t i = 1; i <= n; ++i) {
        subs.push_back(make_sub(0, i));
        (void)set.insert(subs.back());
    }
    // A root of 2+ children, half-full nodes below: n >= 2 * (B / 2)^(depth - 2) * (L / 2).
    const auto half_b = static_cast<double>(ed::sub_branch::capacity) / 2.0;
    const auto half_l = static_cast<double>(ed::sub_leaf::capacity) / 2.0;
    const double bound = 2.0 + std::log(static_cast<double>(n) / (2.0 * half_l)) / std::log(half_b);
    EXPECT_LE(static_cast<double>(check_shape(set.load())), bound);
    EXPECT_EQ(walk(set.load()), raw(subs));
    for (std::uint64_t i = 0; i < n / 2; ++i) {
        EXPECT_NE(set.erase(subs[i]), nullptr);
    }
    check_shape(set.load());
    const auto rest = walk(set.load());
    ASSERT_EQ(rest.size(), n / 2);
    EXPECT_EQ(rest.front(), subs[n / 2].get());
    EXPECT_NE(set.clear(), nullptr);
    EXPECT_TRUE(walk(set.load()).empty());
}

} // namespace
} // namespace troupe
