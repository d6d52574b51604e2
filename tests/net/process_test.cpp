// Part of troupe. See LICENSE at the repository root.

// Nodes in other processes (examples/node, `troupe-node`): a peer killed with
// SIGKILL is detected from the socket's close, one stopped with SIGSTOP by
// its missing heartbeats; the survivor keeps serving its local work.

#include <troupe/actors/actor.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/net/node.hpp>

#include "demo_protocol.hpp"
#include "net_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::net {
namespace {

using namespace std::chrono_literals;
using testing::down_probe;
constexpr const char* secret = "the multi-process test secret";

/// A `troupe-node` child process, killed at the end of the test if still alive.
class node_process {
public:
    explicit node_process(const std::string& name) {
        char dir_template[] = "/tmp/troupe-node-XXXXXX";
        dir_ = ::mkdtemp(dir_template);
        secret_file_ = dir_ + "/secret";
        std::ofstream(secret_file_) << secret << "\n";
        int out[2];
        if (::pipe(out) != 0) {
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(TROUPE_NODE_BINARY, "troupe-node", "--listen", "127.0.0.1:0", "--name",
                    name.c_str(), "--secret-file", secret_file_.c_str(), nullptr);
            ::_exit(127);
        }
        ::close(out[1]);
        out_ = out[0];
    }
    node_process(const node_process&) = delete;
    node_process& operator=(const node_process&) = delete;
    ~node_process() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGCONT);
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) {
            ::close(out_);
        }
        std::remove(secret_file_.c_str());
        ::rmdir(dir_.c_str());
    }

    /// The next line of the child's output, within 10 s.
    std::optional<std::string> line() {
        std::string s;
        for (;;) {
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, 10000) <= 0) {
                return std::nullopt;
            }
            char c = 0;
            if (::read(out_, &c, 1) != 1) {
                return std::nullopt;
            }
            if (c == '\n') {
                return s;
            }
            s += c;
        }
    }
    /// The port from `listening on HOST:PORT`.
    std::optional<std::uint16_t> port() {
        auto l = line();
        const std::string prefix = "listening on 127.0.0.1:";
        if (!l || l->rfind(prefix, 0) != 0) {
            return std::nullopt;
        }
        return static_cast<std::uint16_t>(std::stoi(l->substr(prefix.size())));
    }
    void signal(int sig) const { ::kill(pid_, sig); }
    /// Waits for the exit; the exit status, or -1 for a signal.
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    std::string dir_;
    std::string secret_file_;
    pid_t pid_ = -1;
    int out_ = -1;
    bool reaped_ = false;
};

class local_adder final : public actor<troupe_demo::increment> {
public:
    std::int64_t on(troupe_demo::increment& i) { return total_ += i.by; }

private:
    std::int64_t total_ = 0;
};

class OtherProcess : public ::testing::Test {
protected:
    void SetUp() override {
        node_options o;
        o.name = "survivor";
        o.secret = secret;
        o.heartbeat_interval = 100ms;
        o.heartbeat_timeout = 600ms;
        auto n = node::attach(sys_, o);
        ASSERT_TRUE(n) << n.error();
        node_ = *n;
        auto port = child_.port();
        ASSERT_TRUE(port) << "troupe-node did not say where it listens";
        auto peer = node_->connect("127.0.0.1", *port);
        ASSERT_TRUE(peer) << peer.error();
        EXPECT_EQ(peer->name, "remote");
        auto echo = node_->lookup<troupe_demo::echo_protocol>(peer->id, "echo", 5s);
        ASSERT_TRUE(echo) << echo.error();
        echo_ = *echo;
        auto r = echo_.ask(troupe_demo::echo{"hello"}, 5s).get();
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(*r, "hello");
        ASSERT_TRUE(sys_.on_exit(echo_.addr(), [p = probe_](const error& e) { p->set(e); }));
    }
    void expect_local_work_goes_on() {
        auto adder = sys_.spawn<local_adder>();
        auto r = adder.ask(troupe_demo::increment{5}, 5s).get();
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(*r, 5);
    }

    node_process child_{"remote"};
    troupe::system sys_;
    std::shared_ptr<node> node_;
    actor_ref<troupe_demo::echo_protocol> echo_;
    std::shared_ptr<down_probe> probe_ = std::make_shared<down_probe>();
};

TEST_F(OtherProcess, ASigkilledPeerIsDetectedFromTheSocketClose) {
    child_.signal(SIGKILL);
    auto cause = probe_->wait();
    ASSERT_TRUE(cause.has_value()) << "the monitor did not fire";
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
    EXPECT_EQ(child_.wait(), -1);
    EXPECT_TRUE(node_->peers().empty());
    expect_local_work_goes_on();
}

TEST_F(OtherProcess, ASigstoppedPeerIsDetectedByItsMissingHeartbeats) {
    child_.signal(SIGSTOP);
    auto cause = probe_->wait();
    ASSERT_TRUE(cause.has_value()) << "the monitor did not fire";
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
    EXPECT_NE(cause->to_string().find("heartbeat"), std::string::npos) << *cause;
    expect_local_work_goes_on();
    child_.signal(SIGCONT);
    child_.signal(SIGTERM);
    EXPECT_EQ(child_.wait(), 0);
}

TEST_F(OtherProcess, SigtermStopsThePeerCleanly) {
    child_.signal(SIGTERM);
    EXPECT_EQ(child_.line().value_or(""), "stopping (SIGTERM)");
    EXPECT_EQ(child_.wait(), 0);
    auto cause = probe_->wait();
    ASSERT_TRUE(cause.has_value());
    EXPECT_EQ(cause->code(), errc::node_unreachable) << *cause;
}

} // namespace
} // namespace troupe::net
