// SPDX-License-Identifier: BSL-1.0
// --tls endpoints in process, against a client on OpenSSL itself: exact bytes (all 256 values,
// 1 MiB in chunks), words that arrive with the client's Finished, close_notify as the
// half-close (everything comes back, then the server's own close_notify), a FIN without it,
// garbage and silent peers closed within the handshake timeout and counted, mutual TLS with
// and without a client certificate, a minimum version, a reload that new connections see and
// open ones survive, a bad reload that keeps the old certificate, and start-up errors naming
// the file. Certificates are made here (test_pki). Loopback, port 0; every read has a
// deadline.
#define BOOST_TEST_MODULE tls
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include <openssl/ssl.h>

#include "asio_echo/cidr.hpp"
#include "asio_echo/errors.hpp"
#include "eventually.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"
#include "server_fixture.hpp"
#include "test_pki.hpp"
#include "tls_peer.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

/// A folder with the test PKI.
struct pki_fixture {
    sd::temp_dir dir;
    test_pki pki{dir.path()};

    /// TCP/UDP as usual, plus --tls 127.0.0.1:0 with the test server certificate.
    server_config tls_config(mode m = mode::echo) const {
        auto config = loopback_config(m);
        config.tls.push_back({"127.0.0.1", 0});
        config.tls_cert = pki.server_cert;
        config.tls_key = pki.server_key;
        return config;
    }

    tls_peer::options verified() const { return {pki.ca_cert, "", "", 0}; }
};

/// The usage_error a server with config throws at start, or "" when it starts.
std::string start_error(const server_config& config) {
    try {
        running_server server(config);
    } catch (const usage_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(tls, pki_fixture)

BOOST_AUTO_TEST_CASE(every_byte_value_and_1_mib_come_back_exactly) {
    running_server server(tls_config());
    tls_peer client(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(client.handshake_error().empty(), client.handshake_error());
    BOOST_TEST(client.server_common_name() == "echo-server");
    auto all = all_byte_values();
    client.write_all(all);
    BOOST_TEST((client.read_exactly(all.size()) == all));
    // 1 MiB in 64 KiB pieces, each read back before the next (the echo has backpressure).
    auto big = random_bytes(1 << 20, 7);
    for (std::size_t at = 0; at < big.size(); at += 65536) {
        auto piece = big.substr(at, 65536);
        client.write_all(piece);
        BOOST_REQUIRE_MESSAGE(client.read_exactly(piece.size()) == piece, "seed 7, at " << at);
    }
    BOOST_TEST(server.get().counters().tls_ok == 1u);
    BOOST_TEST(eventually(
        [&] { return server.get().counters().tcp_bytes_out == all.size() + big.size(); }, 5s));
}

BOOST_AUTO_TEST_CASE(an_echo_the_client_cannot_take_at_once_waits_and_comes_back_whole) {
    // The client writes 16 KiB for each 1 KiB it reads, through a 64 KiB receive buffer: the
    // echo fills the server's send buffer (4 MiB at most by default, tcp_wmem) and the
    // server's writes have to wait, so it stops reading (backpressure) until the client has
    // taken more; 32 MiB make that happen again and again. Every byte must come back, in
    // order.
    running_server server(tls_config(mode::upper));
    tls_peer client(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(client.handshake_error().empty(), client.handshake_error());
    auto data = random_bytes(32u << 20, 9);
    auto back = client.echo_through_full_buffers(data);
    BOOST_TEST(client.writes_blocked(), "the buffers took all 32 MiB: nothing was proved");
    for (auto& c : data) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    BOOST_REQUIRE_EQUAL(back.size(), data.size());
    BOOST_TEST((back == data), "seed 9");
}

BOOST_AUTO_TEST_CASE(close_notify_is_the_half_close_and_everything_comes_back_first) {
    running_server server(tls_config(mode::upper));
    tls_peer client(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(client.handshake_error().empty(), client.handshake_error());
    auto words = random_bytes(100000, 8);
    client.write_all(words);
    client.write_all("last words");
    client.send_close_notify();
    std::string expected = words + "last words";
    for (auto& c : expected) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    BOOST_TEST((client.read_until_closed() == expected), "seed 8");
    BOOST_TEST(client.closed_cleanly(), "no close_notify from the server");
}

BOOST_AUTO_TEST_CASE(words_sent_with_the_handshakes_last_flight_come_back) {
    // The server reads them with the client's Finished: they wait in OpenSSL, and the socket
    // shows nothing more.
    running_server server(tls_config());
    auto how = verified();
    how.with_finished = "early words";
    tls_peer client(server.tls_port(), how);
    BOOST_REQUIRE_MESSAGE(client.handshake_error().empty(), client.handshake_error());
    BOOST_TEST(client.version() == "TLSv1.3");
    BOOST_TEST(client.read_exactly(11) == "early words");
}

BOOST_AUTO_TEST_CASE(a_fin_without_close_notify_ends_the_session_as_on_tcp) {
    running_server server(tls_config());
    tls_peer client(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(client.handshake_error().empty(), client.handshake_error());
    client.write_all("before the fin");
    BOOST_TEST(client.read_exactly(14) == "before the fin");
    client.shutdown_tcp_send();
    BOOST_TEST(client.read_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().connections() == 0; }, 5s));
}

BOOST_AUTO_TEST_CASE(garbage_silence_and_a_stalled_handshake_are_closed_and_counted) {
    auto config = tls_config();
    config.tls_handshake_timeout = 300ms;
    running_server server(config);
    auto http = plain_socket::tcp("127.0.0.1", server.tls_port());
    http.set_timeout(5s);
    http.send_all("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    auto silent = plain_socket::tcp("127.0.0.1", server.tls_port());
    silent.set_timeout(5s);
    auto stalled = plain_socket::tcp("127.0.0.1", server.tls_port());
    stalled.set_timeout(5s);
    stalled.send_all(std::string("\x16\x03\x01\x02\x00\x01", 6)); // a ClientHello's first bytes
    for (auto* client : {&http, &silent, &stalled}) {
        auto got = client->receive_until_closed();
        BOOST_TEST(got.find("GET") == std::string::npos, "echoed in clear: " << got);
    }
    BOOST_TEST(eventually([&] { return server.get().counters().tls_failed == 1; }, 5s));
    BOOST_TEST(eventually([&] { return server.get().counters().tls_timeout == 2; }, 5s));
    BOOST_TEST(server.get().counters().tls_ok == 0u);
    BOOST_TEST(server.get().connections() == 0u);
}

BOOST_AUTO_TEST_CASE(mutual_tls_serves_a_client_certificate_and_refuses_none) {
    auto config = tls_config();
    config.tls_client_ca = pki.ca_cert;
    running_server server(config);
    tls_peer with(server.tls_port(), {pki.ca_cert, pki.client_cert, pki.client_key, 0});
    BOOST_REQUIRE_MESSAGE(with.handshake_error().empty(), with.handshake_error());
    with.write_all("mine");
    BOOST_TEST(with.read_exactly(4) == "mine");

    // Without one: TLS 1.3 clients finish first and learn it at their first read.
    tls_peer without(server.tls_port(), verified());
    bool refused = !without.handshake_error().empty();
    if (!refused) {
        try {
            without.write_all("anyone?");
            refused = without.read_until_closed().empty();
        } catch (const std::runtime_error&) {
            refused = true;
        }
    }
    BOOST_TEST(refused, "served without a client certificate");
    BOOST_TEST(eventually([&] { return server.get().counters().tls_failed == 1; }, 5s));
    BOOST_TEST(server.get().counters().tls_ok == 1u);
}

BOOST_AUTO_TEST_CASE(a_minimum_of_1_3_refuses_a_1_2_only_client_and_1_2_is_the_default) {
    auto config = tls_config();
    config.tls_min_version = tls_version::v1_3;
    running_server strict(config);
    tls_peer old(strict.tls_port(), {pki.ca_cert, "", "", TLS1_2_VERSION});
    BOOST_TEST(!old.handshake_error().empty(), "a TLS 1.2 client got in");
    tls_peer current(strict.tls_port(), verified());
    BOOST_TEST(current.handshake_error().empty(), current.handshake_error());
    BOOST_TEST(current.version() == "TLSv1.3");

    running_server lenient(tls_config());
    tls_peer old_ok(lenient.tls_port(), {pki.ca_cert, "", "", TLS1_2_VERSION});
    BOOST_REQUIRE_MESSAGE(old_ok.handshake_error().empty(), old_ok.handshake_error());
    BOOST_TEST(old_ok.version() == "TLSv1.2");
    old_ok.write_all("twelve");
    BOOST_TEST(old_ok.read_exactly(6) == "twelve");
}

BOOST_AUTO_TEST_CASE(a_reload_serves_the_new_certificate_and_keeps_open_connections) {
    running_server server(tls_config());
    tls_peer open(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(open.handshake_error().empty(), open.handshake_error());
    open.write_all("before");
    BOOST_TEST(open.read_exactly(6) == "before");

    pki.issue_server(pki.server_cert, pki.server_key, "rotated");
    BOOST_TEST(server.get().reload_tls());
    tls_peer after(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(after.handshake_error().empty(), after.handshake_error());
    BOOST_TEST(after.server_common_name() == "rotated");
    open.write_all("during");
    BOOST_TEST(open.read_exactly(6) == "during");

    // A broken file: the reload fails, the certificate of before stays.
    sd::write_file(pki.server_cert, "not a certificate\n");
    BOOST_TEST(!server.get().reload_tls());
    tls_peer still(server.tls_port(), verified());
    BOOST_REQUIRE_MESSAGE(still.handshake_error().empty(), still.handshake_error());
    BOOST_TEST(still.server_common_name() == "rotated");
    open.write_all("after");
    BOOST_TEST(open.read_exactly(5) == "after");
}

BOOST_AUTO_TEST_CASE(deny_refuses_a_tls_client_before_its_handshake) {
    auto config = tls_config();
    config.deny.push_back(parse_network("127.0.0.3/32"));
    running_server server(config);
    auto denied = plain_socket::tcp_from("127.0.0.3", "127.0.0.1", server.tls_port());
    denied.set_timeout(5s);
    BOOST_TEST(denied.receive_until_closed() == "");
    BOOST_TEST(eventually([&] { return server.get().counters().refused_denied == 1; }, 5s));
    BOOST_TEST(server.get().counters().tls_failed + server.get().counters().tls_timeout == 0u);
}

BOOST_AUTO_TEST_CASE(bad_files_stop_the_start_with_one_line_naming_the_file) {
    auto config = tls_config();
    config.tls_cert = dir.path() + "/missing.pem";
    BOOST_TEST(start_error(config) == "cannot read --tls-cert '" + dir.path() +
                                          "/missing.pem': No such file or directory");
    auto empty = dir.path() + "/empty.pem";
    sd::write_file(empty, "no PEM here\n");
    config.tls_cert = empty;
    auto message = start_error(config);
    BOOST_TEST(message.rfind("--tls-cert '" + empty + "' holds no certificate (", 0) == 0u,
               message);
    config = tls_config();
    config.tls_key = pki.wrong_key;
    BOOST_TEST(start_error(config) == "--tls-key '" + pki.wrong_key +
                                          "' does not match the certificate in --tls-cert '" +
                                          pki.server_cert + "'");
    config = tls_config();
    config.tls_client_ca = empty;
    message = start_error(config);
    BOOST_TEST(message.rfind("--tls-client-ca '" + empty + "' holds no certificate (", 0) == 0u,
               message);
    BOOST_TEST(start_error(tls_config()) == "");
}

BOOST_AUTO_TEST_SUITE_END()
