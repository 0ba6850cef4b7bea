// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE reliability_process
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "net.hpp"
#include "proc_stats.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

std::vector<std::string> shell_args(const std::string& prefix,
                                    const std::vector<std::string>& args) {
    std::vector<std::string> all = {"-c", prefix + " exec \"$0\" \"$@\"", server_path};
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

/// Starts echo-server with args and waits for its TCP port.
struct started_server {
    child_process process;
    std::uint16_t port = 0;

    /// shell_prefix, when given, runs first in /bin/sh (say "ulimit -n 64;"), which then
    /// execs the server with args.
    explicit started_server(const std::vector<std::string>& args,
                            const std::string& shell_prefix = "")
        : process(shell_prefix.empty() ? server_path : "/bin/sh",
                  shell_prefix.empty() ? args : shell_args(shell_prefix, args)) {
        auto line = process.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(line, "no listening line; stderr: " << process.err());
        port = port_of(*line);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(sigterm_drain_returns_every_byte_of_a_stream_then_exits_0) {
    started_server server({"--listen", "127.0.0.1:0", "--threads", "2", "--drain-timeout", "10"});
    auto streamer = plain_socket::tcp("127.0.0.1", server.port);
    auto idle = plain_socket::tcp("127.0.0.1", server.port);
    idle.send_all("i");
    BOOST_TEST(idle.receive_exactly(1) == "i");
    auto data = random_bytes(4u << 20, 4242);
    auto reader = std::async(std::launch::async, [&] { return streamer.receive_until_eof(); });
    streamer.send_all(data.substr(0, 1u << 20));
    server.process.send_signal(SIGTERM);
    BOOST_REQUIRE(server.process.wait_for_stderr_line("received SIGTERM, stopping", 5s));
    // New connections are refused once the listener's close has run on its thread...
    bool refused = eventually(
        [&] {
            try {
                plain_socket::tcp("127.0.0.1", server.port);
                return false;
            } catch (const std::runtime_error&) {
                return true;
            }
        },
        5s);
    BOOST_TEST(refused, "still accepting after SIGTERM");
    // ...while the open stream goes on to its end.
    streamer.send_all(data.substr(1u << 20));
    streamer.shutdown_send();
    auto back = reader.get();
    BOOST_TEST(back.size() == data.size());
    BOOST_TEST((back == data), "seed 4242");
    BOOST_TEST(idle.receive_until_eof().empty()); // the idle client is closed, not kept
    BOOST_TEST(server.process.wait_exit(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_second_signal_ends_the_drain_at_once) {
    started_server server({"--listen", "127.0.0.1:0", "--drain-timeout", "60"});
    // A client that sends without reading keeps its session busy writing: the drain would
    // wait the whole 60 s for it.
    auto pusher = plain_socket::tcp("127.0.0.1", server.port);
    ::fcntl(pusher.fd(), F_SETFL, O_NONBLOCK);
    std::string chunk(64 * 1024, 'p');
    for (int i = 0; i < 1000; ++i) {
        if (::send(pusher.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) {
            break; // buffers full both ways: the server is blocked writing to us
        }
    }
    server.process.send_signal(SIGTERM);
    BOOST_REQUIRE(server.process.wait_for_stderr_line("draining 1 connection", 5s));
    auto start = std::chrono::steady_clock::now();
    server.process.send_signal(SIGTERM);
    auto code = server.process.wait_exit(5s);
    BOOST_REQUIRE_MESSAGE(code, "still draining after a second signal");
    BOOST_TEST(*code == 0);
    BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
               3.0);
}

BOOST_AUTO_TEST_CASE(out_of_descriptors_backs_off_without_spinning_and_recovers) {
    started_server server({"--listen", "127.0.0.1:0", "--threads", "1"}, "ulimit -n 64;");
    std::vector<plain_socket> clients;
    for (int i = 0; i < 200; ++i) {
        clients.push_back(plain_socket::tcp("127.0.0.1", server.port)); // the backlog holds them
    }
    BOOST_REQUIRE(server.process.wait_for_stderr_line("accept failed: Too many open files", 10s));
    auto pid = server.process.pid();
    auto cpu_before = cpu_seconds(pid);
    auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1s); // the measuring window, not a synchronisation
    auto cpu_per_second =
        (cpu_seconds(pid) - cpu_before) /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    BOOST_TEST_MESSAGE("CPU while out of descriptors: " << cpu_per_second << " s/s");
    BOOST_TEST(cpu_per_second < 0.2, "CPU " << cpu_per_second << " s/s while out of descriptors");
    clients.clear();
    // Descriptors free up as the closed clients are accepted and ended; a new client is served.
    bool served = eventually(
        [&] {
            try {
                auto fresh = plain_socket::tcp("127.0.0.1", server.port);
                fresh.set_timeout(2s);
                fresh.send_all("back");
                return fresh.receive_exactly(4) == "back";
            } catch (const std::exception&) {
                return false;
            }
        },
        15s);
    BOOST_TEST(served);
    BOOST_TEST(server.process.wait_for_stderr_line("accepting again after", 5s).has_value());
}

BOOST_AUTO_TEST_CASE(never_reading_client_costs_bounded_memory_and_others_are_served) {
    started_server server({"--listen", "127.0.0.1:0", "--threads", "2"});
    auto pid = server.process.pid();
    auto rss_before = rss_kib(pid);
    auto pusher = plain_socket::tcp("127.0.0.1", server.port);
    ::fcntl(pusher.fd(), F_SETFL, O_NONBLOCK);
    std::string chunk(256 * 1024, 'n');
    std::size_t pushed = 0;
    auto until = std::chrono::steady_clock::now() + 3s;
    while (pushed < (64u << 20) && std::chrono::steady_clock::now() < until) {
        auto n = ::send(pusher.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            pushed += static_cast<std::size_t>(n);
        } else {
            std::this_thread::sleep_for(10ms); // the server stopped reading: backpressure
        }
    }
    BOOST_TEST_MESSAGE("pushed " << pushed << " bytes without reading");
    BOOST_TEST(pushed < (64u << 20), "the server read everything: no backpressure?");
    auto growth_kib = static_cast<long>(rss_kib(pid)) - static_cast<long>(rss_before);
    BOOST_TEST_MESSAGE("RSS growth with a never-reading client: " << growth_kib << " KiB");
    BOOST_TEST(growth_kib < 16 * 1024, "RSS grew by " << growth_kib << " KiB");
    auto other = plain_socket::tcp("127.0.0.1", server.port);
    other.send_all("unaffected");
    BOOST_TEST(other.receive_exactly(10) == "unaffected");
}

BOOST_AUTO_TEST_CASE(reset_mid_write_ends_only_that_session) {
    started_server server({"--listen", "127.0.0.1:0"});
    for (int i = 0; i < 20; ++i) {
        auto victim = plain_socket::tcp("127.0.0.1", server.port);
        victim.send_all(std::string(1u << 20, 'r'));
        linger hard{1, 0}; // close with RST while the server is writing to us
        ::setsockopt(victim.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    auto other = plain_socket::tcp("127.0.0.1", server.port);
    other.send_all("alive");
    BOOST_TEST(other.receive_exactly(5) == "alive");
}

BOOST_AUTO_TEST_CASE(no_descriptor_leak_after_1000_connect_close_cycles) {
    started_server server({"--listen", "127.0.0.1:0", "--threads", "2"});
    auto pid = server.process.pid();
    auto baseline = open_fds(pid);
    for (int i = 0; i < 1000; ++i) {
        auto client = plain_socket::tcp("127.0.0.1", server.port);
        if (i % 2 == 0) {
            client.send_all("c");
            BOOST_TEST_REQUIRE(client.receive_exactly(1) == "c");
        }
    }
    bool back_to_baseline = eventually([&] { return open_fds(pid) == baseline; }, 10s);
    BOOST_TEST(back_to_baseline, "fds " << open_fds(pid) << ", baseline " << baseline);
}

BOOST_AUTO_TEST_CASE(stats_interval_logs_the_counters) {
    started_server server({"--listen", "127.0.0.1:0", "--stats-interval", "0.2"});
    auto client = plain_socket::tcp("127.0.0.1", server.port);
    client.send_all("12345");
    BOOST_TEST(client.receive_exactly(5) == "12345");
    auto line = server.process.wait_for_stderr_line("tcp_bytes_out=5 ", 5s);
    BOOST_REQUIRE_MESSAGE(line, server.process.err());
    BOOST_TEST(line->find("stats connections_accepted=1 connections_active=1") != std::string::npos,
               *line);
}
