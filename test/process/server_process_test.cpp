// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE server_process
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "net.hpp"
#include "proxy_bytes.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

} // namespace

BOOST_DATA_TEST_CASE(sigterm_and_sigint_exit_0_within_2_s_with_idle_clients,
                     bdata::make({SIGTERM, SIGINT}), signal_number) {
    child_process server(server_path, {"--listen", "127.0.0.1:0", "--threads", "2"});
    auto line = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, "no listening line; stderr: " << server.err());
    auto port = port_of(*line);
    std::vector<plain_socket> idle;
    for (int i = 0; i < 5; ++i) {
        idle.push_back(plain_socket::tcp("127.0.0.1", port));
        idle.back().send_all("x");
        BOOST_TEST(idle.back().receive_exactly(1) == "x");
    }
    auto start = std::chrono::steady_clock::now();
    server.send_signal(signal_number);
    auto code = server.wait_exit(5s);
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_REQUIRE_MESSAGE(code, "still running 5 s after the signal");
    BOOST_TEST(*code == 0);
    BOOST_TEST(std::chrono::duration<double>(took).count() < 2.0);
    for (auto& s : idle) {
        BOOST_TEST(s.receive_until_eof().empty());
    }
}

BOOST_AUTO_TEST_CASE(logs_every_bound_endpoint_with_its_real_port) {
    child_process server(server_path, {"--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--udp",
                                       "127.0.0.1:0", "--threads", "1"});
    auto tcp_lines = server.wait_for_stderr_lines("listening tcp 127.0.0.1:", 2, 10s);
    auto udp_lines = server.wait_for_stderr_lines("listening udp 127.0.0.1:", 2, 10s);
    BOOST_REQUIRE_MESSAGE(tcp_lines.size() == 2u && udp_lines.size() == 2u, server.err());
    for (const auto& line : tcp_lines) {
        BOOST_TEST(port_of(line) != 0, line);
    }
    for (const auto& line : udp_lines) {
        BOOST_TEST(port_of(line) != 0, line);
    }
    BOOST_TEST(port_of(tcp_lines[0]) == port_of(udp_lines[0]), "--listen shares one port");
    // Every logged port really serves.
    auto tcp = plain_socket::tcp("127.0.0.1", port_of(tcp_lines[1]));
    tcp.send_all("tcp-only");
    BOOST_TEST(tcp.receive_exactly(8) == "tcp-only");
    auto udp = plain_socket::udp("127.0.0.1", port_of(udp_lines[1]));
    udp.send_all("udp-only");
    BOOST_TEST(udp.receive_some().value() == "udp-only");
}

BOOST_AUTO_TEST_CASE(an_accept_proxy_endpoint_is_logged_and_names_each_client_at_debug) {
    child_process server(server_path, {"--tcp", "127.0.0.1:0", "--accept-proxy", "127.0.0.1:0",
                                       "--threads", "1", "--log-level", "debug"});
    auto line = server.wait_for_stderr_line(" accept-proxy", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    BOOST_TEST(line->find("listening tcp 127.0.0.1:") != std::string::npos, *line);
    auto port = port_of(*line);
    BOOST_TEST(port != 0);

    auto client = plain_socket::tcp("127.0.0.1", port);
    client.send_all(
        proxy_bytes::as_string(proxy_bytes::v2_tcp("203.0.113.7", 5555, "192.0.2.1", 7)) +
        "via haproxy");
    BOOST_TEST(client.receive_exactly(11) == "via haproxy");
    auto expected =
        "connection from 203.0.113.7:5555 via 127.0.0.1:" + std::to_string(client.local_port()) +
        " (proxy v2)";
    BOOST_TEST(server.wait_for_stderr_line(expected, 10s).has_value(), server.err());

    // A bad header: closed unanswered, and one warning naming the proxy and the problem.
    auto bad = plain_socket::tcp("127.0.0.1", port);
    bad.send_all("HELO there\r\n");
    BOOST_TEST(bad.receive_until_eof().empty());
    auto warning = server.wait_for_stderr_line("bad PROXY header from 127.0.0.1:", 10s);
    BOOST_TEST(warning.has_value(), server.err());
}

BOOST_AUTO_TEST_CASE(upper_mode_binary_answers_HELLO_over_tcp_and_udp) {
    child_process server(server_path, {"--listen", "127.0.0.1:0", "--mode", "upper"});
    auto line = server.wait_for_stderr_line("listening udp 127.0.0.1:", 10s);
    BOOST_REQUIRE(line);
    auto port = port_of(*line);
    auto tcp = plain_socket::tcp("127.0.0.1", port);
    tcp.send_all("hello");
    BOOST_TEST(tcp.receive_exactly(5) == "HELLO");
    auto udp = plain_socket::udp("127.0.0.1", port);
    udp.send_all("hello");
    BOOST_TEST(udp.receive_some().value() == "HELLO");
}

BOOST_AUTO_TEST_CASE(help_prints_usage_on_stdout_and_exits_0) {
    auto result = run_program(server_path, {"--help"});
    BOOST_TEST(result.code == 0);
    BOOST_TEST(result.out.find("Usage: echo-server [OPTIONS]") == 0u);
    BOOST_TEST(result.out.find("--listen") != std::string::npos);
    BOOST_TEST(result.err.empty());
}

BOOST_AUTO_TEST_CASE(version_prints_one_line_and_exits_0) {
    auto result = run_program(server_path, {"--version"});
    BOOST_TEST(result.code == 0);
    BOOST_TEST(result.out.rfind("echo-server ", 0) == 0u);
    BOOST_TEST(std::count(result.out.begin(), result.out.end(), '\n') == 1);
}

namespace {

struct bad_invocation {
    std::vector<std::string> args;
    const char* expected_line;
};

std::ostream& operator<<(std::ostream& out, const bad_invocation& b) {
    for (const auto& a : b.args) {
        out << a << ' ';
    }
    return out;
}

const bad_invocation bad_invocations[] = {
    {{"--frobnicate"}, "echo-server: unrecognised option '--frobnicate'\n"},
    {{"--%canonical_option%"}, "echo-server: unrecognised option '--%canonical_option%'\n"},
    {{"--listen", "localhost"},
     "echo-server: invalid endpoint 'localhost' for --listen: missing ':PORT'\n"},
    {{"--listen", "127.0.0.1:65536"},
     "echo-server: invalid endpoint '127.0.0.1:65536' for --listen: port 65536 is out of range "
     "0-65535\n"},
    {{"--threads", "0"}, "echo-server: invalid value '0' for --threads: must be 1 to 1024\n"},
    {{"--mode", "shout"}, "echo-server: unknown mode 'shout' (expected echo or upper)\n"},
    {{"--config", "/nonexistent/echo-server.conf"},
     "echo-server: cannot read config file '/nonexistent/echo-server.conf': No such file or "
     "directory\n"},
    {{"--config", "/"}, "echo-server: cannot read config file '/': Is a directory\n"},
    {{"--idle-timeout", "0x10"},
     "echo-server: invalid value '0x10' for --idle-timeout: not a "
     "number\n"},
    {{"--idle-timeout", "0.0001"},
     "echo-server: invalid value '0.0001' for --idle-timeout: below the resolution of 0.001 "
     "seconds (0 means never)\n"},
    {{"--udp-drop-ports", ""},
     "echo-server: invalid value '' for --udp-drop-ports: empty (write 'none' to drop none)\n"},
    {{"--mode", "upper\nfake: x"},
     "echo-server: unknown mode 'upper\\x0afake: x' (expected echo or upper)\n"},
    {{"--listen", "[::ffff:127.0.0.1]:0"},
     "echo-server: invalid endpoint '[::ffff:127.0.0.1]:0' for --listen: '::ffff:127.0.0.1' is an "
     "IPv4-mapped "
     "address: write it as 127.0.0.1:0\n"},
    {{"--accept-proxy", "127.0.0.1:65536"},
     "echo-server: invalid endpoint '127.0.0.1:65536' for --accept-proxy: port 65536 is out of "
     "range 0-65535\n"},
    {{"--trusted-proxy", "10.0.0.0/40"},
     "echo-server: invalid value '10.0.0.0/40' for --trusted-proxy: prefix length 40 is out of "
     "range 0-32\n"},
    {{"--proxy-header-timeout", "soon"},
     "echo-server: invalid value 'soon' for --proxy-header-timeout: not a number\n"},
    {{"--max-connections-per-source", "-1"},
     "echo-server: invalid value '-1' for --max-connections-per-source: not a number\n"},
    {{"--deny", "300.1.1.1/8"},
     "echo-server: invalid value '300.1.1.1/8' for --deny: not an IPv4 or IPv6 address before "
     "'/'\n"},
    {{"--tls", "127.0.0.1:0"}, "echo-server: --tls needs --tls-cert and --tls-key\n"},
    {{"--tls-cert", "server.pem"},
     "echo-server: --tls-cert needs --tls-key (the certificate's key)\n"},
    {{"--tls-min-version", "1.1"},
     "echo-server: invalid value '1.1' for --tls-min-version: expected 1.2 or 1.3\n"},
    {{"--tls-handshake-timeout", "0"},
     "echo-server: invalid value '0' for --tls-handshake-timeout: must be above 0 seconds (a "
     "handshake that never ends would hold a slot)\n"},
    {{"--tls", "127.0.0.1:0", "--tls-cert", "/nonexistent/server.pem", "--tls-key",
      "/nonexistent/server.key"},
     "echo-server: cannot read --tls-cert '/nonexistent/server.pem': No such file or directory\n"},
    {{"--listen", "[fe80::1%nosuchif]:0"},
     "echo-server: invalid endpoint '[fe80::1%nosuchif]:0' for --listen: unknown interface "
     "'nosuchif'\n"},
};

} // namespace

BOOST_DATA_TEST_CASE(bad_arguments_exit_64_with_one_line_naming_the_value,
                     bdata::make(bad_invocations), b) {
    auto result = run_program(server_path, b.args);
    BOOST_TEST(result.code == 64);
    BOOST_TEST(result.err == b.expected_line);
    BOOST_TEST(result.out.empty());
}

BOOST_AUTO_TEST_CASE(address_in_use_exits_69_naming_address_and_reason) {
    child_process first(server_path, {"--tcp", "127.0.0.1:0"});
    auto line = first.wait_for_stderr_line("listening tcp", 10s);
    BOOST_REQUIRE(line);
    auto port = std::to_string(port_of(*line));
    auto result = run_program(server_path, {"--tcp", "127.0.0.1:" + port});
    BOOST_TEST(result.code == 69);
    BOOST_TEST(result.err == "echo-server: cannot listen on tcp 127.0.0.1:" + port +
                                 ": Address already in use\n");
}

BOOST_AUTO_TEST_CASE(unresolvable_host_exits_69_naming_it) {
    auto result = run_program(server_path, {"--tcp", "no-such-host.invalid:0"});
    BOOST_TEST(result.code == 69);
    BOOST_TEST(result.err.rfind("echo-server: cannot resolve 'no-such-host.invalid': ", 0) == 0u,
               result.err);
    BOOST_TEST(std::count(result.err.begin(), result.err.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(sigterm_with_no_connection_open_exits_0_at_once) {
    child_process server(server_path, {"--listen", "127.0.0.1:0"});
    BOOST_REQUIRE(server.wait_for_stderr_line("listening udp 127.0.0.1:", 10s));
    auto start = std::chrono::steady_clock::now();
    server.send_signal(SIGTERM);
    auto code = server.wait_exit(5s);
    BOOST_REQUIRE_MESSAGE(code, "still running 5 s after SIGTERM; its stderr:\n" + server.err());
    BOOST_TEST(*code == 0);
    BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
               2.0);
}

BOOST_AUTO_TEST_CASE(a_notify_socket_that_is_no_socket_address_exits_64) {
    // The service manager's environment is as wrong as a bad option: a restart cannot fix it
    // (RestartPreventExitStatus=64), so it is a usage error, as echo-server(8) says.
    auto result =
        run_program(server_path, {"--listen", "127.0.0.1:0"}, {"NOTIFY_SOCKET=relative/notify"});
    BOOST_TEST(result.code == 64);
    BOOST_TEST(result.err ==
               "echo-server: NOTIFY_SOCKET is neither a path nor '@name': 'relative/notify'\n");
}

namespace {

/// Runs the server under a shell limit (`ulimit -n 6`, ...) so that start-up fails.
run_result run_limited(const std::string& limit, const std::string& args) {
    return run_program("/bin/sh", {"-c", limit + " && exec \"$0\" " + args, server_path});
}

bool one_line(const std::string& text) {
    return !text.empty() && text.find('\n') == text.size() - 1;
}

} // namespace

BOOST_AUTO_TEST_CASE(too_few_descriptors_exit_71_naming_what_failed) {
    // Raising the limit one descriptor at a time, the event loops or the signal pipe fail
    // first, until the listeners do (69). Below that, the dynamic loader itself fails (127):
    // how low depends on the descriptors the test runner passes on.
    bool saw_signals = false;
    for (int files = 3; files <= 32; ++files) {
        auto result =
            run_limited("ulimit -n " + std::to_string(files), "--listen 127.0.0.1:0 --threads 1");
        if (result.code == 127) {
            continue;
        }
        if (result.code != 71) {
            break;
        }
        BOOST_TEST_CONTEXT("ulimit -n " << files << ": " << result.err) {
            BOOST_TEST(one_line(result.err));
            bool named =
                result.err == "echo-server: cannot set up signal handling: Too many open files\n" ||
                result.err == "echo-server: cannot create the event loops: Too many open files\n";
            BOOST_TEST(named);
            saw_signals |= result.err.find("signal handling") != std::string::npos;
        }
    }
    BOOST_TEST(saw_signals);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
BOOST_AUTO_TEST_CASE(threads_that_cannot_start_exit_71_naming_them) {
    // 1024 stacks of 8 MiB do not fit in 200 MB of address space (as root, RLIMIT_NPROC
    // would not apply).
    auto result =
        run_limited("ulimit -s 8192 && ulimit -v 200000", "--listen 127.0.0.1:0 --threads 1024");
    BOOST_TEST(result.code == 71);
    BOOST_TEST(result.err ==
               "echo-server: cannot start 1024 io threads: Resource temporarily unavailable\n");
}
#endif
BOOST_AUTO_TEST_CASE(clients_connecting_in_a_loop_at_the_limit_log_it_once_per_10_s) {
    // Each client that finds the one slot taken used to log "connection limit reached":
    // 34,688 lines in 5 s from a loop of clients.
    child_process server(server_path,
                         {"--listen", "127.0.0.1:0", "--threads", "1", "--max-connections", "1"});
    auto line = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    auto port = port_of(*line);
    int clients = 0;
    for (auto until = std::chrono::steady_clock::now() + 2s;
         std::chrono::steady_clock::now() < until && clients < 100000; ++clients) {
        auto client = plain_socket::tcp("127.0.0.1", port);
        client.send_all("x");
        BOOST_REQUIRE(client.receive_exactly(1) == "x");
        server.wait_for_stderr_line("\x01", 1ms); // read stderr as it comes: a full pipe blocks
    }
    server.send_signal(SIGTERM);
    BOOST_REQUIRE(server.wait_exit(5s).value_or(-1) == 0);
    auto lines = 0;
    for (std::size_t at = 0;
         (at = server.err().find("connection limit reached", at)) != std::string::npos; ++at) {
        ++lines;
    }
    BOOST_TEST_MESSAGE(clients << " clients in 2 s, " << lines << " limit line(s)");
    BOOST_TEST(clients >= 10);
    BOOST_TEST(lines == 1, lines << " limit lines for " << clients << " clients");
}
