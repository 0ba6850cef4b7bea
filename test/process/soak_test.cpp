// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE soak
// 2,000 concurrent TCP connections plus UDP traffic against the real binary for
// $ASIO_ECHO_SOAK_SECONDS (default 20): random sizes, half-closes and resets. Every echoed
// byte is checked; at the end the server is alive and holds no more descriptors than at the
// start.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include <sys/resource.h>

#include "asio_echo/coro.hpp"
#include "child_process.hpp"
#include "proc_stats.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

struct totals {
    std::uint64_t exchanges = 0;
    std::uint64_t bytes = 0;
    std::uint64_t mismatches = 0;
    std::uint64_t errors = 0;
    std::uint64_t connections = 0;
    std::uint64_t half_closes = 0;
    std::uint64_t resets = 0;
    std::uint64_t datagrams = 0;
    std::uint64_t datagrams_lost = 0;
};

/// One client slot: connection after connection until the deadline. The test's io_context
/// has one thread, so the totals need no locking.
asio::awaitable<void> tcp_client(asio::ip::tcp::endpoint server, std::uint32_t seed,
                                 std::chrono::steady_clock::time_point deadline, totals& t) {
    std::mt19937 random(seed);
    std::string sent, back;
    auto executor = co_await asio::this_coro::executor;
    while (std::chrono::steady_clock::now() < deadline) {
        asio::ip::tcp::socket socket(executor);
        auto [connect_ec] = co_await socket.async_connect(server, nothrow);
        if (connect_ec) {
            ++t.errors;
            co_return;
        }
        ++t.connections;
        auto exchanges = 1 + random() % 20;
        for (unsigned i = 0; i < exchanges && std::chrono::steady_clock::now() < deadline; ++i) {
            // Mostly small messages, now and then up to 64 KiB.
            std::size_t size = random() % 8 == 0 ? 1 + random() % 65536 : 1 + random() % 512;
            sent.resize(size);
            for (auto& c : sent) {
                c = static_cast<char>(random());
            }
            back.assign(size, '\0');
            auto [write_ec, written] =
                co_await asio::async_write(socket, asio::buffer(sent), nothrow);
            auto [read_ec, read] = co_await asio::async_read(socket, asio::buffer(back), nothrow);
            if (write_ec || read_ec) {
                ++t.errors;
                co_return;
            }
            ++t.exchanges;
            t.bytes += read;
            if (back != sent) {
                ++t.mismatches;
            }
        }
        switch (random() % 3) {
        case 0: { // half-close: the server must answer with EOF and nothing else
            socket.shutdown(asio::ip::tcp::socket::shutdown_send);
            char extra;
            auto [eof_ec, n] = co_await socket.async_read_some(asio::buffer(&extra, 1), nothrow);
            if (eof_ec != asio::error::eof || n != 0) {
                ++t.errors;
            }
            ++t.half_closes;
            break;
        }
        case 1: // reset
            socket.set_option(asio::socket_base::linger(true, 0));
            ++t.resets;
            break;
        default: // plain close
            break;
        }
    }
}

asio::awaitable<void> udp_client(asio::ip::udp::endpoint server, std::uint32_t seed,
                                 std::chrono::steady_clock::time_point deadline, totals& t) {
    std::mt19937 random(seed);
    auto executor = co_await asio::this_coro::executor;
    asio::ip::udp::socket socket(executor, asio::ip::udp::v4());
    socket.connect(server);
    asio::steady_timer timer(executor);
    std::string sent, back(65536, '\0');
    while (std::chrono::steady_clock::now() < deadline) {
        sent.resize(random() % 1401);
        for (auto& c : sent) {
            c = static_cast<char>(random());
        }
        co_await socket.async_send(asio::buffer(sent), nothrow);
        ++t.datagrams;
        timer.expires_after(500ms);
        auto result = co_await (socket.async_receive(asio::buffer(back), nothrow) ||
                                timer.async_wait(nothrow));
        if (result.index() == 1) {
            ++t.datagrams_lost; // loopback may drop under load; lost is not wrong
            continue;
        }
        auto [ec, n] = std::get<0>(result);
        if (ec || std::string_view(back.data(), n) != sent) {
            ++t.mismatches;
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(two_thousand_connections_and_udp_for_the_soak_time_lose_nothing) {
    const char* seconds_text = std::getenv("ASIO_ECHO_SOAK_SECONDS");
    auto seconds = std::chrono::seconds(seconds_text ? std::atoi(seconds_text) : 20);
    // 2,000 connections need more descriptors than the usual soft limit on both sides.
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    BOOST_REQUIRE_MESSAGE(files.rlim_cur > 4200, "needs a descriptor limit above 4200");

    child_process server(ECHO_SERVER_PATH, {"--listen", "127.0.0.1:0", "--threads", "2"});
    auto line = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
    auto baseline_fds = open_fds(server.pid());

    asio::io_context context(1);
    totals t;
    auto address = asio::ip::make_address("127.0.0.1");
    auto deadline = std::chrono::steady_clock::now() + seconds;
    std::uint32_t seed = 20261126;
    BOOST_TEST_MESSAGE("soak for " << seconds.count() << " s, seed " << seed);
    for (std::uint32_t i = 0; i < 2000; ++i) {
        asio::co_spawn(context, tcp_client({address, port}, seed + i, deadline, t),
                       log_failure{"soak tcp client"});
    }
    for (std::uint32_t i = 0; i < 20; ++i) {
        asio::co_spawn(context, udp_client({address, port}, seed + 100000 + i, deadline, t),
                       log_failure{"soak udp client"});
    }
    context.run();

    BOOST_TEST_MESSAGE("connections " << t.connections << ", exchanges " << t.exchanges
                                      << ", bytes " << t.bytes << ", half-closes " << t.half_closes
                                      << ", resets " << t.resets << ", datagrams " << t.datagrams
                                      << " (lost " << t.datagrams_lost << ")");
    BOOST_TEST(t.mismatches == 0u);
    BOOST_TEST(t.errors == 0u);
    BOOST_TEST(t.connections >= 2000u);
    BOOST_TEST(t.datagrams > t.datagrams_lost);
    BOOST_TEST(!server.wait_exit(0ms).has_value(), "the server died: " << server.err());
    auto settled = std::chrono::steady_clock::now() + 10s;
    while (open_fds(server.pid()) != baseline_fds && std::chrono::steady_clock::now() < settled) {
        std::this_thread::sleep_for(20ms); // /proc has no event to wait for
    }
    BOOST_TEST(open_fds(server.pid()) == baseline_fds);
}
