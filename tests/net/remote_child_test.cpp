// Part of troupe. See LICENSE at the repository root.

// Supervised children on another node (`remote_child`, `node::allow_spawn`):
// the supervisor on the front node reacts to the remote actor's failures,
// to the loss of its node and to its own stop as it does for a local child.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>
#include <troupe/net/remote_child.hpp>
#include <troupe/supervision/supervisor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace rc {
/// Answers how many `work`s this incarnation handled.
struct work {
    using reply_type = std::uint64_t;
    std::uint64_t n = 0;
    MSGPACK_DEFINE(n)
};
struct boom {
    std::uint8_t unused = 0;
    MSGPACK_DEFINE(unused)
};
struct other {
    using reply_type = int;
    int x = 0;
    MSGPACK_DEFINE(x)
};
} // namespace rc
TROUPE_WIRE_TYPE(::rc::work, "rc.work", 1);
TROUPE_WIRE_TYPE(::rc::boom, "rc.boom", 1);
TROUPE_WIRE_TYPE(::rc::other, "rc.other", 1);

namespace troupe::net {
namespace {

using namespace std::chrono_literals;
using worker_protocol = std::variant<rc::work, rc::boom>;

/// Counts the workers the back node built and destroyed.
struct tracker {
    std::mutex mutex;
    std::condition_variable cv;
    int built = 0;
    int alive = 0;
    void change(int b, int a) {
        {
            std::lock_guard lock(mutex);
            built += b;
            alive += a;
        }
        cv.notify_all();
    }
    bool wait(int b, int a) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 20s, [&] { return built == b && alive == a; });
    }
};

class worker final : public actor<worker_protocol> {
public:
    explicit worker(tracker* t) : tracker_(t) { tracker_->change(1, 1); }
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;
    worker(worker&&) = delete;
    worker& operator=(worker&&) = delete;
    ~worker() override { tracker_->change(0, -1); }

    std::uint64_t on(rc::work& /*unused*/) { return ++handled_; }
    void on(rc::boom& /*unused*/) { throw std::runtime_error("boom on the back node"); }

private:
    tracker* tracker_;
    std::uint64_t handled_ = 0;
};

/// A local child that fails on request (for the group strategies).
class local final : public actor<rc::boom> {
public:
    void on(rc::boom& /*unused*/) { throw std::runtime_error("local boom"); }
};

/// The supervisor's events, for the test thread to wait on.
struct event_log {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<supervision_event> events;
    std::function<void(const supervision_event&)> hook() {
        return [this](const supervision_event& e) {
            {
                std::lock_guard lock(mutex);
                events.push_back(e);
            }
            cv.notify_all();
        };
    }
    /// The first event of kind `k` (after `skip` of them), waiting up to 20 s.
    std::optional<supervision_event> wait(supervision_event::kind k, std::size_t skip = 0) {
        std::unique_lock lock(mutex);
        std::optional<supervision_event> found;
        cv.wait_for(lock, 20s, [&] {
            std::size_t seen = 0;
            for (const auto& e : events) {
                if (e.what == k && seen++ == skip) {
                    found = e;
                    return true;
                }
            }
            return false;
        });
        return found;
    }
};

struct front_and_back {
    front_and_back() {
        node_options o;
        o.secret = "a shared cluster secret";
        o.name = "back";
        back = *node::attach(back_sys, o);
        o.name = "front";
        front = *node::attach(front_sys, o);
        EXPECT_TRUE(back->allow_spawn<worker>("worker", spawn_options{}, &workers));
        auto port = back->listen();
        EXPECT_TRUE(port);
        EXPECT_TRUE(front->connect("127.0.0.1", *port));
    }
    /// A supervisor of `children`; with `wait_started`, once it has started them.
    actor_ref<supervisor_protocol> supervise(std::vector<child_spec> children,
                                             supervisor_options opts = {},
                                             bool wait_started = true) {
        opts.on_event = log.hook();
        auto sup =
            front_sys.spawn_named<supervisor>("sup", spawn_options{}, opts, std::move(children));
        if (!wait_started) { // it may have given up already (then the spawn says so)
            return sup ? *sup : actor_ref<supervisor_protocol>{};
        }
        EXPECT_TRUE(sup) << sup.error();
        if (!sup) {
            return {};
        }
        // Answered after the supervisor's start, which spawned its children.
        EXPECT_TRUE(sup->ask(which_children{}, 10s).get());
        return *sup;
    }
    actor_ref<worker_protocol> child() {
        auto c = front_sys.find<worker_protocol>("/user/sup/worker");
        EXPECT_TRUE(c) << c.error();
        return c ? *c : actor_ref<worker_protocol>{};
    }

    tracker workers; // outlives both systems
    event_log log;
    troupe::system back_sys;
    troupe::system front_sys;
    std::shared_ptr<node> back;
    std::shared_ptr<node> front;
};

TEST(RemoteChild, RunsOnThePeerAndMessagesSentWhileItStartsWaitInOrder) {
    front_and_back t;
    t.supervise({remote_child<worker_protocol>("worker", t.front, "back", "worker")});
    auto w = t.child();
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(w.tell(rc::work{}));
    }
    auto handled = w.ask(rc::work{}, 10s).get();
    ASSERT_TRUE(handled) << handled.error();
    EXPECT_EQ(*handled, 51u);          // every tell before it, once, on one incarnation
    EXPECT_TRUE(t.workers.wait(1, 1)); // built on the back node
}

TEST(RemoteChild, ARemoteFailureRestartsItWithTheRealCause) {
    front_and_back t;
    t.supervise({remote_child<worker_protocol>("worker", t.front, "back", "worker")});
    auto w = t.child();
    ASSERT_TRUE(w.ask(rc::work{}, 10s).get());
    EXPECT_TRUE(w.tell(rc::boom{}));
    auto failure = t.log.wait(supervision_event::kind::failure);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause.code(), errc::exception) << failure->cause; // as a local child's
    EXPECT_NE(failure->cause.to_string().find("boom on the back node"), std::string::npos)
        << failure->cause;
    ASSERT_TRUE(t.log.wait(supervision_event::kind::restart));
    // The same ref reaches the new incarnation on the back node.
    auto handled = w.ask(rc::work{}, 10s).get();
    ASSERT_TRUE(handled) << handled.error();
    EXPECT_EQ(*handled, 1u);
    EXPECT_TRUE(t.workers.wait(2, 1));
}

TEST(RemoteChild, StoppingTheSupervisorStopsTheRemoteActor) {
    front_and_back t;
    auto sup = t.supervise({remote_child<worker_protocol>("worker", t.front, "back", "worker")});
    ASSERT_TRUE(t.child().ask(rc::work{}, 10s).get());
    ASSERT_TRUE(sup.stop());
    auto cause = t.front_sys.wait_for_exit(sup.addr(), 20s);
    ASSERT_TRUE(cause);
    EXPECT_FALSE(*cause) << *cause;
    EXPECT_TRUE(t.workers.wait(1, 0));     // the back node's worker went with it
    EXPECT_EQ(t.back->peers().size(), 1u); // the link stays
}

TEST(RemoteChild, AGroupRestartReplacesTheRemoteActor) {
    front_and_back t;
    supervisor_options o;
    o.strategy = restart_strategy::one_for_all;
    t.supervise({make_child<local>("local"),
                 remote_child<worker_protocol>("worker", t.front, "back", "worker")},
                o);
    auto w = t.child();
    ASSERT_TRUE(w.ask(rc::work{}, 10s).get());
    auto l = t.front_sys.find<rc::boom>("/user/sup/local");
    ASSERT_TRUE(l);
    EXPECT_TRUE(l->tell(rc::boom{}));
    ASSERT_TRUE(t.log.wait(supervision_event::kind::restart));
    // The old remote actor stopped and a new one was built (the restart
    // event comes before the group's teardown; an ask sent before it ends
    // could still reach the old one).
    EXPECT_TRUE(t.workers.wait(2, 1));
    auto handled = w.ask(rc::work{}, 10s).get();
    ASSERT_TRUE(handled) << handled.error();
    EXPECT_EQ(*handled, 1u); // on the new one
}

TEST(RemoteChild, LosingItsNodeIsAFailureAndRestartsThatCannotReachItGiveUp) {
    front_and_back t;
    supervisor_options o;
    o.max_restarts = 2;
    auto sup = t.supervise({remote_child<worker_protocol>("worker", t.front, "back", "worker")}, o);
    ASSERT_TRUE(t.child().ask(rc::work{}, 10s).get());
    t.back->close();
    auto failure = t.log.wait(supervision_event::kind::failure);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause.code(), errc::node_unreachable) << failure->cause;
    auto gave_up = t.log.wait(supervision_event::kind::give_up);
    ASSERT_TRUE(gave_up);
    auto cause = t.front_sys.wait_for_exit(sup.addr(), 20s);
    ASSERT_TRUE(cause);
    EXPECT_EQ(cause->code(), errc::escalated) << *cause;
    EXPECT_TRUE(t.workers.wait(1, 0)); // the lost link stopped the worker on the back node
}

TEST(RemoteChild, AKindThePeerDoesNotAllowIsAStartFailure) {
    front_and_back t;
    supervisor_options o;
    o.max_restarts = 0;
    t.supervise({remote_child<worker_protocol>("worker", t.front, "back", "no-such-kind")}, o,
                false);
    auto failure = t.log.wait(supervision_event::kind::failure);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause.code(), errc::receiver_down) << failure->cause;
    EXPECT_TRUE(t.log.wait(supervision_event::kind::give_up));
}

TEST(RemoteChild, AnotherProtocolIsATypeMismatch) {
    front_and_back t;
    supervisor_options o;
    o.max_restarts = 0;
    t.supervise({remote_child<rc::other>("worker", t.front, "back", "worker")}, o, false);
    auto failure = t.log.wait(supervision_event::kind::failure);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause.code(), errc::type_mismatch) << failure->cause;
}

TEST(RemoteChild, AnUnknownPeerIsNodeUnreachable) {
    front_and_back t;
    supervisor_options o;
    o.max_restarts = 0;
    t.supervise({remote_child<worker_protocol>("worker", t.front, "nobody", "worker")}, o, false);
    auto failure = t.log.wait(supervision_event::kind::failure);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause.code(), errc::node_unreachable) << failure->cause;
    EXPECT_TRUE(t.workers.wait(0, 0));
}

TEST(RemoteChild, MisuseIsRefused) {
    front_and_back t;
    const auto outside = t.front->spawn_then<worker_protocol>(
        t.front_sys.spawn<local>().addr(), "back", "worker", 1s,
        [](expected<actor_ref<worker_protocol>> /*unused*/) {});
    ASSERT_FALSE(outside);
    EXPECT_EQ(outside.error().code(), errc::invalid_argument);
    EXPECT_EQ(t.back->allow_spawn<worker>("worker", spawn_options{}, &t.workers).error().code(),
              errc::name_taken);
    EXPECT_EQ(t.back->allow_spawn<worker>("", spawn_options{}, &t.workers).error().code(),
              errc::invalid_argument);
}

} // namespace
} // namespace troupe::net
