// Part of troupe. See LICENSE at the repository root.
//
// Two actors bounce a ball 100,000 times; then the main thread asks each for
// its score (request/response with a deadline).

#include <troupe/troupe.hpp>

#include <chrono>
#include <iostream>
#include <latch>
#include <variant>

using namespace std::chrono_literals;

struct ball {
    int remaining;
};
struct score {
    using reply_type = int; // makes `score` ask-able: its handler returns an int
};
struct partner;
using player_protocol = std::variant<partner, ball, score>;
struct partner {
    troupe::actor_ref<player_protocol> ref;
};

/// Returns the ball until the rally is over; counts its hits.
class player final : public troupe::actor<player_protocol> {
public:
    explicit player(std::latch* rally_over) : rally_over_(rally_over) {}
    void on(partner& p) { partner_ = p.ref; }
    void on(ball& b) {
        ++hits_;
        if (b.remaining == 0) {
            rally_over_->count_down();
        } else {
            (void)partner_.tell(ball{b.remaining - 1});
        }
    }
    int on(score& /*unused*/) { return hits_; }

private:
    std::latch* rally_over_;
    troupe::actor_ref<player_protocol> partner_;
    int hits_ = 0;
};

int main() {
    troupe::system sys;
    std::latch rally_over(1);
    auto a = sys.spawn<player>(&rally_over);
    auto b = sys.spawn<player>(&rally_over);
    (void)a.tell(partner{b});
    (void)b.tell(partner{a});
    (void)a.tell(ball{100'000});
    rally_over.wait();

    auto sa = a.ask(score{}, 1s).get();
    auto sb = b.ask(score{}, 1s).get();
    if (!sa || !sb) {
        std::cerr << "ask failed: " << (sa ? sb.error() : sa.error()) << "\n";
        return 1;
    }
    std::cout << a.path() << " hit " << *sa << ", " << b.path() << " hit " << *sb << ": a rally of "
              << *sa + *sb << "\n";
    return sys.shutdown() ? 0 : 1;
}
