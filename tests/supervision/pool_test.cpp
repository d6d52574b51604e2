// Part of troupe. See LICENSE at the repository root.
// Pools (routing, restarts in place, pools as children, misuse) and
// broadcast groups: deterministic, on the manual executor and clock.

#include <troupe/supervision/broadcast_group.hpp>
#include <troupe/supervision/pool.hpp>

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using namespace troupe;
using namespace sup_test;

namespace {

struct job {
    using reply_type = std::string; ///< the name of the worker that ran it
    int key = 0;
};
struct note {
    int key = 0;
};
struct crash {
    using reply_type = int;
};
using pproto = std::variant<job, note, crash>;

/// Logs `<worker>:<key>` for every job and note it handles.
class pworker : public actor<pproto> {
public:
    explicit pworker(log_ptr log) : log_(std::move(log)) {}
    void on_start() override { log_->add("start:" + name()); }
    std::string on(job& j) {
        log_->add(name() + ":" + std::to_string(j.key));
        return name();
    }
    void on(note& n) { log_->add(name() + ":" + std::to_string(n.key)); }
    int on(crash& /*m*/) { throw std::runtime_error("boom"); }

private:
    [[nodiscard]] std::string name() const {
        const std::string p = path();
        return p.substr(p.rfind('/') + 1);
    }
    log_ptr log_;
};

using pool_t = pool_ref<pproto>;
static_assert(std::is_nothrow_move_constructible_v<pool_t>);
static_assert(std::is_copy_constructible_v<pool_t>);
static_assert(std::is_nothrow_move_constructible_v<broadcast_group<pproto>>);

message_key<pproto> by_key() {
    return message_key<pproto>([](const auto& m) -> std::uint64_t {
        if constexpr (requires { m.key; }) {
            return static_cast<std::uint64_t>(m.key);
        } else {
            return 0;
        }
    });
}

template <class R>
errc code_of(ask_handle<R>& h) {
    auto r = h.try_get();
    if (!r) {
        return errc::unsupported; // not ready: never a valid answer here
    }
    return *r ? errc::none : r->error().code();
}

struct PoolTest : ::testing::Test, manual_fixture {
    pool_t spawn(pool_options<pproto> o) {
        auto p = spawn_pool<pworker>(sys, std::move(o), log);
        EXPECT_TRUE(p) << p.error().to_string();
        return p ? *p : pool_t{};
    }
    std::string ask_name(const pool_t& p, int key) {
        auto h = p.ask(job{key}, 1s);
        ex.run_until_idle();
        auto r = h.try_get();
        return r && *r ? **r : "<" + (r ? r->error().to_string() : std::string("pending")) + ">";
    }
};

TEST_F(PoolTest, WorkersExistWhenSpawnReturnsAndAreSupervisedChildren) {
    auto p = spawn({.size = 3, .name = "jobs"});
    ASSERT_EQ(p.size(), 3u);
    auto ws = p.workers();
    ASSERT_EQ(ws.size(), 3u);
    EXPECT_EQ(p.addr().path(), "/user/jobs");
    for (std::size_t i = 0; i < ws.size(); ++i) {
        EXPECT_EQ(ws[i].path(), "/user/jobs/worker-" + std::to_string(i));
    }
    // A send before any actor ran is queued in a worker's mailbox.
    EXPECT_TRUE(p.tell(note{1}));
    ex.run_until_idle();
    EXPECT_EQ(log->count("start:worker-0"), 1); // spawned once, not again by on_start
    EXPECT_EQ(log->count("worker-0:1"), 1);
    auto sup = sys.find<supervisor_protocol>("/user/jobs");
    ASSERT_TRUE(sup);
    auto kids = sup->ask(which_children{}, 1s);
    ex.run_until_idle();
    auto list = kids.try_get();
    ASSERT_TRUE(list && *list);
    ASSERT_EQ((*list)->size(), 3u);
    for (std::size_t i = 0; i < ws.size(); ++i) {
        EXPECT_EQ((**list)[i].addr, ws[i].addr());
    }
}

TEST_F(PoolTest, RoundRobinVisitsWorkersInTurn) {
    auto p = spawn({.size = 3});
    for (int k = 0; k < 9; ++k) {
        ASSERT_TRUE(p.tell(note{k}));
    }
    ex.run_until_idle();
    for (int k = 0; k < 9; ++k) {
        EXPECT_EQ(log->count("worker-" + std::to_string(k % 3) + ":" + std::to_string(k)), 1) << k;
    }
}

TEST_F(PoolTest, ConsistentHashSendsEqualKeysToOneWorkerAndSpreadsKeys) {
    auto p = spawn({.size = 4, .routing = pool_routing::consistent_hash, .key = by_key()});
    std::map<int, std::set<std::string>> seen;
    for (int round = 0; round < 3; ++round) {
        for (int key = 0; key < 64; ++key) {
            seen[key].insert(ask_name(p, key));
        }
    }
    std::map<std::string, int> per_worker;
    for (const auto& [key, names] : seen) {
        ASSERT_EQ(names.size(), 1u) << "key " << key << " went to several workers";
        ++per_worker[*names.begin()];
    }
    ASSERT_EQ(per_worker.size(), 4u) << "64 keys should reach all 4 workers";
    for (const auto& [name, n] : per_worker) {
        EXPECT_GE(n, 6) << name; // 16 expected; a skew this large would be a bug
    }
}

TEST(JumpConsistentHash, StaysInRangeAndMovesFewKeysWhenGrowing) {
    int moved = 0;
    for (std::uint64_t key = 0; key < 1000; ++key) {
        const std::uint32_t at9 = detail::jump_consistent_hash(key, 9);
        const std::uint32_t at10 = detail::jump_consistent_hash(key, 10);
        ASSERT_LT(at9, 9u);
        ASSERT_LT(at10, 10u);
        EXPECT_EQ(detail::jump_consistent_hash(key, 1), 0u);
        if (at9 != at10) {
            EXPECT_EQ(at10, 9u) << "a moved key goes to the new bucket only";
            ++moved;
        }
    }
    EXPECT_GT(moved, 50); // about 1000/10
    EXPECT_LT(moved, 200);
}

TEST_F(PoolTest, LeastLoadedPicksTheShortestMailbox) {
    auto p = spawn({.size = 3, .routing = pool_routing::least_loaded});
    auto ws = p.workers();
    // Nothing runs until the executor does: depths are w0 2, w1 1, w2 0.
    ASSERT_TRUE(ws[0].tell(note{100}));
    ASSERT_TRUE(ws[0].tell(note{101}));
    ASSERT_TRUE(ws[1].tell(note{102}));
    ASSERT_TRUE(p.tell(note{1})); // w2 (0)
    ASSERT_TRUE(p.tell(note{2})); // w1 and w2 hold 1: w1 (the scan starts after w2)
    ASSERT_TRUE(p.tell(note{3})); // w2 (1, against 2 and 2)
    EXPECT_EQ(ws[0].queued_messages(), 2u);
    EXPECT_EQ(ws[1].queued_messages(), 2u);
    EXPECT_EQ(ws[2].queued_messages(), 2u);
    ex.run_until_idle();
    EXPECT_EQ(log->count("worker-2:1"), 1);
    EXPECT_EQ(log->count("worker-1:2"), 1);
    EXPECT_EQ(log->count("worker-2:3"), 1);
}

TEST_F(PoolTest, AskThroughThePoolGetsTheWorkersReply) {
    auto p = spawn({.size = 2});
    EXPECT_EQ(ask_name(p, 1), "worker-0");
    EXPECT_EQ(ask_name(p, 2), "worker-1");
    EXPECT_EQ(ask_name(p, 3), "worker-0");
}

TEST_F(PoolTest, ACrashingWorkerRestartsInPlaceAndThePoolKeepsServing) {
    event_sink ev;
    pool_options<pproto> o{.size = 2};
    o.supervision.on_event = ev.sink();
    auto p = spawn(std::move(o));
    const auto before = p.workers();
    auto failed = p.ask(crash{}, 1s); // worker-0
    ASSERT_TRUE(p.tell(note{7}));     // worker-1
    ASSERT_TRUE(p.tell(note{8}));     // worker-0: queued behind the crash, kept
    ex.run_until_idle();
    EXPECT_EQ(code_of(failed), errc::handler_failed);
    EXPECT_EQ(ev.count(supervision_event::kind::restart), 1);
    EXPECT_EQ(log->count("start:worker-0"), 2);
    EXPECT_EQ(log->count("start:worker-1"), 1);
    EXPECT_EQ(log->count("worker-0:8"), 1);
    EXPECT_EQ(p.workers(), before) << "restarted in place: the same refs";
    EXPECT_EQ(ask_name(p, 9), "worker-1");
    EXPECT_EQ(ask_name(p, 10), "worker-0");
}

TEST_F(PoolTest, AStoppedPoolAnswersReceiverDown) {
    auto p = spawn({.size = 2});
    ASSERT_TRUE(p.stop());
    ex.run_until_idle();
    EXPECT_TRUE(p.addr().is_terminated());
    for (const auto& w : p.workers()) {
        EXPECT_TRUE(w.addr().is_terminated());
    }
    auto sent = p.tell(note{1});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), errc::receiver_down);
    auto h = p.ask(job{1}, 1s);
    EXPECT_EQ(code_of(h), errc::receiver_down);
}

TEST_F(PoolTest, MisuseIsAnInvalidArgument) {
    auto zero = spawn_pool<pworker>(sys, {.size = 0}, log);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code(), errc::invalid_argument);
    auto keyless =
        spawn_pool<pworker>(sys, {.size = 2, .routing = pool_routing::consistent_hash}, log);
    ASSERT_FALSE(keyless);
    EXPECT_EQ(keyless.error().code(), errc::invalid_argument);
    auto bad_name = spawn_pool<pworker>(sys, {.size = 1, .name = "a/b"}, log);
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().code(), errc::invalid_argument);
    auto unnamed_child = make_pool_child<pworker>({.size = 1}, log);
    ASSERT_FALSE(unnamed_child);
    EXPECT_EQ(unnamed_child.error().code(), errc::invalid_argument);

    pool_t empty;
    EXPECT_FALSE(empty);
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_FALSE(empty.addr());
    EXPECT_TRUE(empty.workers().empty());
    auto sent = empty.tell(note{1});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), errc::invalid_argument);
    auto h = empty.ask(job{1}, 1s);
    EXPECT_EQ(code_of(h), errc::invalid_argument);
    auto stopped = empty.stop();
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().code(), errc::invalid_argument);
}

TEST_F(PoolTest, ANameCanBeTakenOnce) {
    auto first = spawn({.size = 1, .name = "jobs"});
    auto second = spawn_pool<pworker>(sys, {.size = 1, .name = "jobs"}, log);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), errc::name_taken);
    EXPECT_TRUE(first.tell(note{1}));
}

TEST_F(PoolTest, APoolChildRoutesOnceStartedAndFollowsItsRestarts) {
    event_sink ev;
    pool_options<pproto> o{.size = 2, .name = "pool"};
    o.supervision.max_restarts = 0; // the first worker crash makes the pool give up
    auto child = make_pool_child<pworker>(std::move(o), log);
    ASSERT_TRUE(child);
    auto p = child->ref;
    EXPECT_FALSE(p.addr());
    auto early = p.tell(note{1});
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code(), errc::receiver_down);

    supervisor_options top{.max_restarts = 5};
    top.on_event = ev.sink();
    auto s = sys.spawn<supervisor>(top, std::vector<child_spec>{child->spec});
    ex.run_until_idle();
    EXPECT_EQ(p.addr().path(), s.path() + "/pool");
    EXPECT_EQ(ask_name(p, 2).rfind("worker-", 0), 0u);
    const auto first = p.workers();

    // A worker crash exceeds the pool's intensity: it escalates, its parent
    // restarts it in place, and the new incarnation spawns new workers.
    auto failed = p.ask(crash{}, 1s);
    ex.run_until_idle();
    EXPECT_EQ(code_of(failed), errc::handler_failed);
    EXPECT_EQ(ev.count(supervision_event::kind::restart), 1);
    const auto second = p.workers();
    ASSERT_EQ(second.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_TRUE(first[i].addr().is_terminated());
        EXPECT_NE(second[i], first[i]);
        EXPECT_FALSE(second[i].addr().is_terminated());
    }
    EXPECT_EQ(log->count("start:worker-0"), 2);
    EXPECT_EQ(log->count("start:worker-1"), 2);
    const std::set<std::string> names{ask_name(p, 3), ask_name(p, 4)};
    EXPECT_EQ(names, (std::set<std::string>{"worker-0", "worker-1"}));
}

/// Spawns a pool as its own child on `note`, and sends it a note under the
/// trace id of the message it handles.
class pool_owner : public actor<std::variant<note, job>> {
public:
    pool_owner(log_ptr log, std::shared_ptr<std::vector<std::uint64_t>> traces)
        : log_(std::move(log)), traces_(std::move(traces)) {}
    void on(note& n) {
        auto p = spawn_pool<pworker>(*this, {.size = 2, .name = "inner"}, log_);
        if (p) {
            pool_ = *p;
            traces_->push_back(trace_id());
            (void)pool_.tell(note{n.key});
        }
    }
    std::string on(job& /*m*/) { return pool_ ? pool_.addr().path() : "<none>"; }

private:
    log_ptr log_;
    std::shared_ptr<std::vector<std::uint64_t>> traces_;
    pool_t pool_;
};

/// Records the trace id of every note it handles.
class trace_worker : public actor<pproto> {
public:
    explicit trace_worker(std::shared_ptr<std::vector<std::uint64_t>> traces)
        : traces_(std::move(traces)) {}
    std::string on(job& /*m*/) { return {}; }
    void on(note& /*m*/) { traces_->push_back(trace_id()); }
    int on(crash& /*m*/) { return 0; }

private:
    std::shared_ptr<std::vector<std::uint64_t>> traces_;
};

TEST_F(PoolTest, SpawnedFromInsideAnActorAsItsChild) {
    auto traces = std::make_shared<std::vector<std::uint64_t>>();
    auto owner = sys.spawn<pool_owner>(log, traces);
    ASSERT_TRUE(owner.tell(note{5}));
    ex.run_until_idle();
    auto h = owner.ask(job{}, 1s);
    ex.run_until_idle();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, owner.path() + "/inner");
    EXPECT_EQ(log->count("worker-0:5"), 1);
}

TEST_F(PoolTest, KeepsTheSendersTraceId) {
    auto traces = std::make_shared<std::vector<std::uint64_t>>();
    auto p = spawn_pool<trace_worker>(sys, {.size = 2}, traces);
    ASSERT_TRUE(p);
    pool_t pool = *p;
    std::vector<std::uint64_t> sender_traces;
    auto sender = sys.spawn_fn<note>([&](actor<note>& self, note& n) {
        sender_traces.push_back(self.trace_id());
        (void)pool.tell(note{n.key});
    });
    ASSERT_TRUE(sender.tell(note{1}));
    ex.run_until_idle();
    ASSERT_EQ(sender_traces.size(), 1u);
    ASSERT_EQ(traces->size(), 1u);
    EXPECT_EQ((*traces)[0], sender_traces[0]);
}

// ---- broadcast groups -------------------------------------------------------------

struct BroadcastGroupTest : ::testing::Test, manual_fixture {
    actor_ref<pproto> member(const std::string& name) {
        auto r = sys.spawn_named<pworker>(name, {}, log);
        EXPECT_TRUE(r);
        return r ? *r : actor_ref<pproto>{};
    }
};

TEST_F(BroadcastGroupTest, ReachesEveryMemberOnce) {
    broadcast_group<pproto> g;
    auto a = member("a");
    auto b = member("b");
    auto c = member("c");
    EXPECT_EQ(g.add(a), true);
    EXPECT_EQ(g.add(b), true);
    EXPECT_EQ(g.add(c), true);
    EXPECT_EQ(g.add(b), false) << "already a member";
    EXPECT_EQ(g.size(), 3u);
    // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): copies share the membership
    broadcast_group<pproto> same = g;
    auto r = same.tell(note{4});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->accepted, 3u);
    EXPECT_EQ(r->refused, 0u);
    EXPECT_EQ(r->removed, 0u);
    ex.run_until_idle();
    EXPECT_EQ(log->count("a:4"), 1);
    EXPECT_EQ(log->count("b:4"), 1);
    EXPECT_EQ(log->count("c:4"), 1);

    EXPECT_TRUE(g.remove(b));
    EXPECT_FALSE(g.remove(b));
    ASSERT_TRUE(g.tell(note{5}));
    ex.run_until_idle();
    EXPECT_EQ(log->count("b:5"), 0);
    EXPECT_EQ(g.members(), (std::vector<actor_ref<pproto>>{a, c}));
}

TEST_F(BroadcastGroupTest, ATerminatedMemberIsSkippedAndRemoved) {
    broadcast_group<pproto> g;
    auto a = member("a");
    auto b = member("b");
    ASSERT_TRUE(g.add(a));
    ASSERT_TRUE(g.add(b));
    ASSERT_TRUE(a.stop());
    ex.run_until_idle();
    auto r = g.tell(note{1});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->accepted, 1u);
    EXPECT_EQ(r->removed, 1u);
    EXPECT_EQ(g.members(), (std::vector<actor_ref<pproto>>{b}));
    auto dead = g.add(a);
    ASSERT_FALSE(dead);
    EXPECT_EQ(dead.error().code(), errc::receiver_down);
}

TEST_F(BroadcastGroupTest, AFullMemberRefusesWithoutStoppingTheBroadcast) {
    broadcast_group<pproto> g;
    auto small = sys.spawn_named<pworker>("small", spawn_options{.capacity = 1}, log);
    ASSERT_TRUE(small);
    auto big = member("big");
    ASSERT_TRUE(g.add(*small));
    ASSERT_TRUE(g.add(big));
    ASSERT_TRUE(small->tell(note{0})); // fills it: nothing runs yet
    auto r = g.tell(note{1});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->accepted, 1u);
    EXPECT_EQ(r->refused, 1u);
    EXPECT_EQ(g.size(), 2u);
}

TEST_F(BroadcastGroupTest, MisuseIsAnInvalidArgument) {
    broadcast_group<pproto> g;
    auto empty = g.add(actor_ref<pproto>{});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code(), errc::invalid_argument);
    broadcast_group<pproto> moved = std::move(g);
    // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from group is the point
    auto r = g.tell(note{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_EQ(g.size(), 0u); // NOLINT(bugprone-use-after-move): as above
    auto none = moved.tell(note{1});
    ASSERT_TRUE(none);
    EXPECT_EQ(none->accepted, 0u);
}

} // namespace
