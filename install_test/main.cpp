// Part of troupe. See LICENSE at the repository root.

#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>
#include <troupe/troupe.hpp>

int main() {
    // Creating and destroying a system is enough to prove that the installed
    // headers compile on their own and the installed libraries link; the
    // second one proves that troupe::testing is exported and links too.
    { troupe::system sys; }
    troupe::testing::manual_executor ex;
    troupe::testing::manual_clock clk;
    troupe::system sys{troupe::system_config{.custom_executor = &ex, .custom_clock = &clk}};
    ex.run_until_idle();
    return 0;
}
