// SPDX-License-Identifier: BSL-1.0
// --websocket and --websocket-tls endpoints in process: text and binary messages come back
// exactly with their opcode, a fragmented message as one frame, 1 MiB; the refusals (1009 over
// the size limit, 1007 for invalid UTF-8, 1002 for a protocol error); ping/pong; the close
// code answered; upper mode; close 1001 on drain; the page and the 404/405 answers; the
// upgrade timeout; pings as activity for the idle timeout; wss; permessage-deflate; access
// control. Loopback, port 0; every read has a deadline.
#define BOOST_TEST_MODULE websocket
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <boost/beast/websocket/error.hpp>

#include "asio_echo/cidr.hpp"
#include "asio_echo/stats.hpp"
#include "eventually.hpp"
#include "http_client.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"
#include "server_fixture.hpp"
#include "test_pki.hpp"
#include "ws_peer.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;
namespace websocket = boost::beast::websocket;

namespace {

/// A server with one ws endpoint (and the usual TCP/UDP one).
server_config ws_config(mode m = mode::echo) {
    auto config = loopback_config(m);
    config.websocket.push_back({"127.0.0.1", 0});
    return config;
}

std::uint16_t ws_port(running_server& server) {
    return server.get().ws_endpoints().at(0).port();
}

/// Closes counted with code ("1000", "other", ...).
std::uint64_t closes(running_server& server, std::string_view code) {
    auto counters = server.get().counters();
    for (std::size_t i = 0; i < websocket_close_codes.size(); ++i) {
        if (websocket_close_codes[i] == code) {
            return counters.websocket_closes[i];
        }
    }
    return ~std::uint64_t{0};
}

/// True when a close frame ended the connection (else says what did).
boost::test_tools::predicate_result by_close_frame(const boost::system::error_code& ec) {
    boost::test_tools::predicate_result result(ec == websocket::error::closed);
    if (!result) {
        result.message() << "ended by " << ec.message() << ", not by a close frame";
    }
    return result;
}

/// A raw socket past the upgrade: what the server sends next, frame by frame.
plain_socket upgraded_raw(std::uint16_t port) {
    auto raw = plain_socket::tcp("127.0.0.1", port);
    raw.set_timeout(5s);
    raw.send_all(upgrade_request());
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
        auto got = raw.receive_some(1); // byte by byte: nothing after the head is taken
        BOOST_REQUIRE_MESSAGE(got && !got->empty(), "no upgrade response: " << head);
        head += *got;
    }
    BOOST_REQUIRE_MESSAGE(head.rfind("HTTP/1.1 101", 0) == 0, head);
    return raw;
}

} // namespace

BOOST_AUTO_TEST_SUITE(websocket_echo)

BOOST_AUTO_TEST_CASE(text_and_binary_come_back_exactly_with_their_opcode) {
    running_server server(ws_config());
    ws_peer client(ws_port(server));
    client.send("hello, w\xc3\xb6rld \xe2\x9c\x93", true);
    auto text = client.receive();
    BOOST_TEST(text.data == "hello, w\xc3\xb6rld \xe2\x9c\x93");
    BOOST_TEST(text.text);
    auto all = all_byte_values();
    client.send(all, false);
    auto binary = client.receive();
    BOOST_TEST((binary.data == all));
    BOOST_TEST(!binary.text);
    client.send("", true); // an empty message is a message too
    auto empty = client.receive();
    BOOST_TEST(empty.data.empty());
    BOOST_TEST(empty.text);
    // Counted once the write completed, which may be just after the client read it.
    BOOST_TEST(eventually([&] { return server.get().counters().websocket_messages == 3; }, 5s));
    BOOST_TEST(server.get().counters().websocket_bytes_out == 256u + 17u);
}

BOOST_AUTO_TEST_CASE(a_fragmented_message_comes_back_whole_as_one_frame) {
    running_server server(ws_config());
    auto raw = upgraded_raw(ws_port(server));
    // Text in three frames: FIN clear, a continuation, the last one with FIN.
    raw.send_all(masked_frame(0x01, "abc") + masked_frame(0x00, "def") + masked_frame(0x80, "ghi"));
    BOOST_TEST(raw.receive_exactly(11) == std::string("\x81\x09"
                                                      "abcdefghi"));
    // 100 KiB in 1000-byte frames, through Beast's client.
    ws_peer client(ws_port(server));
    auto big = random_bytes(100 * 1024, 21);
    client.send_fragmented(big, false, 1000);
    auto back = client.receive();
    BOOST_TEST((back.data == big), "seed 21");
    BOOST_TEST(!back.text);
}

BOOST_AUTO_TEST_CASE(a_1_mib_message_comes_back_exactly) {
    running_server server(ws_config());
    ws_peer client(ws_port(server));
    auto big = random_bytes(1 << 20, 22);
    client.send(big, false);
    BOOST_TEST((client.receive().data == big), "seed 22");
}

BOOST_AUTO_TEST_CASE(a_message_over_the_limit_is_refused_with_1009) {
    auto config = ws_config();
    config.websocket_max_message = 1000;
    running_server server(config);
    ws_peer client(ws_port(server));
    client.send(std::string(1000, 'a'), true); // at the limit: served
    BOOST_TEST(client.receive().data.size() == 1000u);
    client.send(std::string(1001, 'a'), true);
    BOOST_TEST(by_close_frame(client.receive_until_closed()));
    BOOST_TEST(client.close_code() == 1009u);
    BOOST_TEST(eventually([&] { return closes(server, "1009") == 1; }, 5s));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_text_message_is_refused_with_1007) {
    running_server server(ws_config());
    ws_peer client(ws_port(server));
    client.send("valid until \xff\xfe", true);
    BOOST_TEST(by_close_frame(client.receive_until_closed()));
    BOOST_TEST(client.close_code() == 1007u);
    // The same bytes as binary are just bytes.
    ws_peer other(ws_port(server));
    other.send("valid until \xff\xfe", false);
    BOOST_TEST(other.receive().data == "valid until \xff\xfe");
    BOOST_TEST(eventually([&] { return closes(server, "1007") == 1; }, 5s));
}

BOOST_AUTO_TEST_CASE(a_protocol_error_is_refused_with_1002) {
    running_server server(ws_config());
    {
        auto raw = upgraded_raw(ws_port(server));
        raw.send_all(masked_frame(0x83, "x")); // opcode 3 is reserved
        BOOST_TEST(raw.receive_exactly(4) == std::string("\x88\x02\x03\xea", 4));
    }
    {
        auto raw = upgraded_raw(ws_port(server));
        raw.send_all(std::string("\x81\x02hi", 4)); // a client frame must be masked
        BOOST_TEST(raw.receive_exactly(4) == std::string("\x88\x02\x03\xea", 4));
    }
    BOOST_TEST(eventually([&] { return closes(server, "1002") == 2; }, 5s));
}

BOOST_AUTO_TEST_CASE(a_ping_is_answered_with_its_pong) {
    running_server server(ws_config());
    ws_peer client(ws_port(server));
    client.ping("are you there");
    client.send("after the ping", true);
    BOOST_TEST(client.receive().data == "after the ping");
    BOOST_TEST(client.pongs() == "are you there");
}

BOOST_AUTO_TEST_CASE(a_close_is_answered_with_its_code) {
    running_server server(ws_config());
    ws_peer normal(ws_port(server));
    normal.close(1000);
    BOOST_TEST(normal.close_code() == 1000u);
    ws_peer own(ws_port(server));
    own.send("one", true);
    BOOST_TEST(own.receive().data == "one");
    own.close(4321);
    BOOST_TEST(own.close_code() == 4321u);
    BOOST_TEST(eventually([&] { return closes(server, "1000") == 1; }, 5s));
    BOOST_TEST(eventually([&] { return closes(server, "other") == 1; }, 5s));
    BOOST_TEST(eventually([&] { return server.get().connections() == 0; }, 5s));
}

BOOST_AUTO_TEST_CASE(upper_mode_upper_cases_ascii_in_text_and_binary) {
    running_server server(ws_config(mode::upper));
    ws_peer client(ws_port(server));
    client.send("hello, w\xc3\xb6rld", true);
    auto text = client.receive();
    BOOST_TEST(text.data == "HELLO, W\xc3\xb6RLD"); // still valid UTF-8
    BOOST_TEST(text.text);
    client.send(std::string("abc\0\xff z", 7), false);
    auto binary = client.receive();
    BOOST_TEST(binary.data == std::string("ABC\0\xff Z", 7));
    BOOST_TEST(!binary.text);
}

BOOST_AUTO_TEST_CASE(a_drain_sends_1001_and_ends_when_the_peer_answers) {
    auto config = ws_config();
    config.drain_timeout = 30s; // the close handshake, not the deadline, must end it
    running_server server(config);
    ws_peer waiting(ws_port(server));
    ws_peer busy(ws_port(server));
    busy.send("in flight", true);
    BOOST_TEST(busy.receive().data == "in flight");
    auto stopped = std::chrono::steady_clock::now();
    server.get().stop();
    for (auto* client : {&waiting, &busy}) {
        BOOST_TEST(by_close_frame(client->receive_until_closed()));
        BOOST_TEST(client->close_code() == 1001u);
    }
    server.get().wait();
    BOOST_TEST((std::chrono::steady_clock::now() - stopped < 10s));
    BOOST_TEST(closes(server, "1001") == 2u);
}

BOOST_AUTO_TEST_CASE(get_slash_is_the_page_and_anything_else_a_one_line_refusal) {
    running_server server(ws_config());
    auto page = http_get(ws_port(server), "/");
    BOOST_TEST(page.status == 200u);
    BOOST_TEST(page.content_type == "text/html; charset=utf-8");
    BOOST_TEST(page.body.find("new WebSocket(") != std::string::npos);
    BOOST_TEST(page.body.find("id=\"selftest\"") != std::string::npos);
    // Self-contained: no script, style sheet, font or image from anywhere.
    for (const char* outside : {"src=", "href=", "@import", "url(", "http://", "https://"}) {
        BOOST_TEST(page.body.find(outside) == std::string::npos, "the page loads " << outside);
    }
    BOOST_TEST(http_get(ws_port(server), "/?selftest=3").status == 200u);
    auto missing = http_get(ws_port(server), "/nothing/here");
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(missing.body.find('\n') == missing.body.size() - 1, "one line: " << missing.body);
    auto raw = plain_socket::tcp("127.0.0.1", ws_port(server));
    raw.set_timeout(5s);
    auto posted = http_exchange(
        raw, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    BOOST_TEST(posted.status == 405u);
    BOOST_TEST(posted.body.find('\n') == posted.body.size() - 1, "one line: " << posted.body);
    auto head_socket = plain_socket::tcp("127.0.0.1", ws_port(server));
    head_socket.set_timeout(5s);
    auto head = http_exchange(head_socket, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true);
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.content_length == std::to_string(page.body.size()));
}

BOOST_AUTO_TEST_CASE(a_silent_or_garbage_peer_is_closed_by_the_upgrade_timeout) {
    auto config = ws_config();
    config.websocket_handshake_timeout = 300ms;
    running_server server(config);
    auto silent = plain_socket::tcp("127.0.0.1", ws_port(server));
    silent.set_timeout(5s);
    auto half = plain_socket::tcp("127.0.0.1", ws_port(server));
    half.set_timeout(5s);
    half.send_all("GET / HTTP/1.1\r\nHost: x\r\n"); // and never the end of the header
    BOOST_TEST(silent.receive_until_closed() == "");
    BOOST_TEST(half.receive_until_closed() == "");
    auto garbage = plain_socket::tcp("127.0.0.1", ws_port(server));
    garbage.set_timeout(5s);
    garbage.send_all(std::string("\x16\x03\x01\x02\x00\x01 not http\r\n\r\n", 20));
    auto answer = garbage.receive_until_closed();
    BOOST_TEST(answer.find("not http") == std::string::npos, "echoed: " << answer);
    BOOST_TEST(eventually([&] { return server.get().connections() == 0; }, 5s));
}

BOOST_AUTO_TEST_CASE(pings_keep_a_connection_from_the_idle_timeout) {
    auto config = ws_config();
    config.idle_timeout = 800ms;
    running_server server(config);
    ws_peer pinging(ws_port(server));
    ws_peer silent(ws_port(server));
    // Pacing, not synchronisation: a ping every 200 ms for 1.5 times the idle timeout.
    for (int i = 0; i < 6; ++i) {
        pinging.ping("keep me");
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(by_close_frame(silent.receive_until_closed()));
    BOOST_TEST(silent.close_code() == 1001u);
    pinging.send("still here", true);
    BOOST_TEST(pinging.receive().data == "still here");
    BOOST_TEST(server.get().counters().connections_timed_out == 1u);
}

BOOST_AUTO_TEST_CASE(wss_echoes_over_tls_with_the_server_certificate) {
    sd::temp_dir dir;
    test_pki pki(dir.path());
    auto config = ws_config();
    config.websocket_tls.push_back({"127.0.0.1", 0});
    config.tls_cert = pki.server_cert;
    config.tls_key = pki.server_key;
    running_server server(config);
    auto port = server.get().wss_endpoints().at(0).port();
    ws_peer client(port, {"/", pki.ca_cert, false, 5000ms});
    auto all = all_byte_values();
    client.send(all, false);
    BOOST_TEST((client.receive().data == all));
    client.send("over tls", true);
    BOOST_TEST(client.receive().data == "over tls");
    client.close(1000);
    BOOST_TEST(client.close_code() == 1000u);
    BOOST_TEST(server.get().counters().tls_ok == 1u);
    // A second connection: a TLS session of its own.
    ws_peer again(port, {"/", pki.ca_cert, false, 5000ms});
    again.send("second", true);
    BOOST_TEST(again.receive().data == "second");
}

BOOST_AUTO_TEST_CASE(deflate_is_negotiated_only_when_switched_on) {
    auto text = std::string(64 * 1024, 'z') + random_bytes(1000, 23);
    {
        running_server server(ws_config());
        ws_peer client(ws_port(server), {"/", "", true, 5000ms});
        BOOST_TEST(!client.deflating());
        client.send(text, false);
        BOOST_TEST((client.receive().data == text));
    }
    auto config = ws_config();
    config.websocket_deflate = true;
    running_server server(config);
    ws_peer client(ws_port(server), {"/", "", true, 5000ms});
    BOOST_TEST(client.deflating());
    client.send(text, false);
    BOOST_TEST((client.receive().data == text), "seed 23");
    ws_peer plain(ws_port(server)); // a client that offers nothing still gets plain frames
    BOOST_TEST(!plain.deflating());
    plain.send("plain", true);
    BOOST_TEST(plain.receive().data == "plain");
}

BOOST_AUTO_TEST_CASE(a_denied_source_is_closed_before_the_upgrade) {
    auto config = ws_config();
    config.deny.push_back(parse_network("127.0.0.1/32"));
    running_server server(config);
    auto raw = plain_socket::tcp("127.0.0.1", ws_port(server));
    raw.set_timeout(5s);
    raw.send_all(upgrade_request());
    BOOST_TEST(raw.receive_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().counters().refused_denied == 1; }, 5s));
}

BOOST_AUTO_TEST_SUITE_END()
