// Part of troupe. See LICENSE at the repository root.

#include <troupe/troupe.hpp>

int main() {
    // Creating and destroying a system is enough to prove that the installed
    // headers compile on their own and the installed libraries link.
    troupe::system sys;
    return 0;
}
