// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE tcp_echo
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "net.hpp"
#include "server_fixture.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using namespace asio_echo::test;

namespace {

/// The upper-cased copy of data (what an upper-mode server must send back).
std::string upper(std::string data) {
    to_upper_ascii(data);
    return data;
}

/// Sends data over one connection while a second thread reads; returns what came back
/// before EOF (the sender half-closes after the last byte).
std::string stream_through(std::uint16_t port, const std::string& data, std::size_t chunk) {
    auto socket = plain_socket::tcp("127.0.0.1", port);
    auto reader = std::async(std::launch::async, [&socket] { return socket.receive_until_eof(); });
    for (std::size_t at = 0; at < data.size(); at += chunk) {
        socket.send_all(data.substr(at, chunk));
    }
    socket.shutdown_send();
    return reader.get();
}

} // namespace

BOOST_AUTO_TEST_CASE(one_message_comes_back_unchanged) {
    running_server server(loopback_config());
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    socket.send_all("hello");
    BOOST_TEST(socket.receive_exactly(5) == "hello");
}

BOOST_AUTO_TEST_CASE(all_256_byte_values_come_back_in_order) {
    running_server server(loopback_config());
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    auto bytes = all_byte_values();
    socket.send_all(bytes);
    BOOST_TEST(socket.receive_exactly(bytes.size()) == bytes);
}

BOOST_AUTO_TEST_CASE(half_close_returns_every_byte_then_eof) {
    running_server server(loopback_config());
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    auto data = random_bytes(300000, 7);
    // Less than the socket buffers hold, so it can all be sent before reading.
    socket.send_all(data.substr(0, 100000));
    socket.shutdown_send();
    auto back = socket.receive_until_eof();
    BOOST_TEST(back.size() == 100000u);
    BOOST_TEST((back == data.substr(0, 100000)), "seed 7");
}

BOOST_AUTO_TEST_CASE(eight_mib_streamed_while_reading_concurrently_is_byte_exact) {
    running_server server(loopback_config());
    constexpr std::uint64_t seed = 20261126;
    auto data = random_bytes(8u << 20, seed);
    auto back = stream_through(server.tcp_port(), data, 100000);
    BOOST_REQUIRE_EQUAL(back.size(), data.size());
    BOOST_TEST((back == data), "echoed bytes differ; seed " << seed);
}

BOOST_AUTO_TEST_CASE(two_hundred_concurrent_connections_each_get_their_own_bytes) {
    running_server server(loopback_config());
    constexpr int connections = 200;
    std::vector<plain_socket> sockets;
    std::vector<std::string> payloads;
    for (int i = 0; i < connections; ++i) {
        sockets.push_back(plain_socket::tcp("127.0.0.1", server.tcp_port()));
        payloads.push_back(
            random_bytes(1000 + static_cast<std::size_t>(i) * 37, static_cast<std::uint64_t>(i)));
    }
    // All connections are open at once; each sends before any reads.
    for (int i = 0; i < connections; ++i) {
        sockets[static_cast<std::size_t>(i)].send_all(payloads[static_cast<std::size_t>(i)]);
    }
    for (int i = 0; i < connections; ++i) {
        auto& payload = payloads[static_cast<std::size_t>(i)];
        BOOST_TEST(
            (sockets[static_cast<std::size_t>(i)].receive_exactly(payload.size()) == payload),
            "connection " << i << " (seed " << i << ")");
    }
    BOOST_TEST(server.get().counters().connections_accepted ==
               static_cast<std::uint64_t>(connections));
}

BOOST_AUTO_TEST_CASE(upper_mode_sends_hello_back_as_HELLO) {
    running_server server(loopback_config(mode::upper));
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    socket.send_all("hello");
    BOOST_TEST(socket.receive_exactly(5) == "HELLO");
    auto bytes = all_byte_values();
    socket.send_all(bytes);
    BOOST_TEST(socket.receive_exactly(256) == upper(bytes));
}

BOOST_AUTO_TEST_CASE(a_custom_transform_replaces_the_mode) {
    auto rot13 = [](std::span<char> bytes) {
        for (char& c : bytes) {
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>('a' + (c - 'a' + 13) % 26);
            }
        }
    };
    running_server server(loopback_config(mode::upper), rot13);
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    socket.send_all("hello");
    BOOST_TEST(socket.receive_exactly(5) == "uryyb");
}

BOOST_AUTO_TEST_CASE(ipv6_loopback_is_served) {
    if (!ipv6_loopback_available()) {
        BOOST_TEST_MESSAGE("skipped: ::1 is not available on this machine");
        return;
    }
    auto config = loopback_config();
    config.listen = {{"::1", 0}};
    running_server server(config);
    auto socket = plain_socket::tcp("::1", server.tcp_port());
    socket.send_all("hello over ipv6");
    BOOST_TEST(socket.receive_exactly(15) == "hello over ipv6");
}

BOOST_AUTO_TEST_CASE(tcp_only_and_several_endpoints_each_serve) {
    auto config = loopback_config();
    config.listen.clear();
    config.tcp = {{"127.0.0.1", 0}, {"127.0.0.2", 0}};
    running_server server(config);
    BOOST_TEST(server.get().tcp_endpoints().size() == 2u);
    BOOST_TEST(server.get().udp_endpoints().empty());
    for (std::size_t i = 0; i < 2; ++i) {
        auto address = server.get().tcp_endpoints()[i].address().to_string();
        auto socket = plain_socket::tcp(address, server.tcp_port(i));
        socket.send_all("ping " + address);
        BOOST_TEST(socket.receive_exactly(5 + address.size()) == "ping " + address);
    }
}

BOOST_AUTO_TEST_CASE(listen_with_port_zero_gives_tcp_and_udp_the_same_port) {
    running_server server(loopback_config());
    BOOST_TEST(server.tcp_port() != 0);
    BOOST_TEST(server.tcp_port() == server.udp_port());
}

BOOST_DATA_TEST_CASE(many_threads_and_clients_never_mix_bytes,
                     bdata::make({io_model::per_thread, io_model::shared, io_model::reuse_port}),
                     model) {
    auto config = loopback_config(mode::echo, 4);
    config.model = model;
    running_server server(config);
    constexpr int clients = 16;
    std::vector<std::future<bool>> results;
    for (int c = 0; c < clients; ++c) {
        results.push_back(std::async(std::launch::async, [&server, c] {
            auto seed = static_cast<std::uint64_t>(1000 + c);
            auto data = random_bytes(256 * 1024, seed);
            return stream_through(server.tcp_port(), data, 4096 + static_cast<std::size_t>(c)) ==
                   data;
        }));
    }
    for (int c = 0; c < clients; ++c) {
        BOOST_TEST(results[static_cast<std::size_t>(c)].get(),
                   "client " << c << " seed " << 1000 + c);
    }
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_connections_and_returns) {
    auto server = std::make_unique<running_server>(loopback_config(mode::echo, 2));
    std::vector<plain_socket> idle;
    for (int i = 0; i < 10; ++i) {
        idle.push_back(plain_socket::tcp("127.0.0.1", server->tcp_port()));
    }
    // One echo on each proves the server has accepted all of them.
    for (auto& s : idle) {
        s.send_all("x");
        BOOST_TEST(s.receive_exactly(1) == "x");
    }
    BOOST_TEST(server->get().connections() == 10u);
    server.reset(); // stop() + wait(): must not hang on the idle clients
    for (auto& s : idle) {
        BOOST_TEST(s.receive_until_eof().empty());
    }
}
