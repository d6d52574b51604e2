// Part of troupe. See LICENSE at the repository root.
// Compiled by ctest: with TROUPE_EVENTS_NEGATIVE it must fail (wrong payload type through a
// typed handle); without it, it must compile (the positive twin).
#include <troupe/events/registry.hpp>

struct price {
    double value;
};
struct quantity {
    int value;
};

void use(troupe::events::registry& reg, const troupe::events::topic<price>& t) {
    reg.publish(t, price{1.0});
    (void)reg.subscribe(t, [](const troupe::events::event<price>&) {});
#ifdef TROUPE_EVENTS_NEGATIVE
    reg.publish(t, quantity{1});
#endif
}
