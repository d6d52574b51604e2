// Part of troupe. See LICENSE at the repository root.
// Misuse on real threads (work-stealing scheduler): shutting down or
// destroying a system from inside one of its own handlers, and refs that
// outlive a threaded system. Synchronisation is by asks, flags and condition
// variables only; waits are bounded, nothing is timed.

#include "test_support.hpp"

#include <condition_variable>
#include <mutex>

namespace troupe {
namespace {

using namespace test_support;

/// A flag set on one thread and awaited on another, by bounded waits.
struct flag {
    std::mutex m;
    std::condition_variable cv;
    std::atomic<bool> set{false};
    void raise() {
        {
            std::lock_guard lock(m);
            set.store(true);
        }
        cv.notify_all();
    }
    /// Waits up to 600 waits of 100 ms (a minute): true once raised.
    bool wait() {
        std::unique_lock lock(m);
        for (int i = 0; i < 600 && !set.load(); ++i) {
            cv.wait_for(lock, std::chrono::milliseconds(100));
        }
        return set.load();
    }
};

struct shut_down_now {
    using reply_type = errc;
};
class self_shutter : public actor<shut_down_now> {
public:
    errc on(shut_down_now&) {
        auto r = system().shutdown(std::chrono::seconds(1));
        return r ? errc::none : r.error().code();
    }
};

TEST(MisuseStressTest, ShutdownFromInsideAHandlerIsRefusedWithWouldBlock) {
    troupe::system sys({.workers = 2});
    auto a = sys.spawn<self_shutter>();
    auto r = a.ask(shut_down_now{}, 60s).get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, errc::would_block);
    EXPECT_FALSE(a.addr().is_terminated()) << "the system still runs";
    auto again = a.ask(shut_down_now{}, 60s).get();
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(*again, errc::would_block);
    EXPECT_TRUE(sys.shutdown(60s)) << "from outside it works";
    EXPECT_TRUE(a.addr().is_terminated());
}

struct destroy_system {};
class system_destroyer : public actor<destroy_system> {
public:
    system_destroyer(std::unique_ptr<troupe::system>* holder, std::shared_ptr<flag> done)
        : holder_(holder), done_(std::move(done)) {}
    void on(destroy_system&) {
        holder_->reset(); // must not terminate the process nor wait for itself
        done_->raise();
    }

private:
    std::unique_ptr<troupe::system>* holder_;
    std::shared_ptr<flag> done_;
};

errc code_of_tell(const actor_ref<destroy_system>& a) {
    auto r = a.tell(destroy_system{});
    return r ? errc::none : r.error().code();
}

TEST(MisuseStressTest, DestroyingASystemFromInsideAHandlerDoesNotTerminate) {
    auto sys = std::make_unique<troupe::system>(system_config{.workers = 2});
    auto destroyed = std::make_shared<flag>();
    auto exited = std::make_shared<flag>();
    auto a = sys->spawn<system_destroyer>(&sys, destroyed);
    ASSERT_TRUE(sys->on_exit(a.addr(), [exited](const error&) { exited->raise(); }));
    ASSERT_TRUE(a.tell(destroy_system{}));
    // From here on `sys` belongs to the handler: this thread only waits.
    ASSERT_TRUE(destroyed->wait()) << "the handler returned from the destructor";
    EXPECT_TRUE(exited->wait()) << "the system stopped its actors in the background";
    EXPECT_TRUE(a.addr().is_terminated());
    EXPECT_EQ(code_of_tell(a), errc::receiver_down);
}

TEST(MisuseStressTest, RefsOutliveAThreadedSystem) {
    record rec;
    actor_ref<rec_proto> r;
    {
        troupe::system sys({.workers = 2});
        r = sys.spawn<recorder>(&rec);
        EXPECT_TRUE(r.tell(ping{1}));
        auto v = r.ask(get_values{}, 60s).get();
        ASSERT_TRUE(v) << v.error();
        EXPECT_EQ(*v, (std::vector<int>{1}));
    }
    const actor_addr addr = r.addr();
    EXPECT_TRUE(addr.is_terminated());
    auto told = r.tell(ping{2});
    ASSERT_FALSE(told);
    EXPECT_EQ(told.error().code(), errc::receiver_down);
    auto h = r.ask(get_values{}, 60s);
    ASSERT_TRUE(h.ready()) << "completes at once";
    auto v = h.get();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code(), errc::receiver_down);
    EXPECT_TRUE(addr.stop());
    EXPECT_TRUE(addr.kill());
    auto cause = addr.exit_cause();
    ASSERT_TRUE(cause);
    EXPECT_FALSE(*cause);
    EXPECT_EQ(rec.stops, 1);
}

} // namespace
} // namespace troupe
