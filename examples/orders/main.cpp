// Part of troupe. See LICENSE at the repository root.
//
// Order services publish on orders/<region>/<event>; subscribers use wildcards, filters,
// priorities and `once`.

#include <troupe/troupe.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <variant>

namespace ev = troupe::events;

struct order_event {
    int id;
    double amount;
};

struct place {
    int id;
    double amount;
};
struct finished {
    using reply_type = int;
};

/// A regional order service: publishes created and paid events.
class order_service : public troupe::actor<place> {
public:
    order_service(ev::registry* reg, std::string region) : reg_(reg), region_(std::move(region)) {}
    void on(place& p) {
        (void)reg_->publish<order_event>("orders/" + region_ + "/created", {p.id, p.amount});
        (void)reg_->publish<order_event>("orders/" + region_ + "/paid", {p.id, p.amount});
    }

private:
    ev::registry* reg_;
    std::string region_;
};

/// An actor subscriber: counts paid orders of every region.
class accounting : public troupe::actor<std::variant<ev::event<order_event>, finished>> {
public:
    void on(ev::event<order_event>& e) {
        total_ += e.payload.amount;
        ++count_;
        std::cout << "[accounting] " << e.meta.topic_name() << " #" << e.meta.sequence << " "
                  << e.payload.amount << "\n";
    }
    int on(finished&) { return count_; }

private:
    double total_ = 0;
    int count_ = 0;
};

int main() {
    troupe::system sys;
    ev::registry reg(sys); // destroyed before the system

    auto acc = sys.spawn<accounting>();
    auto s1 = reg.subscribe<order_event>("orders/*/paid", acc);

    // Callbacks: priorities decide the order; a filter keeps large orders only.
    auto audit = reg.subscribe<order_event>("orders/**",
                                            [](const ev::event<order_event>& e) {
                                                std::cout << "[audit] " << e.meta.topic_name()
                                                          << " id=" << e.payload.id << "\n";
                                            },
                                            {.priority = 10});
    auto big = reg.subscribe<order_event>(
        "orders/*/created",
        [](const ev::event<order_event>& e) {
            std::cout << "[fraud] large order " << e.payload.id << "\n";
        },
        {.filter = [](const order_event& o) { return o.amount > 1000; }});
    auto first = reg.subscribe<order_event>("orders/eu/created",
                                            [](const ev::event<order_event>& e) {
                                                std::cout << "[welcome] first EU order "
                                                          << e.payload.id << "\n";
                                            },
                                            {.once = true});
    if (!s1 || !audit || !big || !first) {
        std::cerr << "subscribe failed\n";
        return 1;
    }

    auto eu = sys.spawn<order_service>(&reg, std::string("eu"));
    auto us = sys.spawn<order_service>(&reg, std::string("us"));
    (void)eu.tell(place{1, 20.0});
    (void)us.tell(place{2, 5000.0});
    (void)eu.tell(place{3, 1500.0});

    // Wait for the three paid events at the accountant (tells from services are asynchronous).
    for (int i = 0; i < 100; ++i) {
        auto n = acc.ask(finished{}, std::chrono::seconds(1)).get();
        if (n && *n == 3) {
            std::cout << "paid orders: " << *n << "\n";
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
}
