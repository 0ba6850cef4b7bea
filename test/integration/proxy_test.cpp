// SPDX-License-Identifier: BSL-1.0
// --accept-proxy endpoints in process: the PROXY header (v1, v2) is taken, never echoed, and
// exactly the bytes after it come back, however the header is split; LOCAL is the proxy's own
// connection; malformed, truncated, late and untrusted headers close the connection without a
// byte and are counted; the address from the header is the one --deny and
// --max-connections-per-source judge. Plain endpoints echo a PROXY line as data. Loopback,
// port 0; every wait has a deadline.
#define BOOST_TEST_MODULE proxy
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "asio_echo/cidr.hpp"
#include "eventually.hpp"
#include "net.hpp"
#include "proxy_bytes.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace asio_echo::test::proxy_bytes;
using namespace std::chrono_literals;

namespace {

/// TCP and UDP on 127.0.0.1:0 as usual, plus one --accept-proxy endpoint on 127.0.0.1:0.
server_config proxied_config(mode m = mode::echo) {
    auto config = loopback_config(m);
    config.accept_proxy.push_back({"127.0.0.1", 0});
    return config;
}

/// A client of the proxy endpoint, from source, that sends header then payload, as one
/// segment, and reads the echo of payload.
std::string echo_through(std::uint16_t port, const std::string& header, const std::string& payload,
                         const std::string& source = "127.0.0.1") {
    auto client = plain_socket::tcp_from(source, "127.0.0.1", port);
    client.set_timeout(5s);
    try {
        client.send_all(header + payload);
        client.shutdown_send();
    } catch (const std::runtime_error&) {
        // The server closed first (a refused client): what it sent before is what counts.
    }
    return client.receive_until_closed();
}

/// Sends data one byte per send() with TCP_NODELAY: on loopback each goes out as a segment
/// of its own, so the server sees the header arrive in pieces (every split point is the
/// parser's unit test).
void send_byte_by_byte(plain_socket& client, const std::string& data) {
    int one = 1;
    ::setsockopt(client.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (char c : data) {
        client.send_all(std::string(1, c));
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(a_v1_header_is_taken_and_the_payload_in_the_same_segment_echoed) {
    running_server server(proxied_config());
    auto payload = all_byte_values() + random_bytes(5000, 1);
    auto back =
        echo_through(server.proxy_port(), "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n", payload);
    BOOST_TEST(back.size() == payload.size());
    BOOST_TEST((back == payload), "seed 1");
    BOOST_TEST(eventually([&] { return server.get().counters().proxy_ok == 1; }, 5s));
    BOOST_TEST(server.get().counters().proxy_malformed == 0u);
}

BOOST_AUTO_TEST_CASE(a_v2_header_with_tlvs_sent_one_byte_per_segment_is_taken) {
    running_server server(proxied_config());
    auto header = v2_tcp("2001:db8::7", 5555, "2001:db8::1", 7, [] {
        auto t = tlv(0x05, "unique-id-1234"); // PP2_TYPE_UNIQUE_ID
        auto alpn = tlv(0x01, "h2");
        t.insert(t.end(), alpn.begin(), alpn.end());
        return t;
    }());
    auto client = plain_socket::tcp("127.0.0.1", server.proxy_port());
    client.set_timeout(5s);
    send_byte_by_byte(client, as_string(header) + "split");
    BOOST_TEST(client.receive_exactly(5) == "split");
    // The session goes on as any echo session.
    auto more = random_bytes(1 << 20, 2);
    client.send_all(more);
    client.shutdown_send();
    BOOST_TEST((client.receive_until_closed() == more), "seed 2");
    BOOST_TEST(server.get().counters().proxy_ok == 1u);
}

BOOST_AUTO_TEST_CASE(a_header_alone_then_payload_later_and_upper_mode_spares_the_header) {
    running_server server(proxied_config(mode::upper));
    auto client = plain_socket::tcp("127.0.0.1", server.proxy_port());
    client.set_timeout(5s);
    client.send_all("PROXY TCP6 2001:db8::7 2001:db8::1 5555 7\r\n");
    BOOST_TEST(eventually([&] { return server.get().counters().proxy_ok == 1; }, 5s));
    client.send_all("hello, proxy");
    BOOST_TEST(client.receive_exactly(12) == "HELLO, PROXY");
}

BOOST_AUTO_TEST_CASE(v2_local_and_v1_unknown_are_the_proxys_own_connections) {
    // LOCAL is what a proxy's health check sends; the connection stands for itself.
    auto config = proxied_config();
    config.deny.push_back(parse_network("203.0.113.0/24"));
    running_server server(config);
    auto tlvs = tlv(0x05, "check");
    BOOST_TEST(echo_through(server.proxy_port(), as_string(v2(0, 0x00, tlvs)), "alive?") ==
               "alive?");
    // LOCAL with an address block: the addresses are ignored, as the specification says.
    auto with_addresses = v2(0, 0x11, address_block("203.0.113.7", 1, "192.0.2.1", 7));
    BOOST_TEST(echo_through(server.proxy_port(), as_string(with_addresses), "still") == "still");
    BOOST_TEST(echo_through(server.proxy_port(), "PROXY UNKNOWN\r\n", "unknown") == "unknown");
    BOOST_TEST(echo_through(server.proxy_port(), as_string(v2(1, 0x00, {})), "unspec") == "unspec");
    BOOST_TEST(server.get().counters().proxy_ok == 4u);
    BOOST_TEST(server.get().counters().refused_denied == 0u);
}

namespace {

struct bad_header {
    const char* name;
    std::string bytes;
};

std::ostream& operator<<(std::ostream& out, const bad_header& b) {
    return out << b.name;
}

const bad_header bad_headers[] = {
    {"an HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"v1 with a bad address", "PROXY TCP4 203.0.113.300 192.0.2.1 5555 7\r\nhello"},
    {"v1 with a port above 65535", "PROXY TCP4 203.0.113.7 192.0.2.1 65536 7\r\nhello"},
    {"v1 without CRLF in 107 bytes", "PROXY TCP4 " + std::string(120, '1')},
    {"v2 of version 3",
     [] {
         auto h = v2_tcp("203.0.113.7", 1, "192.0.2.1", 7);
         h[12] = 0x31;
         return as_string(h);
     }()},
    {"v2 longer than 4096 bytes",
     as_string(v2_tcp("203.0.113.7", 1, "192.0.2.1", 7, tlv(0x05, std::string(4100, 'x'))))},
};

} // namespace

BOOST_DATA_TEST_CASE(a_malformed_header_closes_without_an_echo_and_is_counted,
                     boost::unit_test::data::make(bad_headers), bad) {
    running_server server(proxied_config());
    auto client = plain_socket::tcp("127.0.0.1", server.proxy_port());
    client.set_timeout(5s);
    try {
        client.send_all(bad.bytes + "payload");
    } catch (const std::runtime_error&) {
        // Closed while we were still sending: as good as reading nothing.
    }
    BOOST_TEST(client.receive_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().counters().proxy_malformed == 1; }, 5s));
    BOOST_TEST(server.get().counters().proxy_ok == 0u);
    BOOST_TEST(server.get().counters().tcp_bytes_out == 0u);
}

BOOST_AUTO_TEST_CASE(a_header_cut_short_by_the_clients_fin_is_malformed) {
    running_server server(proxied_config());
    auto header = as_string(v2_tcp("203.0.113.7", 1, "192.0.2.1", 7));
    auto client = plain_socket::tcp("127.0.0.1", server.proxy_port());
    client.set_timeout(5s);
    client.send_all(header.substr(0, 20));
    client.shutdown_send();
    BOOST_TEST(client.receive_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().counters().proxy_malformed == 1; }, 5s));
}

BOOST_AUTO_TEST_CASE(no_whole_header_within_the_timeout_closes_the_connection) {
    auto config = proxied_config();
    config.proxy_header_timeout = 300ms;
    running_server server(config);
    auto silent = plain_socket::tcp("127.0.0.1", server.proxy_port());
    auto stalled = plain_socket::tcp("127.0.0.1", server.proxy_port());
    silent.set_timeout(5s);
    stalled.set_timeout(5s);
    stalled.send_all("PROXY TCP4 203.0.113.7 ");
    auto started = std::chrono::steady_clock::now();
    BOOST_TEST(silent.receive_until_closed() == "");
    BOOST_TEST(stalled.receive_until_closed() == "");
    auto waited = std::chrono::steady_clock::now() - started;
    BOOST_TEST(waited < 4s, "closed after the 5 s read timeout, not the header timeout");
    BOOST_TEST(eventually([&] { return server.get().counters().proxy_timeout == 2; }, 5s));
    BOOST_TEST(server.get().connections() == 0u);
}

BOOST_AUTO_TEST_CASE(with_trusted_proxies_other_sources_are_closed_at_once) {
    auto config = proxied_config();
    config.trusted_proxies.push_back(parse_network("127.0.0.2/32"));
    running_server server(config);
    auto header = std::string("PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n");
    BOOST_TEST(echo_through(server.proxy_port(), header, "untrusted", "127.0.0.1") == "");
    BOOST_TEST(echo_through(server.proxy_port(), header, "trusted", "127.0.0.2") == "trusted");
    BOOST_TEST(server.get().counters().proxy_untrusted == 1u);
    BOOST_TEST(server.get().counters().proxy_ok == 1u);
}

BOOST_AUTO_TEST_CASE(deny_judges_the_address_the_header_names) {
    auto config = proxied_config();
    config.deny.push_back(parse_network("203.0.113.0/24"));
    config.deny.push_back(parse_network("2001:db8:bad::/48"));
    running_server server(config);
    auto port = server.proxy_port();
    BOOST_TEST(echo_through(port, "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n", "x") == "");
    BOOST_TEST(echo_through(port, as_string(v2_tcp("2001:db8:bad::1", 1, "2001:db8::1", 7)), "y") ==
               "");
    BOOST_TEST(echo_through(port, "PROXY TCP4 198.51.100.1 192.0.2.1 5555 7\r\n", "served") ==
               "served");
    BOOST_TEST(server.get().counters().refused_denied == 2u);
    BOOST_TEST(server.get().counters().proxy_ok == 3u);
    // The proxy itself (127.0.0.1) is not denied: plain clients from it are served.
    auto plain = plain_socket::tcp("127.0.0.1", server.tcp_port());
    plain.send_all("direct");
    BOOST_TEST(plain.receive_exactly(6) == "direct");
}

BOOST_AUTO_TEST_CASE(connections_per_source_are_counted_on_the_address_the_header_names) {
    auto config = proxied_config();
    config.max_connections_per_source = 1;
    running_server server(config);
    auto port = server.proxy_port();
    const std::string first = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n";
    auto held = plain_socket::tcp("127.0.0.1", port);
    held.set_timeout(5s);
    held.send_all(first + "held");
    BOOST_REQUIRE(held.receive_exactly(4) == "held");
    // The same client again through the same proxy: over the limit.
    BOOST_TEST(echo_through(port, "PROXY TCP4 203.0.113.7 192.0.2.1 5556 7\r\n", "x") == "");
    // Another client through the same proxy connection address has its own count.
    BOOST_TEST(echo_through(port, "PROXY TCP4 203.0.113.8 192.0.2.1 5555 7\r\n", "other") ==
               "other");
    BOOST_TEST(server.get().counters().refused_per_source == 1u);
    // Once the first one ends, its client may come back.
    held.shutdown_send();
    BOOST_TEST(held.receive_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().connections() == 0; }, 5s));
    BOOST_TEST(echo_through(port, first, "again") == "again");
}

BOOST_AUTO_TEST_CASE(a_plain_endpoint_echoes_a_proxy_line_as_data) {
    running_server server(proxied_config());
    const std::string v1 = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n";
    auto v2_header = as_string(v2_tcp("203.0.113.7", 1, "192.0.2.1", 7));
    auto client = plain_socket::tcp("127.0.0.1", server.tcp_port());
    client.set_timeout(5s);
    client.send_all(v1 + v2_header);
    client.shutdown_send();
    BOOST_TEST((client.receive_until_closed() == v1 + v2_header));
    BOOST_TEST(server.get().counters().proxy_ok == 0u);
}

BOOST_AUTO_TEST_CASE(a_stop_closes_a_connection_still_waiting_for_its_header) {
    auto config = proxied_config();
    config.drain_timeout = 200ms;
    running_server server(config);
    auto waiting = plain_socket::tcp("127.0.0.1", server.proxy_port());
    waiting.set_timeout(5s);
    waiting.send_all("PROXY ");
    BOOST_REQUIRE(eventually([&] { return server.get().connections() == 1; }, 5s));
    server.get().stop();
    BOOST_TEST(waiting.receive_until_closed() == "");
    server.get().wait();
    BOOST_TEST(server.get().counters().proxy_timeout == 0u);
}
