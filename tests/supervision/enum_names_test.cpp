// Part of troupe. See LICENSE at the repository root.
// Every public enumerator of the supervision module has a name.

#include <troupe/supervision/supervisor.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace troupe {
namespace {

template <class E>
std::string streamed(E e) {
    std::ostringstream os;
    os << e;
    return os.str();
}

TEST(SupervisionEnumNames, RestartStrategies) {
    static_assert(to_string(restart_strategy::one_for_one) == "one_for_one");
    EXPECT_EQ(to_string(restart_strategy::one_for_all), "one_for_all");
    EXPECT_EQ(to_string(restart_strategy::rest_for_one), "rest_for_one");
    EXPECT_EQ(streamed(restart_strategy::rest_for_one), "rest_for_one");
}

TEST(SupervisionEnumNames, RestartTypes) {
    EXPECT_EQ(to_string(restart_type::permanent), "permanent");
    EXPECT_EQ(to_string(restart_type::transient), "transient");
    EXPECT_EQ(to_string(restart_type::temporary), "temporary");
    EXPECT_EQ(streamed(restart_type::transient), "transient");
}

TEST(SupervisionEnumNames, EventKinds) {
    using kind = supervision_event::kind;
    EXPECT_EQ(to_string(kind::failure), "failure");
    EXPECT_EQ(to_string(kind::restart), "restart");
    EXPECT_EQ(to_string(kind::respawn), "respawn");
    EXPECT_EQ(to_string(kind::give_up), "give_up");
    EXPECT_EQ(to_string(kind::shutdown_kill), "shutdown_kill");
    EXPECT_EQ(streamed(kind::give_up), "give_up");
}

TEST(SupervisionEnumNames, GroupModes) {
    EXPECT_EQ(to_string(group_mode::cancel_on_first_error), "cancel_on_first_error");
    EXPECT_EQ(to_string(group_mode::collect_all), "collect_all");
    EXPECT_EQ(streamed(group_mode::collect_all), "collect_all");
}

} // namespace
} // namespace troupe
