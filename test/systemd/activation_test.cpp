// SPDX-License-Identifier: BSL-1.0
// Socket activation: take_passed_sockets() in-process (descriptors at 3 and 4, the variables
// unset afterwards), and the real echo-server started the way systemd starts it: passed
// sockets served and logged, configured endpoints ignored; also through systemd-socket-activate.
#define BOOST_TEST_MODULE activation
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asio_echo/errors.hpp"
#include "asio_echo/systemd/activation.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using asio_echo::systemd::take_passed_sockets;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

/// Puts descriptors at 3, 4, ... for one test, as systemd would, and puts back whatever this
/// process had there (the test runner may hold fd 3) when it ends.
class fds_at_three {
public:
    explicit fds_at_three(const std::vector<int>& fds) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
            int target = 3 + static_cast<int>(i);
            // Keep what sits at the target (moved high, out of the way), then put ours there.
            saved_.push_back(::fcntl(target, F_GETFD) >= 0 ? ::fcntl(target, F_DUPFD_CLOEXEC, 200)
                                                           : -1);
        }
        // Sources may themselves sit at 3 or 4: lift them first.
        std::vector<int> lifted;
        for (int fd : fds) {
            lifted.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 200));
        }
        for (std::size_t i = 0; i < lifted.size(); ++i) {
            ::dup2(lifted[i], 3 + static_cast<int>(i)); // without close-on-exec, like systemd
            ::close(lifted[i]);
        }
    }
    ~fds_at_three() {
        for (std::size_t i = 0; i < saved_.size(); ++i) {
            int target = 3 + static_cast<int>(i);
            if (saved_[i] >= 0) {
                ::dup2(saved_[i], target);
                ::close(saved_[i]);
            } else {
                ::close(target);
            }
        }
    }
    fds_at_three(const fds_at_three&) = delete;
    fds_at_three& operator=(const fds_at_three&) = delete;

private:
    std::vector<int> saved_;
};

void set_listen_env(const std::string& pid, const char* fds, const char* names) {
    ::setenv("LISTEN_PID", pid.c_str(), 1);
    if (fds) {
        ::setenv("LISTEN_FDS", fds, 1);
    } else {
        ::unsetenv("LISTEN_FDS");
    }
    if (names) {
        ::setenv("LISTEN_FDNAMES", names, 1);
    } else {
        ::unsetenv("LISTEN_FDNAMES");
    }
}

bool listen_env_gone() {
    return !std::getenv("LISTEN_PID") && !std::getenv("LISTEN_FDS") &&
           !std::getenv("LISTEN_FDNAMES");
}

std::string own_pid() {
    return std::to_string(::getpid());
}

} // namespace

//----------------------------------------------------------------------------------------------
// take_passed_sockets() in-process.

BOOST_AUTO_TEST_CASE(takes_a_stream_and_a_datagram_socket_with_names_and_unsets_the_variables) {
    bound_socket tcp(true, "127.0.0.1");
    bound_socket udp(false, "127.0.0.1");
    fds_at_three placed({tcp.fd, udp.fd});
    set_listen_env(own_pid(), "2", "tcp:udp");
    auto passed = take_passed_sockets();
    BOOST_TEST(listen_env_gone());
    BOOST_REQUIRE_EQUAL(passed.size(), 2u);
    BOOST_TEST(passed[0].fd == 3);
    BOOST_TEST(passed[0].stream);
    BOOST_TEST(passed[0].name == "tcp");
    BOOST_TEST(passed[1].fd == 4);
    BOOST_TEST(!passed[1].stream);
    BOOST_TEST(passed[1].name == "udp");
    // Children of the server must not inherit the listeners.
    BOOST_TEST((::fcntl(3, F_GETFD) & FD_CLOEXEC) != 0);
    BOOST_TEST((::fcntl(4, F_GETFD) & FD_CLOEXEC) != 0);
}

BOOST_AUTO_TEST_CASE(missing_names_are_unknown) {
    bound_socket tcp(true, "127.0.0.1");
    fds_at_three placed({tcp.fd});
    set_listen_env(own_pid(), "1", nullptr);
    auto passed = take_passed_sockets();
    BOOST_TEST(listen_env_gone());
    BOOST_REQUIRE_EQUAL(passed.size(), 1u);
    BOOST_TEST(passed[0].name == "unknown");
}

BOOST_AUTO_TEST_CASE(another_process_pid_takes_nothing_but_still_unsets_the_variables) {
    bound_socket tcp(true, "127.0.0.1");
    fds_at_three placed({tcp.fd});
    set_listen_env(std::to_string(::getpid() + 1), "1", "tcp");
    BOOST_TEST(take_passed_sockets().empty());
    BOOST_TEST(listen_env_gone());
}

BOOST_AUTO_TEST_CASE(no_listen_pid_takes_nothing) {
    ::unsetenv("LISTEN_PID");
    ::setenv("LISTEN_FDS", "1", 1);
    BOOST_TEST(take_passed_sockets().empty());
    ::unsetenv("LISTEN_FDS");
}

BOOST_AUTO_TEST_CASE(malformed_listen_fds_is_a_usage_error) {
    for (const char* fds : {"x", "2x", "-1", "100000"}) {
        set_listen_env(own_pid(), fds, nullptr);
        BOOST_CHECK_THROW(take_passed_sockets(), asio_echo::usage_error);
        BOOST_TEST(listen_env_gone(), "LISTEN_FDS=" << fds);
    }
}

BOOST_AUTO_TEST_CASE(a_descriptor_that_is_no_socket_is_a_usage_error) {
    int pipe_fds[2];
    BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    {
        fds_at_three placed({pipe_fds[0]});
        set_listen_env(own_pid(), "1", nullptr);
        try {
            take_passed_sockets();
            BOOST_ERROR("no exception for a pipe at fd 3");
        } catch (const asio_echo::usage_error& e) {
            BOOST_TEST(std::string(e.what()) ==
                       "LISTEN_FDS names descriptor 3, which is not a socket");
        }
    }
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

//----------------------------------------------------------------------------------------------
// The real binary, socket-activated.

BOOST_AUTO_TEST_CASE(serves_and_logs_the_passed_sockets_and_ignores_configured_endpoints) {
    bound_socket tcp(true, "127.0.0.1");
    bound_socket udp(false, "127.0.0.1");
    std::vector<int> fds{tcp.fd, udp.fd};
    std::string names = "tcp:udp";
    bool v6 = ipv6_loopback_available();
    std::optional<bound_socket> tcp6;
    std::optional<bound_socket> udp6;
    if (v6) {
        tcp6.emplace(true, "::1");
        udp6.emplace(false, "::1");
        fds.push_back(tcp6->fd);
        fds.push_back(udp6->fd);
        names += ":tcp6:udp6";
    } else {
        BOOST_TEST_MESSAGE("::1 unavailable: IPv4 sockets only");
    }
    activated_child server(server_path, {"--listen", "127.0.0.1:1", "--threads", "2"}, fds,
                           {"LISTEN_FDS=" + std::to_string(fds.size()), "LISTEN_FDNAMES=" + names});

    std::size_t per_protocol = v6 ? 2 : 1;
    auto tcp_lines = server.wait_for_stderr_lines("listening tcp ", per_protocol, 10s);
    auto udp_lines = server.wait_for_stderr_lines("listening udp ", per_protocol, 10s);
    BOOST_REQUIRE_MESSAGE(tcp_lines.size() == per_protocol && udp_lines.size() == per_protocol,
                          "output: " << server.err());
    // Exactly the passed endpoints, in the passed order; 127.0.0.1:1 never appears.
    BOOST_TEST(tcp_lines[0] == "notice: listening tcp 127.0.0.1:" + std::to_string(tcp.port));
    BOOST_TEST(udp_lines[0] == "notice: listening udp 127.0.0.1:" + std::to_string(udp.port));
    if (v6) {
        BOOST_TEST(tcp_lines[1] == "notice: listening tcp [::1]:" + std::to_string(tcp6->port));
        BOOST_TEST(udp_lines[1] == "notice: listening udp [::1]:" + std::to_string(udp6->port));
    }
    BOOST_TEST(server.err().find("127.0.0.1:1\n") == std::string::npos, server.err());

    auto data = all_byte_values();
    auto stream = plain_socket::tcp("127.0.0.1", tcp.port);
    stream.send_all(data);
    BOOST_TEST(stream.receive_exactly(data.size()) == data);
    auto datagram = plain_socket::udp("127.0.0.1", udp.port);
    datagram.send_all(data);
    BOOST_TEST(datagram.receive_some().value_or("<no reply>") == data);
    if (v6) {
        auto stream6 = plain_socket::tcp("::1", tcp6->port);
        stream6.send_all("six");
        BOOST_TEST(stream6.receive_exactly(3) == "six");
        auto datagram6 = plain_socket::udp("::1", udp6->port);
        datagram6.send_all("six");
        BOOST_TEST(datagram6.receive_some().value_or("<no reply>") == "six");
    }
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());

    server.send_signal(SIGTERM);
    auto code = server.wait_exit(10s);
    BOOST_REQUIRE_MESSAGE(code, "still running 10 s after SIGTERM");
    BOOST_TEST(*code == 0, server.err());
}

BOOST_AUTO_TEST_CASE(a_passed_dual_stack_socket_answers_from_the_address_each_datagram_reached) {
    if (!ipv6_loopback_available()) {
        BOOST_TEST_MESSAGE("skipped: ::1 is not available on this machine");
        return;
    }
    // As echo-server.socket passes it: [::] taking IPv4 too, as IPv4-mapped addresses.
    bound_socket udp(false, "::");
    // Queued before the server runs, like the datagram that starts a socket-activated service.
    auto early = plain_socket::udp("127.0.0.2", udp.port);
    early.set_timeout(5s);
    early.send_all("early");
    activated_child server(server_path, {"--threads", "1"}, {udp.fd},
                           {"LISTEN_FDS=1", "LISTEN_FDNAMES=echo"});
    BOOST_REQUIRE_MESSAGE(server.wait_for_stderr_line("listening udp [::]:", 10s),
                          "output: " << server.err());
    // Connected clients: each takes only a reply from exactly where it sent.
    BOOST_TEST(early.receive_some().value_or("<no reply from 127.0.0.2>") == "early");
    for (const char* address : {"127.0.0.1", "127.0.0.3", "::1"}) {
        auto client = plain_socket::udp(address, udp.port);
        client.set_timeout(5s);
        client.send_all(address);
        BOOST_TEST(client.receive_some().value_or("<no reply>") == address);
    }
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(sockets_for_another_pid_are_ignored_and_the_configured_endpoint_served) {
    bound_socket tcp(true, "127.0.0.1");
    activated_child server(server_path, {"--listen", "127.0.0.1:0", "--threads", "1"}, {tcp.fd},
                           {"LISTEN_FDS=1", "LISTEN_PID=1"}, false);
    auto lines = server.wait_for_stderr_lines("listening tcp 127.0.0.1:", 1, 10s);
    BOOST_REQUIRE_MESSAGE(lines.size() == 1u, server.err());
    BOOST_TEST(port_of(lines[0]) != tcp.port);
    auto stream = plain_socket::tcp("127.0.0.1", port_of(lines[0]));
    stream.send_all("configured");
    BOOST_TEST(stream.receive_exactly(10) == "configured");
    server.send_signal(SIGTERM);
    stream.shutdown_send();
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(a_passed_descriptor_that_is_no_socket_exits_64_naming_it) {
    bound_socket tcp(true, "127.0.0.1");
    int pipe_fds[2];
    BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    activated_child server(server_path, {"--listen", "127.0.0.1:0"}, {tcp.fd, pipe_fds[0]},
                           {"LISTEN_FDS=2"});
    auto code = server.wait_exit(10s);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    BOOST_REQUIRE(code);
    BOOST_TEST(*code == 64);
    BOOST_TEST(server.err() ==
               "echo-server: LISTEN_FDS names descriptor 4, which is not a socket\n");
    BOOST_TEST(server.out().empty());
}

BOOST_AUTO_TEST_CASE(systemd_socket_activate_passes_a_tcp_listener_through) {
    auto activate = find_program("systemd-socket-activate");
    if (!activate) {
        BOOST_TEST_MESSAGE("skipped: systemd-socket-activate is not installed");
        return;
    }
    // systemd-socket-activate refuses port 0, so it is handed our port-0 listener the same
    // way (fd 3) and passes it on; it execs the server, in its own process, at the first
    // connection attempt.
    bound_socket tcp(true, "127.0.0.1");
    activated_child server(
        *activate, {"--fdname=echo", server_path, "--listen", "127.0.0.1:1", "--threads", "1"},
        {tcp.fd}, {"LISTEN_FDS=1"});
    auto stream = plain_socket::tcp("127.0.0.1", tcp.port);
    stream.send_all("activated");
    BOOST_TEST(stream.receive_exactly(9) == "activated");
    auto lines = server.wait_for_stderr_lines("listening tcp ", 1, 10s);
    BOOST_REQUIRE_MESSAGE(lines.size() == 1u, server.err());
    BOOST_TEST(lines[0] == "notice: listening tcp 127.0.0.1:" + std::to_string(tcp.port));
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

// Socket-activated, so that the test knows the ports at every level, even where the
// "listening" notices are not printed.
BOOST_DATA_TEST_CASE(each_log_level_prints_its_lines_and_the_more_severe_and_nothing_else,
                     boost::unit_test::data::make({"error", "warn", "notice", "info", "debug"}),
                     level) {
    const std::vector<std::string> order = {"error", "warn", "notice", "info", "debug"};
    std::set<std::string> expected;
    for (const auto& name : order) {
        expected.insert(name);
        if (name == level) {
            break;
        }
    }
    temp_dir dir;
    auto config = dir.path() + "/echo-server.conf";
    write_file(config, "mode = echo\n");
    bound_socket tcp(true, "127.0.0.1");
    bound_socket udp(false, "127.0.0.1");
    activated_child server(
        server_path,
        {"--config", config, "--log-level", level, "--stats-interval", "0.02", "--threads", "1"},
        {tcp.fd, udp.fd}, {"LISTEN_FDS=2"});
    // debug: a connection accepted and closed.
    auto stream = plain_socket::tcp("127.0.0.1", tcp.port);
    stream.send_all("x");
    BOOST_TEST(stream.receive_exactly(1) == "x");
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());
    // warn: a datagram dropped (from our own port number on another address); the 300 ms
    // without an answer also see a dozen --stats-interval ticks (info).
    auto twin = plain_socket::udp_from("127.0.0.2", udp.port, "127.0.0.1", udp.port);
    twin.send_all("loop?");
    twin.set_timeout(300ms);
    BOOST_TEST(!twin.receive_some().has_value());
    // error: a reload that fails. notice: the listening, stop and stopped lines.
    write_file(config, "no-such-option = 1\n"); // (a bad log-level would lose to the command line)
    server.send_signal(SIGHUP);
    BOOST_TEST(server.wait_for_stderr_line("reload failed", 5s).has_value(), server.err());
    server.send_signal(SIGTERM);
    BOOST_REQUIRE(server.wait_exit(10s).value_or(-1) == 0);
    // Each level seen, with its first line as the example.
    std::map<std::string, std::string> seen;
    std::istringstream lines(server.err());
    for (std::string line; std::getline(lines, line);) {
        seen.emplace(line.substr(0, line.find(':')), line);
    }
    std::string seen_names, examples;
    for (const auto& name : order) {
        if (seen.count(name)) {
            seen_names += name + " ";
            examples += "\n  " + seen.at(name);
        }
    }
    std::string expected_names;
    for (const auto& name : order) {
        expected_names += expected.count(name) ? name + " " : "";
    }
    BOOST_TEST(seen_names == expected_names, "at " << level << ": seen " << seen_names
                                                   << "expected " << expected_names << examples);
}
