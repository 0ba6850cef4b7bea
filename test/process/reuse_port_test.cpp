// SPDX-License-Identifier: BSL-1.0
// --reuse-port: two echo-server processes on one port (TCP, UDP and metrics) both serve; when
// one is killed, new connections, datagrams and scrapes all reach the other. The instances
// differ in mode (echo vs upper), so each reply tells which one answered.
#define BOOST_TEST_MODULE reuse_port
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "exposition.hpp"
#include "http_client.hpp"
#include "net.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

/// An instance and the ports it logged.
struct instance {
    child_process process;
    std::uint16_t port = 0;
    std::uint16_t metrics_port = 0;

    explicit instance(const std::vector<std::string>& args) : process(server_path, args) {
        auto metrics = process.wait_for_stderr_line("listening metrics 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(metrics, "no metrics line; stderr: " << process.err());
        metrics_port = port_of(*metrics);
        port = port_of(process.wait_for_stderr_line("listening udp 127.0.0.1:", 1s).value());
    }
};

std::vector<std::string> args(const std::string& port, const std::string& metrics_port,
                              const std::string& mode) {
    return {"--listen",    "127.0.0.1:" + port,
            "--metrics",   "127.0.0.1:" + metrics_port,
            "--mode",      mode,
            "--threads",   "1",
            "--reuse-port"};
}

/// Who answered "hello" over a new TCP connection: "hello" (echo) or "HELLO" (upper).
std::string tcp_answer(std::uint16_t port) {
    auto client = plain_socket::tcp("127.0.0.1", port);
    client.send_all("hello");
    return client.receive_exactly(5);
}

/// The same over UDP, from a new source port each time.
std::string udp_answer(std::uint16_t port) {
    auto client = plain_socket::udp("127.0.0.1", port);
    client.send_all("hello");
    return client.receive_some().value_or("<no reply>");
}

/// A scrape's process_start_time_seconds, which tells the two processes apart.
double start_time_of_scraped(std::uint16_t metrics_port) {
    auto reply = http_get(metrics_port);
    BOOST_REQUIRE_EQUAL(reply.status, 200u);
    return sample_value(reply.body, "process_start_time_seconds").value_or(-1);
}

} // namespace

BOOST_AUTO_TEST_CASE(two_instances_share_every_port_and_one_survives_the_other) {
    instance first(args("0", "0", "echo"));
    instance second(args(std::to_string(first.port), std::to_string(first.metrics_port), "upper"));
    BOOST_REQUIRE_EQUAL(second.port, first.port);
    BOOST_REQUIRE_EQUAL(second.metrics_port, first.metrics_port);

    // The kernel spreads new connections over the listeners by a hash of the addresses.
    std::set<std::string> tcp_seen, udp_seen;
    std::set<double> metrics_seen;
    for (int i = 0; i < 200 && (tcp_seen.size() < 2 || udp_seen.size() < 2); ++i) {
        tcp_seen.insert(tcp_answer(first.port));
        udp_seen.insert(udp_answer(first.port));
    }
    for (int i = 0; i < 200 && metrics_seen.size() < 2; ++i) {
        metrics_seen.insert(start_time_of_scraped(first.metrics_port));
    }
    BOOST_TEST((tcp_seen == std::set<std::string>{"HELLO", "hello"}));
    BOOST_TEST((udp_seen == std::set<std::string>{"HELLO", "hello"}));
    BOOST_TEST(metrics_seen.size() == 2u, "one instance never answered a scrape");

    first.process.send_signal(SIGKILL); // by PID: only the child this test started
    BOOST_REQUIRE(first.process.wait_exit(10s).has_value());
    std::size_t tcp_served = 0, udp_served = 0, scraped = 0;
    for (int i = 0; i < 50; ++i) {
        tcp_served += tcp_answer(first.port) == "HELLO";
        udp_served += udp_answer(first.port) == "HELLO";
        scraped += http_get(first.metrics_port).status == 200u;
    }
    BOOST_TEST(tcp_served == 50u);
    BOOST_TEST(udp_served == 50u);
    BOOST_TEST(scraped == 50u);
    second.process.send_signal(SIGTERM);
    BOOST_TEST(second.process.wait_exit(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_port_held_without_reuse_port_is_not_shared) {
    child_process first(server_path, {"--listen", "127.0.0.1:0", "--threads", "1"});
    auto line = first.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, first.err());
    auto port = std::to_string(port_of(*line));
    auto second = run_program(server_path,
                              {"--listen", "127.0.0.1:" + port, "--reuse-port", "--threads", "1"});
    BOOST_TEST(second.code == 69);
    BOOST_TEST(second.err == "echo-server: cannot listen on tcp 127.0.0.1:" + port +
                                 ": Address already in use\n");
}
