// Part of troupe. See LICENSE at the repository root.
// Refs without hard-coded paths: siblings and children by name, refs that survive restarts,
// and children built from factories (move-only state, fresh per restart).

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using sup_test::add_msg;
using sup_test::crash_msg;
using sup_test::get_msg;
using sup_test::wproto;

using sup_ref = actor_ref<supervisor_protocol>;

/// Forwards every `add_msg` to its sibling "store", looked up by name at start.
struct relay_proto_msg {
    int n;
};
struct lookup_results {
    errc missing = errc::none;  // sibling<wproto>("nobody")
    errc mismatch = errc::none; // sibling<relay_proto_msg>("store")
    errc bad_name = errc::none; // sibling<wproto>("a/b")
    bool parent_is_supervisor = false;
};

class relay : public actor<relay_proto_msg> {
public:
    explicit relay(std::shared_ptr<lookup_results> out) : out_(std::move(out)) {}
    void on_start() override {
        auto s = sibling<wproto>("store");
        if (s) {
            store_ = *s;
        }
        out_->missing = sibling<wproto>("nobody").error().code();
        out_->mismatch = sibling<relay_proto_msg>("store").error().code();
        out_->bad_name = sibling<wproto>("a/b").error().code();
        out_->parent_is_supervisor = parent().path() == "/user/sup";
    }
    void on(relay_proto_msg& m) { (void)store_.tell(add_msg{m.n}); }

private:
    std::shared_ptr<lookup_results> out_;
    actor_ref<wproto> store_;
};

class SiblingsTest : public ::testing::Test, protected sup_test::manual_fixture {
protected:
    sup_ref start(std::vector<child_spec> specs) {
        auto s = sys.spawn_named<supervisor>("sup", {}, supervisor_options{.max_restarts = 10},
                                             std::move(specs));
        EXPECT_TRUE(s.has_value());
        ex.run_until_idle();
        return *s;
    }
    int total(const actor_ref<wproto>& w) {
        auto h = w.ask(get_msg{}, 10s);
        ex.run_until_idle();
        EXPECT_TRUE(h.ready());
        auto v = h.try_get();
        return v && *v ? **v : -1;
    }
};

TEST_F(SiblingsTest, ChildFindsItsSiblingByNameWithTheLookupErrorsOfFind) {
    auto results = std::make_shared<lookup_results>();
    auto s = start({sup_test::worker_spec("store", log), make_child<relay>("relay", results)});
    EXPECT_EQ(results->missing, errc::receiver_down);
    EXPECT_EQ(results->mismatch, errc::type_mismatch);
    EXPECT_EQ(results->bad_name, errc::invalid_argument);
    EXPECT_TRUE(results->parent_is_supervisor);

    auto r = sys.find<relay_proto_msg>("/user/sup/relay");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->tell(relay_proto_msg{5}));
    ex.run_until_idle();
    EXPECT_EQ(total(child(s, "store")), 5);
}

TEST_F(SiblingsTest, SiblingRefObtainedBeforeARestartReachesTheRestartedChild) {
    auto results = std::make_shared<lookup_results>();
    auto s = start({sup_test::worker_spec("store", log), make_child<relay>("relay", results)});
    auto store_before = child(s, "store"); // a ref taken before the restart
    auto r = *sys.find<relay_proto_msg>("/user/sup/relay");
    ASSERT_TRUE(r.tell(relay_proto_msg{1}));
    ex.run_until_idle();
    EXPECT_EQ(total(store_before), 1);

    ASSERT_TRUE(store_before.tell(crash_msg{}));
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:store"), 2); // restarted in place, state reset

    // Both the test's old ref and the relay's ref (looked up once, before the
    // restart) reach the new incarnation.
    ASSERT_TRUE(r.tell(relay_proto_msg{7}));
    ex.run_until_idle();
    EXPECT_EQ(total(store_before), 7);
    EXPECT_EQ(store_before, child(s, "store"));
}

/// Holds move-only state: built only through a factory.
class owner_of_state : public actor<std::variant<add_msg, get_msg>> {
public:
    explicit owner_of_state(std::unique_ptr<int> state) : state_(std::move(state)) {}
    void on(add_msg& m) { *state_ += m.n; }
    int on(get_msg&) { return *state_; }

private:
    std::unique_ptr<int> state_;
};

TEST_F(SiblingsTest, ChildFromAFactoryGetsFreshMoveOnlyStateAtEveryRestart) {
    auto builds = std::make_shared<int>(0);
    auto spec = make_child_from<owner_of_state>("owner", [builds] {
        ++*builds;
        return owner_of_state(std::make_unique<int>(100));
    });
    auto s = start({std::move(spec)});
    EXPECT_EQ(*builds, 1);
    auto o = sys.find<std::variant<add_msg, get_msg>>("/user/sup/owner");
    ASSERT_TRUE(o);
    ASSERT_TRUE(o->tell(add_msg{5}));
    auto h = o->ask(get_msg{}, 10s);
    ex.run_until_idle();
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(**h.try_get(), 105);

    // A restart (here: a stop of a permanent child) builds a fresh instance.
    ASSERT_TRUE(o->stop(error{errc::stopped, "test"}));
    ex.run_until_idle();
    EXPECT_EQ(*builds, 2);
    auto h2 = o->ask(get_msg{}, 10s);
    ex.run_until_idle();
    ASSERT_TRUE(h2.ready());
    EXPECT_EQ(**h2.try_get(), 100);
}

struct find_kid {};
struct finder_result {
    errc found = errc::exception;
    errc missing = errc::none;
    int kid_value = -1;
};

/// Spawns a child from a factory (move-only state), then finds it by name.
class finder : public actor<find_kid> {
public:
    explicit finder(std::shared_ptr<finder_result> out) : out_(std::move(out)) {}
    void on_start() override {
        (void)spawn_from<owner_of_state>([] { return owner_of_state(std::make_unique<int>(3)); },
                                         "kid");
    }
    task<> on(find_kid&) {
        auto kid = child<std::variant<add_msg, get_msg>>("kid");
        out_->found = kid ? errc::none : kid.error().code();
        out_->missing = child<std::variant<add_msg, get_msg>>("nobody").error().code();
        if (kid) {
            auto v = co_await kid->ask(get_msg{}, 10s);
            out_->kid_value = v ? *v : -1;
        }
    }

private:
    std::shared_ptr<finder_result> out_;
};

TEST_F(SiblingsTest, ActorFindsItsChildByNameAndSpawnsFromAFactory) {
    auto out = std::make_shared<finder_result>();
    auto f = sys.spawn<finder>(out);
    ex.run_until_idle();
    ASSERT_TRUE(f.tell(find_kid{}));
    ex.run_until_idle();
    EXPECT_EQ(out->found, errc::none);
    EXPECT_EQ(out->missing, errc::receiver_down);
    EXPECT_EQ(out->kid_value, 3);
}

} // namespace
} // namespace troupe
