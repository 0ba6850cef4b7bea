// SPDX-License-Identifier: BSL-1.0
// Who may use the service: --deny and --allow on TCP (closed before anything is read) and UDP
// (dropped), and --max-connections-per-source (one more is closed at once; closing one lets
// the next in). Clients on 127.0.0.1, .3 and .4: loopback, port 0.
#define BOOST_TEST_MODULE access
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>

#include <chrono>
#include <string>

#include "asio_echo/cidr.hpp"
#include "eventually.hpp"
#include "net.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

/// Whether a TCP client from source gets its bytes back (true), or is closed without a byte
/// (false: EOF or a reset before any echo).
bool served_over_tcp(std::uint16_t port, const std::string& source) {
    auto client = plain_socket::tcp_from(source, "127.0.0.1", port);
    client.set_timeout(5s);
    try {
        client.send_all("who");
        auto back = client.receive_some();
        return back.has_value() && *back == "who";
    } catch (const std::exception&) {
        return false; // reset: refused
    }
}

server_config with(std::vector<const char*> allow, std::vector<const char*> deny) {
    auto config = loopback_config();
    for (auto text : allow) {
        config.allow.push_back(parse_network(text));
    }
    for (auto text : deny) {
        config.deny.push_back(parse_network(text));
    }
    return config;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_denied_tcp_source_is_closed_unanswered_and_counted) {
    running_server server(with({}, {"127.0.0.3/32"}));
    BOOST_TEST(served_over_tcp(server.tcp_port(), "127.0.0.1"));
    BOOST_TEST(!served_over_tcp(server.tcp_port(), "127.0.0.3"));
    BOOST_TEST(served_over_tcp(server.tcp_port(), "127.0.0.4"));
    BOOST_TEST(eventually([&] { return server.get().counters().refused_denied == 1; }, 5s));
    BOOST_TEST(server.get().counters().connections_accepted == 2u);
}

BOOST_AUTO_TEST_CASE(with_an_allow_list_only_its_sources_are_served_and_deny_wins) {
    running_server server(with({"127.0.0.0/30"}, {"127.0.0.3"}));
    BOOST_TEST(served_over_tcp(server.tcp_port(), "127.0.0.1"));
    BOOST_TEST(served_over_tcp(server.tcp_port(), "127.0.0.2"));
    BOOST_TEST(!served_over_tcp(server.tcp_port(), "127.0.0.3")); // allowed, but denied
    BOOST_TEST(!served_over_tcp(server.tcp_port(), "127.0.0.4")); // not allowed
    BOOST_TEST(eventually([&] { return server.get().counters().refused_denied == 2; }, 5s));
}

BOOST_AUTO_TEST_CASE(a_denied_udp_source_is_dropped_and_counted) {
    running_server server(with({}, {"127.0.0.3/32"}));
    auto denied = plain_socket::udp_from("127.0.0.3", 0, "127.0.0.1", server.udp_port());
    denied.send_all("denied");
    BOOST_TEST(eventually([&] { return server.get().counters().dropped_denied == 1; }, 5s));
    // Dropped, not answered: nothing waits on the denied socket once the server judged it.
    char byte;
    BOOST_TEST(::recv(denied.fd(), &byte, 1, MSG_DONTWAIT) == -1);
    auto allowed = plain_socket::udp_from("127.0.0.4", 0, "127.0.0.1", server.udp_port());
    allowed.send_all("allowed");
    BOOST_TEST(allowed.receive_some().value_or("<no reply>") == "allowed");
    BOOST_TEST(eventually([&] { return server.get().counters().datagrams_out == 1; }, 5s));
}

BOOST_AUTO_TEST_CASE(a_source_holds_at_most_n_connections_and_a_closed_one_lets_the_next_in) {
    auto config = loopback_config();
    config.max_connections_per_source = 2;
    running_server server(config);
    auto port = server.tcp_port();
    std::vector<plain_socket> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(plain_socket::tcp_from("127.0.0.3", "127.0.0.1", port));
        held.back().send_all("held");
        BOOST_REQUIRE(held.back().receive_exactly(4) == "held");
    }
    BOOST_TEST(!served_over_tcp(port, "127.0.0.3")); // the third
    BOOST_TEST(served_over_tcp(port, "127.0.0.4"));  // another address has its own count
    BOOST_TEST(eventually([&] { return server.get().counters().refused_per_source == 1; }, 5s));
    // Close one: once the server saw it end, the address has room again.
    held.pop_back();
    BOOST_TEST(eventually([&] { return server.get().connections() == 1; }, 5s));
    BOOST_TEST(served_over_tcp(port, "127.0.0.3"));
    BOOST_TEST(server.get().counters().refused_per_source == 1u);
}
