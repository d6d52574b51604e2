// Part of troupe. See LICENSE at the repository root.
// What a user can observe: enumerator names, error texts, counters, the tree
// walk and its dumps, lookups by path and id (deterministic: manual executor
// and clock).

#include <troupe/actors/child_decision.hpp>
#include <troupe/actors/dead_letters.hpp>
#include <troupe/mailbox/mailbox.hpp>
#include <troupe/mailbox/overflow_policy.hpp>

#include "test_support.hpp"

#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace troupe {
namespace {

using namespace test_support;

template <class E>
std::string streamed(E e) {
    std::ostringstream os;
    os << e;
    return os.str();
}

// ---- enumerator names ------------------------------------------------------------

TEST(EnumNames, EveryErrcHasItsOwnName) {
    std::set<std::string_view> seen;
    for (int v = 0; v <= static_cast<int>(errc::already_replied); ++v) {
        const auto name = to_string(static_cast<errc>(v));
        EXPECT_NE(name, "unknown") << v;
        EXPECT_TRUE(seen.insert(name).second) << name;
    }
    EXPECT_EQ(to_string(errc::receiver_down), "receiver_down");
    EXPECT_EQ(streamed(errc::timeout), "timeout");
}

TEST(EnumNames, DeadLetterReasons) {
    EXPECT_EQ(to_string(dead_letter_reason::receiver_down), "receiver_down");
    EXPECT_EQ(to_string(dead_letter_reason::dropped_newest), "dropped_newest");
    EXPECT_EQ(to_string(dead_letter_reason::dropped_oldest), "dropped_oldest");
    EXPECT_EQ(to_string(dead_letter_reason::handler_failed), "handler_failed");
    EXPECT_EQ(to_string(dead_letter_reason::late_reply), "late_reply");
    EXPECT_EQ(to_string(dead_letter_reason::redirect_failed), "redirect_failed");
    EXPECT_EQ(to_string(dead_letter_reason::injected_drop), "injected_drop");
    EXPECT_EQ(streamed(dead_letter_reason::late_reply), "late_reply");
    for (std::size_t v = 0; v < dead_letter_reason_count; ++v) {
        EXPECT_NE(to_string(static_cast<dead_letter_reason>(v)), "unknown") << v;
    }
}

TEST(EnumNames, ChildDecisions) {
    static_assert(to_string(child_decision::stop) == "stop");
    EXPECT_EQ(to_string(child_decision::restart), "restart");
    EXPECT_EQ(to_string(child_decision::resume), "resume");
    EXPECT_EQ(to_string(child_decision::escalate), "escalate");
    EXPECT_EQ(to_string(child_decision::defer), "defer");
    EXPECT_EQ(streamed(child_decision::defer), "defer");
}

TEST(EnumNames, MailboxEnums) {
    static_assert(to_string(overflow_policy::reject) == "reject");
    EXPECT_EQ(to_string(overflow_policy::drop_newest), "drop_newest");
    EXPECT_EQ(to_string(overflow_policy::drop_oldest), "drop_oldest");
    EXPECT_EQ(to_string(overflow_policy::block), "block");
    EXPECT_EQ(to_string(overflow_policy::suspend), "suspend");
    EXPECT_EQ(to_string(overflow_policy::redirect), "redirect");
    EXPECT_EQ(streamed(overflow_policy::suspend), "suspend");
    EXPECT_EQ(to_string(lane::user), "user");
    EXPECT_EQ(to_string(lane::system), "system");
    EXPECT_EQ(to_string(mailbox_eviction::none), "none");
    EXPECT_EQ(to_string(mailbox_eviction::allowed), "allowed");
    EXPECT_EQ(to_string(push_result::accepted), "accepted");
    EXPECT_EQ(to_string(push_result::accepted_unblocked), "accepted_unblocked");
    EXPECT_EQ(to_string(push_result::full), "full");
    EXPECT_EQ(to_string(push_result::closed), "closed");
}

// ---- error texts -------------------------------------------------------------------

TEST(ErrorText, PrintsTheMessageOnlyWhenItAddsSomething) {
    EXPECT_EQ(error{errc::timeout}.to_string(), "timeout");
    EXPECT_EQ(error(errc::timeout, "timeout").to_string(), "timeout");
    EXPECT_EQ(error(errc::timeout, "no reply in 5 ms").to_string(), "timeout: no reply in 5 ms");
    EXPECT_EQ(error(errc::killed, "", error{errc::timeout}).to_string(), "killed <- timeout");
    EXPECT_EQ(streamed(error(errc::stopped, "stopped", error(errc::cancelled, "by hand"))),
              "stopped <- cancelled: by hand");
}

class ErrorTextTest : public ManualSystemTest {};

TEST_F(ErrorTextTest, ADeadLetterSaysWhyWithoutRepeatingItsCode) {
    record& rec = new_record();
    auto r = sys_->spawn<recorder>(&rec);
    run();
    (void)r.addr().stop();
    run();
    auto sent = r.tell(ping{1});
    ASSERT_FALSE(sent);
    auto asked = r.ask(get_values{}, std::chrono::seconds(1));
    run();
    auto reply = asked.get();
    ASSERT_FALSE(reply);
    for (const error& e : {sent.error(), reply.error()}) {
        const std::string text = e.to_string();
        EXPECT_EQ(e.code(), errc::receiver_down) << text;
        EXPECT_EQ(text.find("receiver_down: receiver_down"), std::string::npos) << text;
        EXPECT_GT(text.size(), std::string_view("receiver_down: ").size()) << text;
    }
}

} // namespace
} // namespace troupe
