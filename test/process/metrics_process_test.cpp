// SPDX-License-Identifier: BSL-1.0
// The real echo-server with --metrics: exact counters after known traffic, the exposition's
// syntax, 404/405/400 with the connection closed, keep-alive and HEAD, deadlines and the cap
// on scrape connections, and scraping while 500 clients echo.
#define BOOST_TEST_MODULE metrics_process
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <future>
#include <numeric>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "echo_swarm.hpp"
#include "eventually.hpp"
#include "exposition.hpp"
#include "http_client.hpp"
#include "net.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// echo-server on 127.0.0.1:0 with --metrics 127.0.0.1:0 and extra args; both ports read from
/// its listening lines.
struct metered_server {
    child_process process;
    std::uint16_t port = 0;
    std::uint16_t metrics_port = 0;

    explicit metered_server(std::vector<std::string> extra = {})
        : process(server_path, with_defaults(std::move(extra))) {
        auto metrics = process.wait_for_stderr_line("listening metrics 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(metrics, "no metrics line; stderr: " << process.err());
        metrics_port = port_of(*metrics);
        port = port_of(process.wait_for_stderr_line("listening tcp 127.0.0.1:", 1s).value());
    }
    ~metered_server() {
        process.send_signal(SIGTERM);
        BOOST_TEST(process.wait_exit(10s).value_or(-1) == 0, process.err());
    }

    /// A scrape that must succeed with valid exposition text; returns the text.
    std::string scrape() {
        auto reply = http_get(metrics_port);
        BOOST_REQUIRE_EQUAL(reply.status, 200u);
        auto problems = exposition_problems(reply.body);
        BOOST_TEST(problems.empty(), (problems.empty() ? "" : problems.front()));
        return reply.body;
    }

private:
    static std::vector<std::string> with_defaults(std::vector<std::string> extra) {
        std::vector<std::string> args{"--listen",    "127.0.0.1:0", "--metrics",
                                      "127.0.0.1:0", "--threads",   "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
};

/// True when the peer closes the connection (EOF or reset) within the socket's timeout.
bool closed_by_peer(plain_socket& socket) {
    try {
        for (int reads = 0; reads < 1000; ++reads) {
            auto chunk = socket.receive_some();
            if (!chunk) {
                return false; // timed out while still open
            }
            if (chunk->empty()) {
                return true;
            }
        }
    } catch (const std::runtime_error&) {
        return true; // reset
    }
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(counters_after_known_traffic_are_exact) {
    // Borrow a free ephemeral port for the "reflecting" source, and guard exactly it.
    std::uint16_t guarded_port = plain_socket::udp("127.0.0.1", 9).local_port();
    auto before_start = unix_now();
    metered_server server({"--udp-drop-ports", std::to_string(guarded_port)});
    auto after_start = unix_now();

    // N connections, M bytes in all, each echoed whole before EOF.
    const std::vector<std::size_t> sizes{1, 100, 4096, 65536, 200000};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        auto client = plain_socket::tcp("127.0.0.1", server.port);
        auto data = random_bytes(sizes[i], 800 + i);
        auto reader = std::async(std::launch::async, [&] { return client.receive_until_eof(); });
        client.send_all(data);
        client.shutdown_send();
        BOOST_TEST((reader.get() == data), "seed " << 800 + i);
    }
    const auto tcp_bytes = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});

    // One datagram from a guarded port first: the UDP loop handles datagrams in order, so
    // once the K later ones are answered it has been dropped.
    auto reflector = plain_socket::udp_from("127.0.0.1", guarded_port, "127.0.0.1", server.port);
    reflector.send_all(std::string(33, 'r'));
    const std::vector<std::size_t> datagrams{0, 1, 64, 1400, 9000};
    auto udp = plain_socket::udp("127.0.0.1", server.port);
    for (auto size : datagrams) {
        auto data = random_bytes(size, size);
        udp.send_all(data);
        BOOST_TEST((udp.receive_some().value() == data), "datagram of " << size);
    }
    const auto udp_bytes = std::accumulate(datagrams.begin(), datagrams.end(), std::size_t{0});

    // A session is counted in the histogram just after it closed: wait for the last one.
    std::string text;
    bool settled = eventually(
        [&] {
            text = server.scrape();
            return sample_value(text, "echo_session_duration_seconds_count") == sizes.size() &&
                   sample_value(text, "echo_connections_active") == 0;
        },
        5s);
    BOOST_TEST_MESSAGE(text);
    BOOST_REQUIRE_MESSAGE(settled, text);
    auto version = run_program(server_path, {"--version"}).out; // "echo-server X.Y.Z\n"
    version = version.substr(version.find(' ') + 1);
    version.pop_back();
    const std::map<std::string, double> expected{
        {"echo_connections_accepted_total", 5},
        {"echo_connections_active", 0},
        {"echo_connection_limit_reached_total", 0},
        {"echo_connections_timed_out_total", 0},
        {"echo_bytes_received_total{protocol=\"tcp\"}", double(tcp_bytes)},
        {"echo_bytes_sent_total{protocol=\"tcp\"}", double(tcp_bytes)},
        {"echo_bytes_received_total{protocol=\"udp\"}", double(udp_bytes + 33)},
        {"echo_bytes_sent_total{protocol=\"udp\"}", double(udp_bytes)},
        {"echo_datagrams_received_total", double(datagrams.size() + 1)},
        {"echo_datagrams_sent_total", double(datagrams.size())},
        {"echo_datagrams_dropped_total{reason=\"reflection_guard\"}", 1},
        {"echo_datagrams_dropped_total{reason=\"rate_limit\"}", 0},
        {"echo_datagrams_dropped_total{reason=\"oversize\"}", 0},
        {"echo_datagram_errors_total", 0},
        {"echo_session_duration_seconds_bucket{le=\"+Inf\"}", 5},
        {"echo_session_duration_seconds_count", 5},
        {"echo_build_info{version=\"" + version + "\"}", 1},
    };
    auto samples = exposition_samples(text);
    for (const auto& [key, value] : expected) {
        BOOST_TEST(samples.count(key) == 1u, "missing " << key);
        BOOST_TEST(samples[key] == value, key);
    }
    auto elapsed = unix_now() - before_start;
    BOOST_TEST(samples["echo_session_duration_seconds_sum"] > 0);
    BOOST_TEST(samples["echo_session_duration_seconds_sum"] < 5 * elapsed);
    BOOST_TEST(samples["process_start_time_seconds"] >= before_start - 1);
    BOOST_TEST(samples["process_start_time_seconds"] <= after_start + 1);

    // Scrapes are not echo traffic: a second one counts nothing new.
    auto again = exposition_samples(server.scrape());
    BOOST_TEST(again["echo_connections_accepted_total"] == 5);
    BOOST_TEST(again["echo_bytes_received_total{protocol=\"tcp\"}"] == double(tcp_bytes));
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_get_head_404_and_405_on_one_connection) {
    metered_server server;
    auto socket = plain_socket::tcp("127.0.0.1", server.metrics_port);
    auto get = http_exchange(socket, get_request("/metrics", true));
    BOOST_TEST(get.status == 200u);
    BOOST_TEST(get.keep_alive);
    BOOST_TEST(get.content_type.starts_with("text/plain; version=0.0.4"), get.content_type);
    BOOST_TEST(exposition_problems(get.body).empty());

    auto head = http_exchange(socket, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", true);
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.body.empty());
    BOOST_TEST(head.content_length == std::to_string(get.body.size())); // nothing changed since

    auto missing = http_exchange(socket, get_request("/", true));
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(missing.keep_alive);
    BOOST_TEST(http_exchange(socket, get_request("/metrics/x", true)).status == 404u);

    auto post = http_exchange(socket, "POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                      "Content-Length: 0\r\n\r\n");
    BOOST_TEST(post.status == 405u);

    auto with_query = http_exchange(socket, get_request("/metrics?name[]=x", true));
    BOOST_TEST(with_query.status == 200u);

    auto last = http_exchange(socket, get_request("/metrics", false));
    BOOST_TEST(last.status == 200u);
    BOOST_TEST(!last.keep_alive);
    BOOST_TEST(closed_by_peer(socket), "still open after Connection: close");
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_the_connection_closed) {
    metered_server server;
    for (const std::string& request : {
             std::string("NOT HTTP AT ALL\r\n\r\n"),
             std::string("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n"),
             std::string("GET /metrics HTTP/9.9\r\n\r\n"),
             std::string("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
             std::string("GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
         }) {
        auto socket = plain_socket::tcp("127.0.0.1", server.metrics_port);
        socket.set_timeout(5s);
        auto reply = http_exchange(socket, request);
        BOOST_TEST(reply.status == 400u, request);
        BOOST_TEST(!reply.keep_alive, request);
        BOOST_TEST(closed_by_peer(socket), "still open after: " << request);
    }
    // The server goes on serving.
    BOOST_TEST(http_get(server.metrics_port).status == 200u);
}

BOOST_AUTO_TEST_CASE(oversized_request_gets_400_and_the_connection_closed) {
    metered_server server;
    auto socket = plain_socket::tcp("127.0.0.1", server.metrics_port);
    socket.set_timeout(5s);
    auto request =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(64 * 1024, 'f') + "\r\n\r\n";
    auto reply = http_exchange(socket, request);
    BOOST_TEST(reply.status == 400u);
    BOOST_TEST(closed_by_peer(socket));
    auto long_target = http_get(server.metrics_port, "/" + std::string(16 * 1024, 'm'));
    BOOST_TEST(long_target.status == 400u);
}

BOOST_AUTO_TEST_CASE(a_scraper_that_stalls_is_closed_within_the_timeout) {
    metered_server server;
    auto start = std::chrono::steady_clock::now();
    auto stalled = plain_socket::tcp("127.0.0.1", server.metrics_port);
    stalled.send_all("GET /metr"); // and nothing more
    auto idle = plain_socket::tcp("127.0.0.1", server.metrics_port);
    stalled.set_timeout(10s);
    idle.set_timeout(10s);
    BOOST_TEST(closed_by_peer(stalled));
    // A header begun must be complete within 2 s; an idle connection may wait 5 s.
    auto header = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("stalled header closed after " << header << " s");
    BOOST_TEST(header >= 1.5);
    BOOST_TEST(header < 4.0);
    BOOST_TEST(closed_by_peer(idle));
    auto waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("idle scraper closed after " << waited << " s");
    BOOST_TEST(waited >= 4.5);
    BOOST_TEST(waited < 8.0);
}

BOOST_AUTO_TEST_CASE(a_scrape_gets_through_while_eight_connections_sit_idle_or_send_slowly) {
    // Eight connections fill the table: four idle keep-alive ones (each served once), then
    // four that send half a request header and stall. A scraper must still get through, at
    // once, each time: the longest-idle connection makes room, oldest first.
    metered_server server;
    std::vector<plain_socket> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(plain_socket::tcp("127.0.0.1", server.metrics_port));
        BOOST_REQUIRE_EQUAL(http_exchange(held.back(), get_request("/metrics", true)).status, 200u);
    }
    for (int i = 0; i < 4; ++i) {
        held.push_back(plain_socket::tcp("127.0.0.1", server.metrics_port));
        held.back().send_all("GET /metrics HTTP/1.1\r\nHost: x\r\n"); // and no blank line
    }
    double slowest = 0;
    for (int i = 0; i < 3; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto reply = http_get(server.metrics_port);
        auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        slowest = std::max(slowest, took);
        BOOST_TEST(reply.status == 200u, "scrape " << i);
    }
    BOOST_TEST_MESSAGE("slowest of 3 scrapes beside 8 idle connections: " << slowest << " s");
    BOOST_TEST(slowest < 1.0);
    // Room was made by closing connections that waited for a request (which ones depends on
    // when each last finished a request, on the server's side), no more than needed: one for
    // the scrapes, and one more when the last held connection itself came after the first
    // scrape (the server accepts asynchronously). At least two keep-alive ones still serve.
    int still_served = 0;
    for (int i = 0; i < 4; ++i) {
        try {
            still_served += http_exchange(held[i], get_request("/metrics", true)).status == 200u;
        } catch (const std::runtime_error&) {
        }
    }
    BOOST_TEST(still_served >= 2, still_served << " of 4 keep-alive connections still served");
    auto echo = plain_socket::tcp("127.0.0.1", server.port);
    echo.send_all("still echoing");
    BOOST_TEST(echo.receive_exactly(13) == "still echoing");
}

BOOST_AUTO_TEST_CASE(scraping_while_500_clients_echo_disturbs_none) {
    metered_server server;
    const std::size_t clients = 500;
    echo_swarm swarm(server.port, clients, 20, 4711, 5ms);
    std::size_t scrapes = 0;
    std::size_t scrape_failures = 0;
    auto until = std::chrono::steady_clock::now() + 60s;
    // Scrape back to back while the clients run (bounded by count and time).
    while (swarm.rounds_done() < clients * 20 && scrapes < 100000 &&
           std::chrono::steady_clock::now() < until) {
        try {
            auto reply = http_get(server.metrics_port);
            scrape_failures += reply.status != 200u || !exposition_problems(reply.body).empty();
        } catch (const std::runtime_error& e) {
            BOOST_TEST_MESSAGE("scrape failed: " << e.what());
            ++scrape_failures;
        }
        ++scrapes;
    }
    auto result = swarm.wait(60s);
    BOOST_TEST_MESSAGE(scrapes << " scrapes while " << clients << " clients echoed");
    BOOST_TEST(result.completed == clients, "seed 4711");
    BOOST_TEST(result.mismatched == 0u);
    BOOST_TEST(result.failed == 0u);
    BOOST_TEST(result.unfinished == 0u);
    BOOST_TEST(scrapes >= 5u);
    BOOST_TEST(scrape_failures == 0u);
    auto after = exposition_samples(server.scrape());
    BOOST_TEST(after["echo_connections_accepted_total"] == double(clients));
}
