// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE udp_echo
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "asio_echo/listeners/udp_responder.hpp"
#include "net.hpp"
#include "server_fixture.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using namespace asio_echo::test;

BOOST_DATA_TEST_CASE(datagrams_of_every_size_come_back_whole,
                     bdata::make({std::size_t{0}, std::size_t{1}, std::size_t{64},
                                  std::size_t{1400}, std::size_t{9000}, max_datagram}),
                     size) {
    running_server server(loopback_config());
    auto socket = plain_socket::udp("127.0.0.1", server.udp_port());
    int big = 1 << 20;
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    auto data = random_bytes(size, size);
    socket.send_all(data);
    auto back = socket.receive_some(70000);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->size() == size);
    BOOST_TEST((*back == data), "seed " << size);
}

BOOST_AUTO_TEST_CASE(all_256_byte_values_in_one_datagram) {
    running_server server(loopback_config());
    auto socket = plain_socket::udp("127.0.0.1", server.udp_port());
    socket.send_all(all_byte_values());
    BOOST_TEST(socket.receive_some().value() == all_byte_values());
}

BOOST_AUTO_TEST_CASE(upper_mode_over_udp_sends_HELLO) {
    running_server server(loopback_config(mode::upper));
    auto socket = plain_socket::udp("127.0.0.1", server.udp_port());
    socket.send_all("hello");
    BOOST_TEST(socket.receive_some().value() == "HELLO");
}

BOOST_AUTO_TEST_CASE(ipv6_udp_is_served) {
    if (!ipv6_loopback_available()) {
        BOOST_TEST_MESSAGE("skipped: ::1 is not available on this machine");
        return;
    }
    auto config = loopback_config();
    config.listen = {{"::1", 0}};
    running_server server(config);
    auto socket = plain_socket::udp("::1", server.udp_port());
    socket.send_all("hello v6");
    BOOST_TEST(socket.receive_some().value() == "hello v6");
}

BOOST_DATA_TEST_CASE(several_threads_answer_every_datagram_exactly_once,
                     bdata::make({io_model::per_thread, io_model::shared, io_model::reuse_port}),
                     model) {
    auto config = loopback_config(mode::echo, 4);
    config.model = model;
    running_server server(config);
    constexpr int clients = 8;
    constexpr int per_client = 500;
    std::vector<std::future<std::string>> results;
    for (int c = 0; c < clients; ++c) {
        results.push_back(std::async(std::launch::async, [&server, c]() -> std::string {
            auto socket = plain_socket::udp("127.0.0.1", server.udp_port());
            std::multiset<std::string> answers;
            // One datagram in flight at a time: loopback then drops nothing, so every
            // datagram must be answered once, and a duplicate would arrive as the next answer.
            for (int i = 0; i < per_client; ++i) {
                auto payload = std::to_string(c) + ":" + std::to_string(i);
                socket.send_all(payload);
                auto back = socket.receive_some();
                if (!back || *back != payload) {
                    return "client " + std::to_string(c) + " datagram " + std::to_string(i) +
                           " got " + (back ? "'" + *back + "'" : std::string("nothing"));
                }
            }
            socket.set_timeout(std::chrono::milliseconds(200));
            if (auto extra = socket.receive_some()) {
                return "client " + std::to_string(c) + " got an extra answer '" + *extra + "'";
            }
            return "";
        }));
    }
    for (auto& r : results) {
        BOOST_TEST(r.get() == "");
    }
    server.get().stop();
    server.get().wait(); // every loop has finished counting
    auto counters = server.get().counters();
    BOOST_TEST(counters.datagrams_in == static_cast<std::uint64_t>(clients * per_client));
    BOOST_TEST(counters.datagrams_out == static_cast<std::uint64_t>(clients * per_client));
}
