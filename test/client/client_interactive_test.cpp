// SPDX-License-Identifier: BSL-1.0
// echo-client's interactive mode, driven through a pseudo-terminal: the program sees a
// terminal on stdin, stdout and stderr, as when a person types.
#define BOOST_TEST_MODULE client_interactive
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

extern char** environ;

namespace {

/// A child process on the slave side of a new pseudo-terminal. Not thread safe.
class pty_child {
public:
    explicit pty_child(const std::vector<std::string>& args) {
        master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        BOOST_REQUIRE(master_ >= 0);
        BOOST_REQUIRE(::grantpt(master_) == 0);
        BOOST_REQUIRE(::unlockpt(master_) == 0);
        int slave = ::open(::ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
        BOOST_REQUIRE(slave >= 0);
        // No terminal echo: the output is then exactly what the program writes.
        termios mode{};
        BOOST_REQUIRE(::tcgetattr(slave, &mode) == 0);
        mode.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        BOOST_REQUIRE(::tcsetattr(slave, TCSANOW, &mode) == 0);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        for (int fd = 0; fd < 3; ++fd) {
            posix_spawn_file_actions_adddup2(&actions, slave, fd);
        }
        std::vector<std::string> words = args;
        words.insert(words.begin(), ECHO_CLIENT_PATH);
        std::vector<char*> argv;
        for (auto& w : words) {
            argv.push_back(w.data());
        }
        argv.push_back(nullptr);
        int spawned =
            ::posix_spawn(&pid_, ECHO_CLIENT_PATH, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(slave);
        BOOST_REQUIRE(spawned == 0);
    }

    ~pty_child() {
        if (!exit_code_) {
            ::kill(pid_, SIGKILL); // only the child we started, by its PID
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        ::close(master_);
    }

    void type(const std::string& keys) {
        BOOST_REQUIRE(::write(master_, keys.data(), keys.size()) ==
                      static_cast<ssize_t>(keys.size()));
    }

    /// Reads the terminal until its output ends with tail; false at the deadline.
    bool read_until(const std::string& tail, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!ends_with(tail)) {
            if (!read_some(deadline)) {
                return false;
            }
        }
        return true;
    }

    /// Waits for the exit (reading the terminal meanwhile); nothing at the deadline.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!exit_code_) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                // What it wrote just before exiting may still be in the terminal: read it
                // all (EIO ends it once the terminal is closed; bounded if someone holds it).
                auto drained = std::chrono::steady_clock::now() + 2s;
                while (read_some(drained)) {
                }
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            // Wake for output or, at most 10 ms later, to look at the child again.
            read_some(std::min(deadline, std::chrono::steady_clock::now() + 10ms));
        }
        return exit_code_;
    }

    const std::string& output() const { return output_; }

private:
    bool ends_with(const std::string& tail) const {
        return output_.size() >= tail.size() &&
               output_.compare(output_.size() - tail.size(), tail.size(), tail) == 0;
    }

    bool read_some(std::chrono::steady_clock::time_point deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd ready{master_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
            return false;
        }
        char buffer[4096];
        auto n = ::read(master_, buffer, sizeof buffer);
        if (n <= 0) {
            return false; // EIO once the child closed the terminal
        }
        output_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    int master_ = -1;
    pid_t pid_ = -1;
    std::string output_;
    std::optional<int> exit_code_;
};

} // namespace

BOOST_AUTO_TEST_CASE(each_typed_line_is_echoed_and_ctrl_d_exits_0) {
    running_server server(loopback_config());
    auto target = "127.0.0.1:" + std::to_string(server.tcp_port());
    pty_child child({"--connect", target});
    const std::string banner = "connected to " + target + " (tcp); Ctrl-D ends\r\n> ";
    BOOST_REQUIRE_MESSAGE(child.read_until("> ", 10s), "no prompt: " << child.output());
    BOOST_TEST(child.output() == banner);

    child.type("hello\n");
    BOOST_REQUIRE_MESSAGE(child.read_until("hello\r\n> ", 10s), "no echo: " << child.output());
    child.type("second line\n");
    BOOST_REQUIRE_MESSAGE(child.read_until("second line\r\n> ", 10s), child.output());

    child.type("\x04"); // Ctrl-D: end of input
    auto code = child.wait_exit(10s);
    BOOST_REQUIRE_MESSAGE(code, "echo-client did not exit after Ctrl-D");
    BOOST_TEST(*code == 0);
    BOOST_TEST(child.output() == banner + "hello\r\n> second line\r\n> \r\n");
}

BOOST_AUTO_TEST_CASE(interactive_udp_echoes_upper_case_from_an_upper_server) {
    running_server server(loopback_config(mode::upper));
    auto target = "127.0.0.1:" + std::to_string(server.udp_port());
    pty_child child({"--connect", target, "--udp"});
    BOOST_REQUIRE_MESSAGE(child.read_until("> ", 10s), child.output());
    child.type("quiet please\n");
    BOOST_REQUIRE_MESSAGE(child.read_until("QUIET PLEASE\r\n> ", 10s), child.output());
    child.type("\x04");
    auto code = child.wait_exit(10s);
    BOOST_REQUIRE(code);
    BOOST_TEST(*code == 0);
}
