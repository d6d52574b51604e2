// Part of troupe. See LICENSE at the repository root.
//
// troupe-cluster: a supervised service spread over three processes on
// loopback, with one of them killed mid-run (docs/guide/08-cluster.md).
//
//   troupe-cluster [--secret-file FILE]         the front, and the whole run
//   troupe-cluster --back NAME --secret-file FILE   one back node (started by the front)
//
//   process 1: front node                 processes 2, 3: back-1, back-2
//   /user/front (supervisor, one_for_one)  /user/back (supervisor)
//   └── dispatcher ---- job (ask) ------>  └── worker, published as "worker"
//        round-robin over the live workers, monitors each remote ref
//
// The front submits 200 jobs through the dispatcher, kills back-1 with
// SIGKILL after a third of them, and checks that every job is still answered:
// the dispatcher sees the worker go down (`node_unreachable`), and retries
// the asks that were in flight to it on the surviving worker (the jobs are
// idempotent). Exits 0 only if every job was answered correctly and both
// back nodes ended as expected; every wait is bounded.

#include <troupe/net/node.hpp>
#include <troupe/troupe.hpp>

#include "job_protocol.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <poll.h>
#include <random>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using troupe_cluster::job;
using troupe_cluster::job_result;
using troupe_cluster::worker_protocol;

namespace {

constexpr std::uint32_t job_count = 200;
constexpr std::size_t jobs_in_flight = 16; // the front's window of outstanding submissions
constexpr auto job_timeout = 2s;           // one ask of a worker
constexpr auto submit_timeout = 10s;       // one job, retries included
constexpr int max_attempts = 3;            // per job

/// The payload of job `id`: what the front checks each answer against.
constexpr std::uint64_t payload_of(std::uint32_t id) { return 1000U + id; }

// ---------------------------------------------------------------- back node

/// The service a back node publishes: computes a job (a millisecond of
/// "work" stands in for a real computation, so that jobs are really in
/// flight when a node dies).
class worker final : public troupe::actor<worker_protocol> {
public:
    explicit worker(std::string node) : node_(std::move(node)) {}
    job_result on(job& j) {
        std::this_thread::sleep_for(1ms);
        return {j.id, troupe_cluster::collatz_steps(j.payload), node_};
    }

private:
    std::string node_;
};

/// A back node: a supervisor over `worker`, published as "worker". Prints
/// `listening on 127.0.0.1:PORT` (the front reads it), then serves until
/// SIGTERM (or 60 s, so that an orphan never lingers).
int run_back(const std::string& name, const std::string& secret_file) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); // before any thread starts

    troupe::system sys;
    auto node = troupe::net::node::attach(sys, {.name = name, .secret_file = secret_file});
    if (!node) {
        std::cerr << name << ": " << node.error() << "\n";
        return 1;
    }
    auto sup = sys.spawn_named<troupe::supervisor>(
        "back", troupe::spawn_options{}, troupe::supervisor_options{},
        std::vector<troupe::child_spec>{troupe::make_child<worker>("worker", name)});
    if (!sup) {
        std::cerr << name << ": " << sup.error() << "\n";
        return 1;
    }
    (void)sup->ask(troupe::which_children{}, 5s).get(); // the children are up
    auto w = sys.find<worker_protocol>(sup->addr().path() + "/worker");
    if (!w || !(*node)->publish("worker", *w)) {
        std::cerr << name << ": cannot publish the worker\n";
        return 1;
    }
    auto port = (*node)->listen("127.0.0.1", 0);
    if (!port) {
        std::cerr << name << ": " << port.error() << "\n";
        return 1;
    }
    std::cout << "listening on 127.0.0.1:" << *port << std::endl;

    const timespec limit{60, 0};
    (void)sigtimedwait(&stop_signals, nullptr, &limit);
    (*node)->close();
    auto stopped = sys.shutdown(5s);
    if (!stopped) {
        std::cerr << name << ": shutdown: " << stopped.error() << "\n";
        return 1;
    }
    return 0;
}

// --------------------------------------------------------------- front node

struct remote_worker {
    std::string node;
    troupe::actor_ref<worker_protocol> ref;
};

/// Submit a job to whichever worker is live; answered with the result.
struct submit {
    using reply_type = job_result;
    job work;
};
/// What the dispatcher saw, answered once it saw at least `downs` workers go down.
struct dispatch_report {
    std::map<std::string, int> answered; ///< per back node
    int retried = 0;                     ///< asks that failed and were sent again
    std::vector<std::string> downs;      ///< "node: cause", in order
};
struct report {
    using reply_type = dispatch_report;
    std::size_t downs = 0;
};
using dispatcher_protocol = std::variant<submit, report>;

/// Routes jobs round-robin to the live workers. Monitors each remote ref: on
/// `on_down` (its link was lost) the worker leaves the rotation. An ask that
/// fails because its worker is gone (`node_unreachable` for one in flight
/// when the link broke, `receiver_down` for one sent after) takes the worker
/// out at once (the monitor's `on_down` may come a little later) and is sent
/// again to another worker; one that was too slow (`timeout`) is sent again
/// too. Delivery is at most once: the job may or may not have run on the
/// dead node, so only an idempotent job may be retried like this.
///
/// Its spawn arguments are the workers, so a restart (by the `front`
/// supervisor) starts it again with all of them; its monitors on those
/// already down fire at once and take them out again.
class dispatcher final : public troupe::actor<dispatcher_protocol> {
public:
    explicit dispatcher(std::vector<remote_worker> workers) : workers_(std::move(workers)) {
        live_.assign(workers_.size(), true);
    }

    void on_start() override {
        for (const auto& w : workers_) {
            monitor(w.ref.addr());
        }
    }

    void on(submit& s, troupe::response_promise<job_result> reply) {
        dispatch(s.work, std::move(reply), 1);
    }

    void on(report& r, troupe::response_promise<dispatch_report> reply) {
        report_waiters_.emplace_back(r.downs, std::move(reply));
        answer_reports();
    }

    void on_down(const troupe::down_msg& msg) override {
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (workers_[i].ref.addr() == msg.source) {
                live_[i] = false;
                seen_.downs.push_back(workers_[i].node + ": " + msg.cause.to_string());
                std::cout << "[dispatcher] the worker on " << workers_[i].node << " is down ("
                          << msg.cause << "); " << std::count(live_.begin(), live_.end(), true)
                          << " left" << std::endl;
            }
        }
        answer_reports();
    }

private:
    void dispatch(job work, troupe::response_promise<job_result> reply, int attempt) {
        const auto picked = next_live();
        if (!picked) {
            (void)reply.fail(troupe::error(troupe::errc::node_unreachable, "no live worker"));
            return;
        }
        const std::size_t i = *picked;
        (void)workers_[i]
            .ref.ask(work, job_timeout)
            .then([this, i, work, attempt,
                   reply = std::move(reply)](troupe::expected<job_result> result) mutable {
                if (result) {
                    ++seen_.answered[result->node];
                    (void)reply.reply(std::move(*result));
                    return;
                }
                const auto code = result.error().code();
                const bool gone =
                    code == troupe::errc::node_unreachable || code == troupe::errc::receiver_down;
                if (gone) {
                    live_[i] = false;
                }
                if ((gone || code == troupe::errc::timeout) && attempt < max_attempts) {
                    ++seen_.retried;
                    dispatch(work, std::move(reply), attempt + 1);
                } else {
                    (void)reply.fail(result.error());
                }
            });
    }

    /// The next live worker after the last one picked, if any.
    std::optional<std::size_t> next_live() {
        for (std::size_t n = 0; n < workers_.size(); ++n) {
            const std::size_t i = next_++ % workers_.size();
            if (live_[i]) {
                return i;
            }
        }
        return std::nullopt;
    }

    void answer_reports() {
        std::erase_if(report_waiters_, [&](auto& waiter) {
            if (seen_.downs.size() < waiter.first) {
                return false;
            }
            (void)waiter.second.reply(seen_);
            return true;
        });
    }

    const std::vector<remote_worker> workers_;
    std::vector<bool> live_; // per worker
    std::size_t next_ = 0;
    dispatch_report seen_;
    std::vector<std::pair<std::size_t, troupe::response_promise<dispatch_report>>> report_waiters_;
};

// ---------------------------------------------------------------- processes

/// A back node: this program re-executed with `--back NAME`, its stdout a
/// pipe to the front. Killed (and reaped) on destruction if still running.
class back_process {
public:
    back_process(std::string name, const std::string& secret_file) : name_(std::move(name)) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) {
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the front
            ::dup2(out[1], STDOUT_FILENO);      // dup2 clears O_CLOEXEC on the copy
            ::execl("/proc/self/exe", "troupe-cluster", "--back", name_.c_str(), "--secret-file",
                    secret_file.c_str(), nullptr);
            ::_exit(127);
        }
        ::close(out[1]);
        out_ = out[0];
    }
    back_process(const back_process&) = delete;
    back_process& operator=(const back_process&) = delete;
    ~back_process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) {
            ::close(out_);
        }
    }

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] pid_t pid() const { return pid_; }

    /// The port from its `listening on 127.0.0.1:PORT` line, within 10 s.
    std::optional<std::uint16_t> port() {
        std::string line;
        for (char c = 0; c != '\n';) {
            pollfd p{out_, POLLIN, 0};
            if (out_ < 0 || ::poll(&p, 1, 10000) <= 0 || ::read(out_, &c, 1) != 1) {
                return std::nullopt;
            }
            line += c;
        }
        std::cout << "[" << name_ << "] " << line << std::flush;
        const std::string prefix = "listening on 127.0.0.1:";
        if (line.rfind(prefix, 0) != 0) {
            return std::nullopt;
        }
        return static_cast<std::uint16_t>(std::stoul(line.substr(prefix.size())));
    }

    void signal(int sig) const { ::kill(pid_, sig); }

    /// Waits up to `timeout` for it to exit: its wait status, or nullopt.
    std::optional<int> reap(troupe::duration timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!status_ && pid_ > 0) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                status_ = status;
            } else if (std::chrono::steady_clock::now() >= deadline) {
                break;
            } else {
                std::this_thread::sleep_for(10ms);
            }
        }
        return status_;
    }

private:
    std::string name_;
    pid_t pid_ = -1;
    int out_ = -1;
    std::optional<int> status_;
};

/// The cluster secret: the given file, or a random one in a private temporary
/// file, removed on destruction.
class secret_file {
public:
    explicit secret_file(std::string given) : path_(std::move(given)) {
        if (!path_.empty()) {
            return;
        }
        char dir_template[] = "/tmp/troupe-cluster-XXXXXX";
        if (::mkdtemp(dir_template) == nullptr) { // a directory only this user can enter
            return;
        }
        dir_ = dir_template;
        path_ = dir_ + "/secret";
        std::random_device random;
        std::ofstream out(path_);
        for (int i = 0; i < 8; ++i) {
            char word[9];
            std::snprintf(word, sizeof word, "%08x", random());
            out << word;
        }
        out << "\n";
    }
    secret_file(const secret_file&) = delete;
    secret_file& operator=(const secret_file&) = delete;
    ~secret_file() {
        if (!dir_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
        }
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
    std::string dir_;
};

std::string describe(int status) {
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("killed by ") + (WTERMSIG(status) == SIGKILL ? "SIGKILL" : "a signal");
    }
    return "stopped";
}

/// Connects to a back node and looks up its worker.
troupe::expected<remote_worker> find_worker(troupe::net::node& front, back_process& back) {
    auto port = back.port();
    if (!port) {
        return troupe::fail(troupe::errc::timeout, back.name() + " did not say where it listens");
    }
    auto peer = front.connect("127.0.0.1", *port);
    if (!peer) {
        return troupe::unexpected(peer.error());
    }
    auto ref = front.lookup<worker_protocol>(peer->id, "worker", 2s);
    if (!ref) {
        return troupe::unexpected(ref.error());
    }
    return remote_worker{peer->name, *ref};
}

/// The front: the service, the jobs, the kill, the checks.
int run_front(const std::string& given_secret_file) {
    const secret_file secret(given_secret_file);
    if (secret.path().empty()) {
        std::cerr << "troupe-cluster: cannot create a secret file\n";
        return 1;
    }
    // Both back nodes start before this process has any thread.
    back_process back1("back-1", secret.path());
    back_process back2("back-2", secret.path());

    troupe::system sys;
    auto front = troupe::net::node::attach(sys, {.name = "front", .secret_file = secret.path()});
    if (!front) {
        std::cerr << "troupe-cluster: " << front.error() << "\n";
        return 1;
    }
    std::vector<remote_worker> workers;
    for (back_process* back : {&back1, &back2}) {
        auto w = find_worker(**front, *back);
        if (!w) {
            std::cerr << "troupe-cluster: " << back->name() << ": " << w.error() << "\n";
            return 1;
        }
        workers.push_back(std::move(*w));
    }

    troupe::supervisor_options opts;
    opts.max_restarts = 3;
    opts.within = 5s;
    auto sup = sys.spawn_named<troupe::supervisor>(
        "front", troupe::spawn_options{}, opts,
        std::vector<troupe::child_spec>{
            troupe::make_child<dispatcher>("dispatcher", std::move(workers))});
    if (!sup) {
        std::cerr << "troupe-cluster: " << sup.error() << "\n";
        return 1;
    }
    (void)sup->ask(troupe::which_children{}, 5s).get(); // the dispatcher is up
    auto service = sys.find<dispatcher_protocol>(sup->addr().path() + "/dispatcher");
    if (!service) {
        std::cerr << "troupe-cluster: no dispatcher: " << service.error() << "\n";
        return 1;
    }
    std::cout << "front tree:\n" << sys.dump_tree() << std::flush;

    // Submit the jobs, `jobs_in_flight` at a time; kill back-1 after a third.
    // After a lost job no more are submitted, which bounds a failing run.
    std::deque<troupe::ask_handle<job_result>> pending;
    std::map<std::string, int> answered_by;
    std::uint32_t answered = 0;
    std::uint32_t wrong = 0;
    std::uint32_t lost = 0;
    std::uint32_t next_id = 0;
    bool killed = false;
    while ((next_id < job_count && lost == 0) || !pending.empty()) {
        if (next_id < job_count && lost == 0 && pending.size() < jobs_in_flight) {
            const job work{next_id, payload_of(next_id)};
            pending.push_back(service->ask(submit{work}, submit_timeout));
            ++next_id;
            continue;
        }
        auto result = pending.front().get();
        pending.pop_front();
        if (!result) {
            std::cout << "a job was lost: " << result.error() << std::endl;
            ++lost;
        } else if (result->steps != troupe_cluster::collatz_steps(payload_of(result->id))) {
            ++wrong;
        } else {
            ++answered;
            ++answered_by[result->node];
        }
        if (!killed && answered + lost + wrong >= job_count / 3) {
            std::cout << "killing back-1 (pid " << back1.pid() << ") with SIGKILL after "
                      << answered << " answers, " << pending.size() << " jobs in flight"
                      << std::endl;
            back1.signal(SIGKILL);
            killed = true;
        }
    }

    auto seen = service->ask(report{1}, 5s).get(); // once the dispatcher saw back-1 go down
    std::cout << "stopping back-2 (pid " << back2.pid() << ") with SIGTERM" << std::endl;
    back2.signal(SIGTERM);
    const auto status1 = back1.reap(5s);
    const auto status2 = back2.reap(10s);
    std::cout << "\n"
              << answered << " of " << job_count << " jobs answered (" << wrong << " wrong, "
              << lost << " lost)\n";
    for (const auto& [node, n] : answered_by) {
        std::cout << "  " << node << " answered " << n << "\n";
    }
    if (seen) {
        std::cout << "dispatcher: " << seen->retried << " asks retried after a failure\n";
        for (const auto& d : seen->downs) {
            std::cout << "dispatcher: down " << d << "\n";
        }
    } else {
        std::cout << "dispatcher: no down event seen: " << seen.error() << "\n";
    }

    std::cout << "back-1 " << (status1 ? describe(*status1) : "did not exit") << "\n"
              << "back-2 " << (status2 ? describe(*status2) : "did not exit") << std::endl;
    (*front)->close();
    auto stopped = sys.shutdown(5s);
    if (!stopped) {
        std::cout << "front: shutdown: " << stopped.error() << std::endl;
    }
    const bool clean_shutdown = stopped.has_value();

    const bool ok = answered == job_count && seen && seen->downs.size() == 1 && status1 &&
                    WIFSIGNALED(*status1) && status2 && WIFEXITED(*status2) &&
                    WEXITSTATUS(*status2) == 0 && clean_shutdown;
    std::cout << (ok ? "OK" : "FAILED") << std::endl;
    return ok ? 0 : 1;
}

int usage() {
    std::cerr << "usage: troupe-cluster [--secret-file FILE]\n"
                 "       troupe-cluster --back NAME --secret-file FILE  (started by the front)\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::string back_name;
    std::string secret_path;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--back") {
            back_name = argv[i + 1];
        } else if (arg == "--secret-file") {
            secret_path = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (argc % 2 == 0) {
        return usage(); // an option without its value
    }
    if (!back_name.empty()) {
        return secret_path.empty() ? usage() : run_back(back_name, secret_path);
    }
    return run_front(secret_path);
}
