// Part of troupe. See LICENSE at the repository root.
// Deferred replies (response_promise), forwarding, ask().then and
// when_all / when_any: deterministic, on the manual executor and clock.

#include <troupe/actors/current_actor.hpp>
#include <troupe/actors/response_promise.hpp>

#include "test_support.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace troupe {
namespace {

using namespace test_support;

template <class R>
errc code_of(const std::optional<expected<R>>& r) {
    if (!r) {
        return errc::unsupported; // not ready: never a valid answer here
    }
    return *r ? errc::none : r->error().code();
}
template <class R>
errc code_of(ask_handle<R>& h) {
    return code_of(h.try_get());
}

// ---- protocols --------------------------------------------------------------------

struct square {
    using reply_type = int;
    int n = 0;
};
struct release {}; // answers every held request
struct held_count {
    using reply_type = int;
};
using worker_proto = std::variant<square, release, held_count>;

/// Answers `square` at once and records the trace id it ran under.
class squaring_worker : public actor<worker_proto> {
public:
    explicit squaring_worker(std::vector<std::uint64_t>* traces) : traces_(traces) {}
    int on(square& m) {
        traces_->push_back(trace_id());
        return m.n * m.n;
    }
    void on(release&) {}
    int on(held_count&) { return 0; }

private:
    std::vector<std::uint64_t>* traces_;
};

/// Holds each request's promise until `release`; records each answer's result.
class holding_worker : public actor<worker_proto> {
public:
    explicit holding_worker(std::vector<expected<void>>* results) : results_(results) {}
    void on(square& m, response_promise<int> reply) { held_.emplace_back(m.n, std::move(reply)); }
    void on(release&) {
        for (auto& [n, reply] : held_) {
            results_->push_back(reply.reply(n * n));
        }
        held_.clear();
    }
    int on(held_count&) { return static_cast<int>(held_.size()); }

private:
    std::vector<expected<void>>* results_;
    std::vector<std::pair<int, response_promise<int>>> held_;
};

class ReplyTest : public ManualSystemTest {
protected:
    template <class P, class M>
    auto ask_now(const actor_ref<P>& to, M m) {
        auto h = to.ask(std::move(m), 10s);
        run();
        auto r = h.try_get();
        EXPECT_TRUE(r.has_value()) << "no answer after the actors went idle";
        return r.value_or(troupe::unexpected(error{errc::unsupported, "not answered"}));
    }
    std::vector<expected<void>> results_;
    std::vector<std::uint64_t> traces_;
};

// ---- deferred replies ---------------------------------------------------------------

TEST_F(ReplyTest, DeferredReplyArrivesFromALaterTurn) {
    auto w = sys_->spawn<holding_worker>(&results_);
    auto h = w.ask(square{7}, 10s);
    run();
    EXPECT_FALSE(h.ready()) << "the handler returned without answering";
    EXPECT_EQ(ask_now(w, held_count{}), 1);
    EXPECT_TRUE(w.tell(release{}));
    run();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, 49);
    ASSERT_EQ(results_.size(), 1u);
    EXPECT_TRUE(results_[0]);
}

TEST_F(ReplyTest, DeferredReplyFromAnotherThread) {
    std::optional<response_promise<int>> slot;
    auto w = sys_->spawn_fn<square>(
        [&](square&, response_promise<int> reply) { slot.emplace(std::move(reply)); });
    auto h = w.ask(square{3}, 10s);
    run();
    ASSERT_TRUE(slot.has_value());
    expected<void> sent;
    std::thread other([&] { sent = slot->reply(9); });
    other.join();
    EXPECT_TRUE(sent);
    auto r = h.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 9);
}

TEST_F(ReplyTest, DroppingThePromiseUnansweredFailsTheAskerWithBrokenPromise) {
    auto w = sys_->spawn_fn<square>([](square&, response_promise<int>) {});
    auto r = ask_now(w, square{2});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::broken_promise);
}

TEST_F(ReplyTest, ReplyingTwiceIsRefusedAndTheFirstAnswerStands) {
    std::vector<expected<void>> answers;
    auto w = sys_->spawn_fn<square>([&](square& m, response_promise<int> reply) {
        answers.push_back(reply.reply(m.n));
        answers.push_back(reply.reply(-1));
        answers.push_back(reply.fail(error{errc::stopped}));
    });
    auto r = ask_now(w, square{5});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 5);
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_TRUE(answers[0]);
    EXPECT_EQ(answers[1].error().code(), errc::already_replied);
    EXPECT_EQ(answers[2].error().code(), errc::already_replied);
}

TEST_F(ReplyTest, FailingThePromiseHandsTheErrorToTheAsker) {
    auto w = sys_->spawn_fn<square>([](square&, response_promise<int> reply) {
        (void)reply.fail(error{errc::invalid_argument, "negative"});
    });
    auto r = ask_now(w, square{-1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_EQ(r.error().message(), "negative");
}

TEST_F(ReplyTest, AThrowBeforeAnsweringFailsTheAskerWithTheExceptionsText) {
    auto w = sys_->spawn_fn<square>(
        [](square&, response_promise<int>) { throw std::runtime_error("disk on fire"); });
    auto r = ask_now(w, square{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::handler_failed);
    EXPECT_NE(r.error().to_string().find("disk on fire"), std::string::npos) << r.error();
}

TEST_F(ReplyTest, APromiseDroppedDuringACaughtExceptionStillBreaks) {
    auto w = sys_->spawn_fn<square>([](square&, response_promise<int> reply) {
        try {
            response_promise<int> local = std::move(reply);
            throw std::runtime_error("handled");
        } catch (const std::runtime_error&) {
            // swallowed: the handler returns normally, unanswered
        }
    });
    auto r = ask_now(w, square{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::broken_promise);
    EXPECT_FALSE(w.addr().is_terminated()) << "the handler did not fail";
}

TEST_F(ReplyTest, AnAnswerAfterTheDeadlineIsRefusedAndCountedLate) {
    auto w = sys_->spawn<holding_worker>(&results_);
    auto h = w.ask(square{4}, 5s);
    run();
    advance(5s);
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(code_of(h), errc::timeout);
    EXPECT_TRUE(w.tell(release{}));
    run();
    ASSERT_EQ(results_.size(), 1u);
    ASSERT_FALSE(results_[0]);
    EXPECT_EQ(results_[0].error().code(), errc::timeout);
    EXPECT_EQ(sys_->late_replies(), 1u);
}

TEST_F(ReplyTest, AToldMessageGivesAPromiseWithNobodyToAnswer) {
    std::vector<bool> had_asker;
    std::vector<expected<void>> answers;
    auto w = sys_->spawn_fn<square>([&](square& m, response_promise<int> reply) {
        had_asker.push_back(reply.has_asker());
        answers.push_back(reply.reply(m.n));
    });
    EXPECT_TRUE(w.tell(square{1}));
    run();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_FALSE(had_asker[0]);
    EXPECT_TRUE(answers[0]) << "nobody waits: answering is not an error";
}

TEST_F(ReplyTest, ACoroutineHandlerCanAnswerThroughItsPromise) {
    auto w = sys_->spawn<holding_worker>(&results_);
    auto front = sys_->spawn_fn<square>([w](square& m, response_promise<int> reply) -> task<> {
        auto r = co_await w.ask(square{m.n + 1}, 10s);
        (void)reply.complete(std::move(r));
    });
    auto h = front.ask(square{2}, 10s);
    run();
    EXPECT_FALSE(h.ready());
    EXPECT_TRUE(w.tell(release{}));
    run();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, 9);
}

// ---- forwarding ---------------------------------------------------------------------

TEST_F(ReplyTest, AForwardedAskIsAnsweredByTheNewReceiverUnderTheSameTrace) {
    auto w = sys_->spawn<squaring_worker>(&traces_);
    std::vector<std::uint64_t> gateway_traces;
    std::vector<send_result> sends;
    auto gw = sys_->spawn_fn<square>([&, w](square& m, response_promise<int> reply) {
        gateway_traces.push_back(reply.trace_id());
        sends.push_back(reply.forward(w, square{m.n}));
    });
    auto r = ask_now(gw, square{6});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 36);
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_TRUE(sends[0]);
    ASSERT_EQ(traces_.size(), 1u);
    EXPECT_EQ(traces_[0], gateway_traces[0]) << "the forward keeps the asker's trace";
    EXPECT_EQ(sys_->counters(gw.addr()).value().processed, 1u);
}

TEST_F(ReplyTest, AForwardedAskKeepsItsOriginalDeadline) {
    auto w = sys_->spawn<holding_worker>(&results_);
    auto gw = sys_->spawn_fn<square>(
        [w](square& m, response_promise<int> reply) { (void)reply.forward(w, square{m.n}); });
    auto h = gw.ask(square{1}, 3s);
    run();
    EXPECT_FALSE(h.ready());
    advance(3s);
    EXPECT_EQ(code_of(h), errc::timeout);
}

TEST_F(ReplyTest, ForwardingToAnEmptyRefFailsTheAsker) {
    auto gw = sys_->spawn_fn<square>([](square& m, response_promise<int> reply) {
        EXPECT_EQ(reply.forward(actor_ref<worker_proto>{}, square{m.n}).error().code(),
                  errc::invalid_argument);
        EXPECT_EQ(reply.reply(1).error().code(), errc::already_replied);
    });
    auto r = ask_now(gw, square{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
}

// ---- ask(...).then ------------------------------------------------------------------

struct relay_stats {
    int handled = 0;
    std::vector<bool> on_own_turn;
};

/// A gateway that relays each request to a worker with `then`, answering
/// through the request's promise: it never suspends.
class relay : public actor<square> {
public:
    relay(actor_ref<worker_proto> w, relay_stats* s) : worker_(std::move(w)), stats_(s) {}
    void on(square& m, response_promise<int> reply) {
        ++stats_->handled;
        const std::uint64_t me = addr().id();
        (void)worker_.ask(square{m.n}, 10s)
            .then([reply = std::move(reply), me, s = stats_](expected<int> r) mutable {
                s->on_own_turn.push_back(current_actor_id() == me);
                (void)reply.complete(std::move(r));
            });
    }

private:
    actor_ref<worker_proto> worker_;
    relay_stats* stats_;
};

TEST_F(ReplyTest, ThenKeepsTheAskersMailboxFlowing) {
    relay_stats stats;
    auto w = sys_->spawn<holding_worker>(&results_);
    auto gw = sys_->spawn<relay>(w, &stats);
    std::vector<ask_handle<int>> hs;
    for (int i = 1; i <= 3; ++i) {
        hs.push_back(gw.ask(square{i}, 10s));
    }
    run();
    EXPECT_EQ(stats.handled, 3) << "the relay took every request while the first was pending";
    EXPECT_EQ(ask_now(w, held_count{}), 3);
    for (auto& h : hs) {
        EXPECT_FALSE(h.ready());
    }
    EXPECT_TRUE(w.tell(release{}));
    run();
    for (int i = 0; i < 3; ++i) {
        auto r = hs[static_cast<std::size_t>(i)].try_get();
        ASSERT_TRUE(r && *r);
        EXPECT_EQ(**r, (i + 1) * (i + 1));
    }
    EXPECT_EQ(stats.on_own_turn, (std::vector<bool>{true, true, true}));
}

TEST_F(ReplyTest, ThenWithSeparateCallbacksGetsTheErrorToo) {
    std::vector<std::string> seen;
    auto w = sys_->spawn<holding_worker>(&results_);
    struct go {};
    auto asker = sys_->spawn_fn<go>([&, w](go&) {
        (void)w.ask(square{2}, 1s)
            .then([&](int v) { seen.push_back(std::to_string(v)); },
                  [&](const error& e) { seen.emplace_back(to_string(e.code())); });
    });
    EXPECT_TRUE(asker.tell(go{}));
    run();
    advance(1s);
    EXPECT_EQ(seen, (std::vector<std::string>{"timeout"}));
}

TEST_F(ReplyTest, ThenOnAnAlreadyCompletedAskStillRunsOnALaterTurn) {
    std::vector<std::string> order;
    struct go {};
    auto asker = sys_->spawn_fn<go>([&](go&) {
        auto h = actor_ref<worker_proto>{}.ask(square{1}, 1s); // fails at once: empty ref
        (void)std::move(h).then([&](expected<int> r) {
            order.emplace_back(r ? "value" : to_string(r.error().code()));
        });
        order.emplace_back("handler returned");
    });
    EXPECT_TRUE(asker.tell(go{}));
    run();
    EXPECT_EQ(order, (std::vector<std::string>{"handler returned", "invalid_argument"}));
}

TEST_F(ReplyTest, ThenOutsideAnActorIsRefused) {
    auto w = sys_->spawn<squaring_worker>(&traces_);
    auto h = w.ask(square{1}, 1s);
    auto r = h.then([](expected<int>) {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    run();
}

TEST_F(ReplyTest, AStoppedAskerDropsItsContinuationAndItsPromiseBreaks) {
    relay_stats stats;
    auto w = sys_->spawn<holding_worker>(&results_);
    auto gw = sys_->spawn<relay>(w, &stats);
    auto h = gw.ask(square{3}, 10s);
    run();
    EXPECT_TRUE(gw.stop());
    run();
    EXPECT_EQ(code_of(h), errc::broken_promise)
        << "the continuation holding the promise was dropped with the relay";
    EXPECT_TRUE(w.tell(release{})); // the worker's answer now finds nobody
    run();
    EXPECT_TRUE(stats.on_own_turn.empty()) << "a continuation never outlives its behaviour";
}

TEST_F(ReplyTest, AContinuationThatThrowsFailsTheAsker) {
    auto w = sys_->spawn<squaring_worker>(&traces_);
    struct go {};
    auto asker = sys_->spawn_fn<go>([w](go&) {
        (void)w.ask(square{1}, 1s).then([](expected<int>) {
            throw std::runtime_error("continuation failed");
        });
    });
    EXPECT_TRUE(asker.tell(go{}));
    run();
    ASSERT_TRUE(asker.addr().is_terminated());
    auto cause = asker.addr().exit_cause();
    ASSERT_TRUE(cause);
    EXPECT_NE(cause->to_string().find("continuation failed"), std::string::npos) << *cause;
}

// ---- when_all / when_any ------------------------------------------------------------

struct sum_of_squares {
    using reply_type = int;
    std::vector<int> ns;
};
struct first_square {
    using reply_type = int;
};

TEST_F(ReplyTest, WhenAllWaitsForEveryAskInOrder) {
    auto w = sys_->spawn<holding_worker>(&results_);
    auto summer = sys_->spawn_fn<sum_of_squares>([w](sum_of_squares& m) -> task<int> {
        std::vector<ask_handle<int>> hs;
        for (int n : m.ns) {
            hs.push_back(w.ask(square{n}, 10s));
        }
        int sum = 0;
        for (auto& r : co_await when_all(std::move(hs))) {
            sum += r ? *r : -1000;
        }
        co_return sum;
    });
    auto h = summer.ask(sum_of_squares{{1, 2, 3}}, 10s);
    run();
    EXPECT_FALSE(h.ready());
    EXPECT_EQ(ask_now(w, held_count{}), 3) << "all three asks were sent before the wait";
    EXPECT_TRUE(w.tell(release{}));
    run();
    auto r = h.try_get();
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, 14);
}

TEST_F(ReplyTest, WhenAllOverDifferentReplyTypesGivesATuple) {
    auto w = sys_->spawn<squaring_worker>(&traces_);
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    EXPECT_TRUE(r.tell(ping{8}));
    auto both = sys_->spawn_fn<first_square>([w, r](first_square&) -> task<int> {
        auto [a, b] = co_await when_all(w.ask(square{3}, 10s), r.ask(get_values{}, 10s));
        co_return (a ? *a : 0) + (b && !b->empty() ? b->front() : 0);
    });
    EXPECT_EQ(ask_now(both, first_square{}), 17);
}

TEST_F(ReplyTest, WhenAnyResumesWithTheFirstToComplete) {
    auto slow = sys_->spawn<holding_worker>(&results_);
    auto fast = sys_->spawn<squaring_worker>(&traces_);
    std::vector<std::size_t> winners;
    auto racer = sys_->spawn_fn<first_square>([&, slow, fast](first_square&) -> task<int> {
        std::vector<ask_handle<int>> hs;
        hs.push_back(slow.ask(square{2}, 10s));
        hs.push_back(fast.ask(square{5}, 10s));
        auto first = co_await when_any(std::move(hs));
        winners.push_back(first.index);
        co_return first.outcome.value_or(-1);
    });
    EXPECT_EQ(ask_now(racer, first_square{}), 25);
    EXPECT_EQ(winners, (std::vector<std::size_t>{1}));
}

TEST_F(ReplyTest, WhenAllOfNothingAndWhenAnyOfNothingDoNotSuspend) {
    auto probe = sys_->spawn_fn<first_square>([](first_square&) -> task<int> {
        auto all = co_await when_all(std::vector<ask_handle<int>>{});
        auto any = co_await when_any(std::vector<ask_handle<int>>{});
        co_return static_cast<int>(all.size()) +
            (any.outcome ? 100 : static_cast<int>(any.outcome.error().code()));
    });
    EXPECT_EQ(ask_now(probe, first_square{}), static_cast<int>(errc::invalid_argument));
}

TEST_F(ReplyTest, StoppingAnActorInWhenAllCancelsThePendingAsks) {
    auto w = sys_->spawn<holding_worker>(&results_);
    std::vector<errc> codes;
    auto summer = sys_->spawn_fn<first_square>([&, w](first_square&) -> task<int> {
        std::vector<ask_handle<int>> hs;
        hs.push_back(w.ask(square{1}, 10s));
        hs.push_back(w.ask(square{2}, 10s));
        for (auto& r : co_await when_all(std::move(hs))) {
            codes.push_back(r ? errc::none : r.error().code());
        }
        co_return 0;
    });
    auto h = summer.ask(first_square{}, 10s);
    run();
    EXPECT_TRUE(summer.stop());
    run();
    EXPECT_EQ(codes, (std::vector<errc>{errc::cancelled, errc::cancelled}));
    EXPECT_TRUE(h.ready());
}

} // namespace
} // namespace troupe
