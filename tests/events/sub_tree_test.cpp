// Part of troupe. See LICENSE at the repository root.
// The persistent subscriber tree behind each topic (detail/sub_tree.hpp), checked against a
// sorted vector: delivery order, AVL balance, and old versions left intact by changes.

#include <troupe/events/detail/core.hpp>
#include <troupe/events/detail/sub_tree.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <typeinfo>
#include <utility>
#include <vector>

namespace troupe {
namespace {

namespace ed = events::detail;

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

std::shared_ptr<ed::sub_base> make_sub(int prio, std::uint64_t ord) {
    return std::make_shared<test_sub>(prio, ord);
}

bool delivered_before(const std::shared_ptr<ed::sub_base>& a,
                      const std::shared_ptr<ed::sub_base>& b) {
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->order < b->order;
}

std::vector<const ed::sub_base*> walk(const ed::sub_tree& t) {
    std::vector<const ed::sub_base*> out;
    ed::tree_for_each(t.get(), [&](ed::sub_base& s) { out.push_back(&s); });
    return out;
}

std::vector<const ed::sub_base*> raw(const std::vector<std::shared_ptr<ed::sub_base>>& v) {
    std::vector<const ed::sub_base*> out;
    out.reserve(v.size());
    for (const auto& s : v) {
        out.push_back(s.get());
    }
    return out;
}

/// Checks the AVL invariants below `n` and returns its height.
int check_balanced(const ed::sub_node* n) {
    if (n == nullptr) {
        return 0;
    }
    const int hl = check_balanced(n->left.get());
    const int hr = check_balanced(n->right.get());
    EXPECT_LE(std::abs(hl - hr), 1);
    const int h = 1 + std::max(hl, hr);
    EXPECT_EQ(n->height, h);
    return h;
}

TEST(EventsSubTree, EmptyTree) {
    const ed::sub_tree empty;
    EXPECT_TRUE(walk(empty).empty());
    auto s = make_sub(0, 1);
    EXPECT_EQ(ed::tree_erase(empty, *s), nullptr);
    auto one = ed::tree_insert(empty, s);
    EXPECT_EQ(walk(one), (std::vector<const ed::sub_base*>{s.get()}));
    EXPECT_EQ(ed::tree_erase(one, *s), nullptr);
}

TEST(EventsSubTree, RandomChangesMatchASortedVector) {
    std::mt19937 rng(20261201); // fixed seed: the same sequence on every run
    std::vector<std::shared_ptr<ed::sub_base>> model;
    ed::sub_tree tree;
    std::uint64_t next_order = 1;
    for (int step = 0; step < 4000; ++step) {
        const bool insert = model.empty() || rng() % 3 != 0; // grows on average
        if (insert) {
            auto s = make_sub(static_cast<int>(rng() % 7) - 3, next_order++);
            model.insert(std::upper_bound(model.begin(), model.end(), s, delivered_before), s);
            tree = ed::tree_insert(tree, s);
        } else {
            const auto victim = model.begin() + static_cast<std::ptrdiff_t>(rng() % model.size());
            const auto before = tree;
            tree = ed::tree_erase(tree, **victim);
            EXPECT_NE(tree, before);
            model.erase(victim);
        }
        ASSERT_EQ(walk(tree), raw(model)) << "after step " << step;
    }
    check_balanced(tree.get());
    // Erasing what is not there returns the same tree.
    auto stranger = make_sub(0, next_order++);
    EXPECT_EQ(ed::tree_erase(tree, *stranger), tree);
}

TEST(EventsSubTree, OldVersionsAreUnchanged) {
    std::vector<std::shared_ptr<ed::sub_base>> subs;
    std::vector<ed::sub_tree> versions{ed::sub_tree{}};
    std::vector<std::vector<const ed::sub_base*>> expected{{}};
    for (std::uint64_t i = 1; i <= 64; ++i) {
        subs.push_back(make_sub(static_cast<int>(i % 3), i));
        versions.push_back(ed::tree_insert(versions.back(), subs.back()));
        expected.push_back(walk(versions.back()));
    }
    for (std::size_t i = 0; i < subs.size(); i += 2) {
        versions.push_back(ed::tree_erase(versions.back(), *subs[i]));
        expected.push_back(walk(versions.back()));
    }
    for (std::size_t v = 0; v < versions.size(); ++v) {
        EXPECT_EQ(walk(versions[v]), expected[v]) << "version " << v;
    }
    EXPECT_EQ(expected.back().size(), 32u);
}

TEST(EventsSubTree, SequentialInsertsStayLogarithmic) {
    // Equal priorities in subscription order always insert at the right end: the worst case
    // of an unbalanced tree, a list.
    constexpr std::uint64_t n = 1u << 15;
    std::vector<std::shared_ptr<ed::sub_base>> subs;
    subs.reserve(n);
    ed::sub_tree tree;
    for (std::uint64_t i = 1; i <= n; ++i) {
        subs.push_back(make_sub(0, i));
        tree = ed::tree_insert(tree, subs.back());
    }
    const double bound = 1.4405 * std::log2(static_cast<double>(n) + 2.0); // AVL height bound
    EXPECT_LE(static_cast<double>(tree->height), bound);
    EXPECT_EQ(check_balanced(tree.get()), tree->height);
    EXPECT_EQ(walk(tree), raw(subs));
    // Erasing from the front, the other end, keeps it balanced too.
    for (std::uint64_t i = 0; i < n / 2; ++i) {
        tree = ed::tree_erase(tree, *subs[i]);
    }
    EXPECT_EQ(check_balanced(tree.get()), tree->height);
    EXPECT_EQ(walk(tree).size(), n / 2);
    EXPECT_EQ(walk(tree).front(), subs[n / 2].get());
}

} // namespace
} // namespace troupe
