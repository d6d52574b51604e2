// Part of troupe. See LICENSE at the repository root.
// Misuse of the public API answers with errors, never a crash: empty refs,
// refs that outlive their system, "no deadline" durations, bad intervals and
// bad spawn options (deterministic: manual executor and clock).

#include "test_support.hpp"

#include <limits>

namespace troupe {
namespace {

using namespace test_support;

static_assert(std::is_nothrow_default_constructible_v<actor_addr>);
static_assert(std::is_nothrow_default_constructible_v<actor_ref<rec_proto>>);
static_assert(std::is_nothrow_move_constructible_v<actor_ref<rec_proto>>);

class MisuseTest : public ManualSystemTest {};

template <class T>
errc code_of(const expected<T>& r) {
    return r ? errc::none : r.error().code();
}
template <class R>
errc code_of(std::optional<expected<R>> r) {
    return r ? code_of(*r) : errc::unsupported; // not ready: never a valid answer here
}

// ---- empty refs and addresses ------------------------------------------------------

TEST_F(MisuseTest, EmptyRefAndAddressRefuseEveryOperation) {
    actor_ref<rec_proto> ref;
    EXPECT_EQ(code_of(ref.tell(ping{1})), errc::invalid_argument);
    auto h = ref.ask(get_values{}, 1s);
    ASSERT_TRUE(h.ready()) << "completes at once";
    EXPECT_EQ(code_of(h.try_get()), errc::invalid_argument);
    EXPECT_EQ(code_of(ref.stop()), errc::invalid_argument);

    actor_addr addr;
    EXPECT_FALSE(addr);
    EXPECT_EQ(ref.addr(), addr);
    EXPECT_EQ(addr.id(), 0u);
    EXPECT_FALSE(addr.path().empty());
    EXPECT_EQ(code_of(addr.stop()), errc::invalid_argument);
    EXPECT_EQ(code_of(addr.stop(error{errc::stopped})), errc::invalid_argument);
    EXPECT_EQ(code_of(addr.kill()), errc::invalid_argument);
    EXPECT_EQ(code_of(addr.exit_cause()), errc::invalid_argument);
    EXPECT_EQ(code_of(sys_->counters(addr)), errc::invalid_argument);
    bool called = false;
    EXPECT_EQ(code_of(sys_->on_exit(addr, [&](const error&) { called = true; })),
              errc::invalid_argument);
    EXPECT_EQ(code_of(sys_->wait_for_exit(addr, 1s)), errc::invalid_argument);
    run();
    EXPECT_FALSE(called);
    EXPECT_EQ(sys_->dead_letters().total(), 0u);
    EXPECT_EQ(sys_->live_actors(), 0);
}

// ---- shutdown from inside ------------------------------------------------------------

struct shut_down_now {
    using reply_type = errc;
};
class self_shutter : public actor<shut_down_now> {
public:
    errc on(shut_down_now&) {
        auto r = system().shutdown(1s);
        return r ? errc::none : r.error().code();
    }
};

TEST_F(MisuseTest, ShutdownFromInsideAHandlerIsRefusedWithWouldBlock) {
    auto a = sys_->spawn<self_shutter>();
    auto h = a.ask(shut_down_now{}, 1s);
    run();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, errc::would_block);
    // The system is untouched: it still runs actors.
    record& rec = new_record();
    auto b = sys_->spawn<recorder>(&rec);
    EXPECT_TRUE(b.tell(ping{1}));
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1}));
    EXPECT_FALSE(a.addr().is_terminated());
}

struct block_on_others {
    using reply_type = std::pair<errc, bool>; // wait_for_exit's code, wait_for's answer
    actor_ref<rec_proto> other;
};
class impatient : public actor<block_on_others> {
public:
    std::pair<errc, bool> on(block_on_others& m) {
        auto exit = system().wait_for_exit(m.other.addr(), 1h);
        auto pending = m.other.ask(get_values{}, 1h);
        const bool known = pending.wait_for(1h);
        return {exit ? errc::none : exit.error().code(), known};
    }
};

TEST_F(MisuseTest, BlockingWaitsInsideAHandlerReturnAtOnceInsteadOfStallingTheWorker) {
    record& rec = new_record();
    auto other = sys_->spawn<recorder>(&rec);
    auto a = sys_->spawn<impatient>();
    auto h = a.ask(block_on_others{other}, 1s);
    run();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->first, errc::would_block) << "wait_for_exit is refused inside an actor";
    EXPECT_FALSE((*r)->second) << "wait_for does not wait inside an actor";
}

// ---- refs that outlive their system ----------------------------------------------

TEST_F(MisuseTest, RefsOutliveTheirSystem) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    const actor_addr addr = r.addr();
    EXPECT_TRUE(r.tell(ping{1}));
    run();
    ASSERT_TRUE(shutdown());
    ASSERT_FALSE(sys_) << "the system is gone";
    EXPECT_TRUE(addr.is_terminated());
    EXPECT_EQ(code_of(r.tell(ping{2})), errc::receiver_down);
    auto h = r.ask(get_values{}, 1s);
    ASSERT_TRUE(h.ready()) << "completes at once, without the system's clock";
    EXPECT_EQ(code_of(h.try_get()), errc::receiver_down);
    auto cause = addr.exit_cause();
    ASSERT_TRUE(cause);
    EXPECT_FALSE(*cause) << "stopped normally by the shutdown";
    EXPECT_TRUE(r.stop()); // requests to a dead actor: answered, no crash
    EXPECT_TRUE(addr.kill());
    EXPECT_NE(addr.path().find('$'), std::string::npos);
    EXPECT_EQ(rec.values, (std::vector<int>{1}));
}

// ---- duration::max(): no deadline ---------------------------------------------------

constexpr duration a_year = std::chrono::hours(24 * 365);

TEST_F(MisuseTest, AskWithDurationMaxNeverTimesOut) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    run();
    auto h = r.ask(get_values{}, duration::max());
    EXPECT_EQ(clk_.pending(), 0u) << "no deadline, no timer";
    clk_.advance(a_year);
    EXPECT_FALSE(h.ready()) << "a year later: still waiting";
    EXPECT_TRUE(r.tell(ping{3}));
    run();
    auto v = h.try_get();
    ASSERT_TRUE(v && *v);
    EXPECT_TRUE((*v)->empty()) << "answered before the ping";
}

struct arm_never {
    timer_handle* out;
};
struct arm_periodic_every {
    using reply_type = errc;
    duration interval;
};
using timer_proto = std::variant<arm_never, arm_periodic_every>;
class timer_owner : public actor<timer_proto> {
public:
    explicit timer_owner(actor_ref<rec_proto> to) : to_(std::move(to)) {}
    void on(arm_never& m) { *m.out = delayed_tell(to_, duration::max(), ping{7}); }
    errc on(arm_periodic_every& m) {
        auto h = periodic_tell(to_, m.interval, ping{8});
        if (!h) {
            return h.error().code();
        }
        h->cancel();
        return errc::none;
    }

private:
    actor_ref<rec_proto> to_;
};

TEST_F(MisuseTest, DelayedTellWithDurationMaxNeverFiresButStaysActive) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto t = sys_->spawn<timer_owner>(r);
    timer_handle never;
    timer_handle cancelled;
    EXPECT_TRUE(t.tell(arm_never{&never}));
    EXPECT_TRUE(t.tell(arm_never{&cancelled}));
    run();
    EXPECT_TRUE(never.is_active());
    EXPECT_TRUE(cancelled.is_active());
    EXPECT_EQ(clk_.pending(), 0u) << "never scheduled";
    advance(a_year);
    advance(a_year);
    EXPECT_TRUE(rec.values.empty());
    EXPECT_TRUE(never.is_active());
    cancelled.cancel();
    EXPECT_FALSE(cancelled.is_active());
    EXPECT_TRUE(t.stop());
    run();
    EXPECT_FALSE(never.is_active()) << "cancelled with its owner";
    EXPECT_TRUE(rec.values.empty());
}

TEST_F(MisuseTest, PeriodicTellNeedsAPositiveInterval) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    auto t = sys_->spawn<timer_owner>(r);
    auto reply = [&](duration d) -> errc {
        auto h = t.ask(arm_periodic_every{d}, 1s);
        run();
        auto v = h.try_get();
        if (!v || !*v) {
            ADD_FAILURE() << "no reply";
            return errc::unsupported;
        }
        return **v;
    };
    EXPECT_EQ(reply(duration::zero()), errc::invalid_argument);
    EXPECT_EQ(reply(-1s), errc::invalid_argument);
    EXPECT_EQ(reply(duration::min()), errc::invalid_argument);
    EXPECT_EQ(reply(1ns), errc::none);
    EXPECT_EQ(reply(1s), errc::none);
    EXPECT_FALSE(t.addr().is_terminated()) << "an error value, not a failure";
    advance(1h);
    EXPECT_TRUE(rec.values.empty());
}

// ---- spawn option validation ------------------------------------------------------

struct bad_options {
    std::string what;
    spawn_options opts;
};

/// An interceptor whose check refuses the spawn.
class refusing_interceptor final : public message_interceptor {
public:
    void on_user_message(intercepted_message&) override {}
    [[nodiscard]] expected<void> check() const override {
        return fail(errc::invalid_argument, "refused by the interceptor");
    }
};

std::vector<bad_options> bad_cases() {
    std::vector<bad_options> out;
    {
        spawn_options o;
        o.capacity = 0;
        out.push_back({"capacity 0", o});
    }
    {
        spawn_options o;
        o.capacity = mailbox::max_capacity + 1;
        out.push_back({"capacity above max", o});
    }
    {
        spawn_options o;
        o.capacity = std::numeric_limits<std::uint32_t>::max();
        out.push_back({"capacity uint32 max", o});
    }
    {
        spawn_options o;
        o.policy = overflow_policy::redirect;
        out.push_back({"redirect without target", o});
    }
    {
        spawn_options o;
        o.block_timeout = -1ns;
        out.push_back({"negative block timeout", o});
    }
    {
        spawn_options o;
        o.interceptor = std::make_shared<refusing_interceptor>();
        out.push_back({"interceptor check", o});
    }
    return out;
}

struct spawn_kid_with {
    using reply_type = actor_addr;
    spawn_options opts;
};
class spawner : public actor<spawn_kid_with> {
public:
    explicit spawner(record* r) : r_(r) {}
    actor_addr on(spawn_kid_with& m) { return spawn_named<recorder>("kid", m.opts, r_).addr(); }

private:
    record* r_;
};

TEST_F(MisuseTest, InvalidSpawnOptionsRefuseTheSpawn) {
    record& rec = new_record();
    auto parent = sys_->spawn<spawner>(&rec);
    run();
    for (const auto& c : bad_cases()) {
        SCOPED_TRACE(c.what);
        auto r = sys_->spawn_with<recorder>(c.opts, &rec);
        ASSERT_TRUE(r) << "a ref to an actor that has terminated";
        ASSERT_TRUE(r.addr().is_terminated());
        auto cause = r.addr().exit_cause();
        ASSERT_TRUE(cause);
        EXPECT_EQ(cause->code(), errc::invalid_argument);
        EXPECT_EQ(code_of(r.tell(ping{1})), errc::receiver_down);

        auto named = sys_->spawn_named<recorder>("named", c.opts, &rec);
        ASSERT_FALSE(named);
        EXPECT_EQ(named.error().code(), errc::invalid_argument);

        auto h = parent.ask(spawn_kid_with{c.opts}, 1s);
        run();
        auto kid = h.try_get();
        ASSERT_TRUE(kid && *kid);
        ASSERT_TRUE(**kid);
        ASSERT_TRUE((*kid)->is_terminated()) << "a child spawn is refused the same way";
        EXPECT_EQ((*kid)->exit_cause()->code(), errc::invalid_argument);
    }
    EXPECT_EQ(sys_->live_actors(), 1) << "only the parent";
    EXPECT_TRUE(rec.values.empty());
    EXPECT_EQ(rec.stops, 0) << "a refused actor never ran";
}

TEST_F(MisuseTest, SpawnChildOfAnEmptyOrDeadParentIsRefused) {
    record& rec = new_record();
    auto none = system::spawn_child_of<recorder>(actor_addr{}, "kid", {}, &rec);
    EXPECT_EQ(code_of(none), errc::invalid_argument);

    auto parent = sys_->spawn<recorder>(&rec);
    auto kid = system::spawn_child_of<recorder>(parent.addr(), "kid", {}, &rec);
    ASSERT_TRUE(kid);
    EXPECT_EQ(kid->path(), parent.path() + "/kid");
    auto twin = system::spawn_child_of<recorder>(parent.addr(), "kid", {}, &rec);
    ASSERT_TRUE(twin);
    ASSERT_TRUE(twin->addr().is_terminated()) << "a taken name refuses the spawn";
    EXPECT_EQ(twin->addr().exit_cause()->code(), errc::name_taken);
    ASSERT_TRUE(kid->tell(ping{1}));
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1}));

    ASSERT_TRUE(parent.stop());
    run();
    EXPECT_TRUE(kid->addr().is_terminated()) << "an adopted child stops with its parent";
    auto late = system::spawn_child_of<recorder>(parent.addr(), "late", {}, &rec);
    ASSERT_TRUE(late);
    EXPECT_TRUE(late->addr().is_terminated());
    EXPECT_EQ(late->addr().exit_cause()->code(), errc::receiver_down);
    EXPECT_EQ(sys_->live_actors(), 0);
}

TEST_F(MisuseTest, CapacityBoundsAreInclusive) {
    record& rec = new_record();
    for (std::uint32_t capacity : {std::uint32_t{1}, mailbox::max_capacity}) {
        SCOPED_TRACE(capacity);
        auto r = sys_->spawn_with<recorder>(options(capacity, overflow_policy::reject), &rec);
        EXPECT_FALSE(r.addr().is_terminated());
        EXPECT_TRUE(r.tell(ping{static_cast<int>(capacity % 1000)}));
        auto named = sys_->spawn_named<recorder>("c" + std::to_string(capacity),
                                                 options(capacity, overflow_policy::reject), &rec);
        EXPECT_TRUE(named) << (named ? "" : named.error().to_string());
    }
    run();
    EXPECT_EQ(rec.values, (std::vector<int>{1, static_cast<int>(mailbox::max_capacity % 1000)}));
    spawn_options redirect;
    redirect.policy = overflow_policy::redirect;
    redirect.redirect_to = sys_->spawn<recorder>(&rec).addr();
    EXPECT_FALSE(sys_->spawn_with<recorder>(redirect, &rec).addr().is_terminated());
    spawn_options zero_block;
    zero_block.block_timeout = duration::zero();
    EXPECT_FALSE(sys_->spawn_with<recorder>(zero_block, &rec).addr().is_terminated());
}

// ---- interceptor drops -----------------------------------------------------------

/// Drops every user message.
class dropper final : public message_interceptor {
public:
    void on_user_message(intercepted_message& m) override { m.drop(); }
};

TEST_F(MisuseTest, InterceptorDropsAreInjectedDropDeadLetters) {
    std::vector<dead_letter_reason> reasons;
    (void)sys_->dead_letters().hooks().add(
        [&](const dead_letter& d) { reasons.push_back(d.reason); });
    record& rec = new_record();
    spawn_options o;
    o.interceptor = std::make_shared<dropper>();
    auto r = sys_->spawn_with<recorder>(o, &rec);
    EXPECT_TRUE(r.tell(ping{1}));
    EXPECT_TRUE(r.tell(ping{2}));
    auto h = r.ask(get_values{}, 1s);
    run();
    EXPECT_EQ(code_of(h.try_get()), errc::dropped);
    EXPECT_TRUE(rec.values.empty());
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::injected_drop), 3u);
    EXPECT_EQ(sys_->dead_letters().count(dead_letter_reason::dropped_newest), 0u);
    EXPECT_EQ(reasons, (std::vector<dead_letter_reason>(3, dead_letter_reason::injected_drop)));
    auto c = sys_->counters(r.addr()).value();
    EXPECT_EQ(c.dropped, 3u);
    EXPECT_EQ(c.processed, 0u);
    EXPECT_EQ(c.accounted(), 3u);
}

} // namespace
} // namespace troupe
