// Part of troupe. See LICENSE at the repository root.

#include <troupe/testing/manual_clock.hpp>
#include <troupe/testing/manual_executor.hpp>
#include <troupe/troupe.hpp>

#include <chrono>

int main() {
    // Creating and destroying a system is enough to prove that the installed
    // headers compile on their own and the installed libraries link.
    troupe::system sys;
    // troupe::testing is exported and links on its own (no system here: a
    // system on a manual executor needs a thread driving it to shut down).
    troupe::testing::manual_executor ex;
    troupe::testing::manual_clock clk;
    (void)clk.advance(std::chrono::milliseconds(1));
    return ex.run_until_idle() == 0 ? 0 : 1;
}
