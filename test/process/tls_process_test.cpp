// SPDX-License-Identifier: BSL-1.0
// The real echo-server over TLS, with clients nobody here wrote: openssl s_client and
// socat's OPENSSL address (skipped with a message where missing), SIGHUP rotating the
// certificate under an open connection, and the start-up errors' exit code and line.
// Certificates are made by the test (test_pki); loopback, port 0, processes ended by PID.
#define BOOST_TEST_MODULE tls_process
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "eventually.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"
#include "test_pki.hpp"
#include "tls_peer.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

struct tls_server_fixture {
    sd::temp_dir dir;
    test_pki pki{dir.path()};
    child_process server{server_path,
                         {"--tls", "127.0.0.1:0", "--tls-cert", pki.server_cert, "--tls-key",
                          pki.server_key, "--threads", "1"}};
    std::uint16_t port = 0;

    tls_server_fixture() {
        auto line = server.wait_for_stderr_line("listening tls 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(line, server.err());
        port = port_of(*line);
    }
    ~tls_server_fixture() {
        server.send_signal(SIGTERM);
        BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(tls_process, tls_server_fixture)

BOOST_AUTO_TEST_CASE(openssl_s_client_verifies_the_certificate_and_gets_its_line_back) {
    auto openssl = sd::find_program("openssl");
    if (!openssl) {
        BOOST_TEST_MESSAGE("skipped: no openssl program (Debian: apt install openssl)");
        return;
    }
    child_process client(*openssl,
                         {"s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                          pki.ca_cert, "-verify_return_error", "-verify_ip", "127.0.0.1", "-quiet"},
                         {}, true);
    const std::string line = "hello from openssl s_client\n";
    client.write_stdin(line);
    bool echoed = eventually(
        [&] {
            client.wait_exit(20ms); // collects its output meanwhile
            return client.out().find(line) != std::string::npos;
        },
        10s);
    BOOST_TEST(echoed, "stdout: " << client.out() << "\nstderr: " << client.err());
    BOOST_TEST(client.err().find("verify return:1") != std::string::npos, client.err());
    client.send_signal(SIGTERM); // -quiet waits for the server after EOF: end it
    client.wait_exit(5s);
}

BOOST_AUTO_TEST_CASE(socat_sends_all_byte_values_half_closes_and_reads_them_all_back) {
    auto socat = sd::find_program("socat");
    if (!socat) {
        BOOST_TEST_MESSAGE("skipped: no socat (Debian: apt install socat)");
        return;
    }
    child_process client(
        *socat,
        {"-t", "5", "-",
         "OPENSSL:127.0.0.1:" + std::to_string(port) + ",cafile=" + pki.ca_cert + ",verify=1"},
        {}, true);
    auto data = all_byte_values() + random_bytes(200000, 21);
    client.write_stdin(data);
    client.close_stdin(); // socat sends close_notify: the server echoes all, then closes
    auto code = client.wait_exit(20s);
    BOOST_REQUIRE_MESSAGE(code, "socat still running");
    BOOST_TEST(*code == 0, client.err());
    BOOST_TEST(client.out().size() == data.size());
    BOOST_TEST((client.out() == data), "seed 21");
}

BOOST_AUTO_TEST_CASE(sighup_rotates_the_certificate_and_open_connections_go_on) {
    tls_peer open(port, {pki.ca_cert, "", "", 0});
    BOOST_REQUIRE_MESSAGE(open.handshake_error().empty(), open.handshake_error());
    BOOST_TEST(open.server_common_name() == "echo-server");

    pki.issue_server(pki.server_cert, pki.server_key, "rotated");
    server.send_signal(SIGHUP);
    auto reloaded = server.wait_for_stderr_line("re-read the TLS certificate", 10s);
    BOOST_REQUIRE_MESSAGE(reloaded, server.err());
    tls_peer fresh(port, {pki.ca_cert, "", "", 0});
    BOOST_TEST(fresh.server_common_name() == "rotated");
    open.write_all("still here");
    BOOST_TEST(open.read_exactly(10) == "still here");

    // A key that does not fit: one error line, the rotated certificate stays.
    sd::write_file(pki.server_key, sd::read_file(pki.wrong_key));
    server.send_signal(SIGHUP);
    auto failed =
        server.wait_for_stderr_line("TLS reload failed, keeping the old certificate", 10s);
    BOOST_REQUIRE_MESSAGE(failed, server.err());
    BOOST_TEST(failed->find("does not match the certificate") != std::string::npos, *failed);
    tls_peer after(port, {pki.ca_cert, "", "", 0});
    BOOST_TEST(after.server_common_name() == "rotated");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_certificate_file_without_a_certificate_exits_64_naming_it) {
    sd::temp_dir dir;
    test_pki pki(dir.path());
    auto result = run_program(server_path, {"--tls", "127.0.0.1:0", "--tls-cert", pki.server_key,
                                            "--tls-key", pki.server_key});
    BOOST_TEST(result.code == 64);
    BOOST_TEST(
        result.err.rfind("echo-server: --tls-cert '" + pki.server_key + "' holds no certificate (",
                         0) == 0u,
        result.err);
    BOOST_TEST(result.err.find('\n') == result.err.size() - 1, "more than one line");
    auto mismatch = run_program(server_path, {"--tls", "127.0.0.1:0", "--tls-cert", pki.server_cert,
                                              "--tls-key", pki.wrong_key});
    BOOST_TEST(mismatch.code == 64);
    BOOST_TEST(mismatch.err == "echo-server: --tls-key '" + pki.wrong_key +
                                   "' does not match the certificate in --tls-cert '" +
                                   pki.server_cert + "'\n");
}

BOOST_AUTO_TEST_CASE(a_passed_socket_named_tls_serves_tls_and_the_echo_one_stays_plain) {
    sd::temp_dir dir;
    test_pki pki(dir.path());
    sd::bound_socket echo(true, "127.0.0.1");
    sd::bound_socket tls(true, "127.0.0.1");
    // As systemd passes echo-server.socket's and echo-server-tls.socket's descriptors.
    sd::activated_child server(
        server_path, {"--threads", "1", "--tls-cert", pki.server_cert, "--tls-key", pki.server_key},
        {echo.fd, tls.fd}, {"LISTEN_FDS=2", "LISTEN_FDNAMES=echo:tls"});
    auto line = server.wait_for_stderr_line("listening tls ", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    BOOST_TEST(*line == "notice: listening tls 127.0.0.1:" + std::to_string(tls.port));
    tls_peer peer(tls.port, {pki.ca_cert, "", "", 0});
    BOOST_REQUIRE_MESSAGE(peer.handshake_error().empty(), peer.handshake_error());
    auto data = all_byte_values();
    peer.write_all(data);
    BOOST_TEST(peer.read_exactly(data.size()) == data);
    // The echo socket is plain: a ClientHello's first bytes there are data, echoed.
    auto plain = plain_socket::tcp("127.0.0.1", echo.port);
    plain.send_all("\x16\x03\x01");
    BOOST_TEST(plain.receive_exactly(3) == "\x16\x03\x01");
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(a_passed_socket_named_tls_without_a_certificate_exits_64_saying_so) {
    sd::bound_socket tls(true, "127.0.0.1");
    sd::activated_child server(server_path, {"--threads", "1"}, {tls.fd},
                               {"LISTEN_FDS=1", "LISTEN_FDNAMES=tls"});
    auto code = server.wait_exit(10s);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 64);
    BOOST_TEST(server.err() == "echo-server: a socket named 'tls' was passed, but no --tls-cert "
                               "and --tls-key were given\n");
}
