// Part of troupe. See LICENSE at the repository root.
//
// A front supervisor over a flaky storage worker pool and a cache.
//
//   /user/$n (front, one_for_one, gives up after 1 restart)
//   ├── storage (one_for_one pool supervisor, 2 restarts in 10 s, backoff)
//   │   ├── disk-0 .. disk-2   (fault injection: crash on every 4th write)
//   └── cache
//
// The disks' injected crashes are restarted (with backoff) until the pool
// exceeds its intensity; it gives up and escalates to the front, which gives
// up too. The program prints the live tree before and the aggregate error
// tree after.

#include <troupe/troupe.hpp>

#include <iostream>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

struct write_msg {
    std::string key;
};
struct read_msg {
    using reply_type = int;
};
using storage_protocol = std::variant<write_msg, read_msg>;

class disk : public troupe::actor<storage_protocol> {
public:
    void on(write_msg&) { ++writes_; }
    int on(read_msg&) { return writes_; }

private:
    int writes_ = 0;
};

struct get_msg {
    using reply_type = int;
};
class cache : public troupe::actor<get_msg> {
public:
    int on(get_msg&) { return 42; }
};

int main() {
    troupe::system sys;

    troupe::supervisor_options pool_opts;
    pool_opts.max_restarts = 2;
    pool_opts.within = 10s;
    pool_opts.backoff = troupe::backoff_policy{.min = 5ms, .max = 50ms, .jitter = 0.2};
    pool_opts.on_event = [](const troupe::supervision_event& e) {
        const char* what[] = {"failure", "restart", "respawn", "give_up", "shutdown_kill"};
        std::cout << "[event] " << what[static_cast<int>(e.what)] << " " << e.child.path()
                  << (e.delay > troupe::duration::zero()
                          ? " after " +
                                std::to_string(
                                    std::chrono::duration_cast<std::chrono::milliseconds>(e.delay)
                                        .count()) +
                                "ms"
                          : std::string())
                  << "\n";
    };
    std::vector<troupe::child_spec> disks;
    for (int i = 0; i < 3; ++i) {
        auto spec = troupe::make_child<disk>("disk-" + std::to_string(i));
        spec.options = troupe::with_faults(
            spec.options,
            troupe::fault_plan{.seed = static_cast<std::uint64_t>(i), .crash_every_nth = 4});
        spec.with_shutdown(troupe::shutdown_policy::timeout(1s));
        disks.push_back(std::move(spec));
    }
    troupe::supervisor_options front_opts;
    front_opts.max_restarts = 0; // give up at the first escalation
    front_opts.on_event = pool_opts.on_event;
    auto front = sys.spawn<troupe::supervisor>(
        front_opts, std::vector<troupe::child_spec>{
                        troupe::make_child<troupe::supervisor>("storage", pool_opts, disks),
                        troupe::make_child<cache>("cache")});

    // Wait until the tree is up, then show it.
    (void)front.ask(troupe::which_children{}, 5s).get();
    auto pool = *sys.find<troupe::supervisor_protocol>(front.addr().path() + "/storage");
    (void)pool.ask(troupe::which_children{}, 5s).get();
    std::cout << "live tree before:\n" << sys.dump_tree() << "\n";

    for (int i = 0; i < 12; ++i) {
        auto d = sys.find<storage_protocol>(front.addr().path() + "/storage/disk-" +
                                            std::to_string(i % 3));
        if (d) {
            (void)d->tell(write_msg{"k" + std::to_string(i)});
        }
    }
    auto exit = sys.wait_for_exit(front.addr(), 10s);
    std::cout << "front exited: " << (exit ? exit->to_string() : exit.error().to_string())
              << "\n\n";
    if (auto report = troupe::take_failure_report(front.addr())) {
        std::cout << "aggregate error tree:\n" << report->to_tree_string();
        std::cout << report->total() << " failures in the tree\n";
    } else {
        std::cout << "no failure report (the pool did not give up)\n";
    }
    return 0;
}
