// SPDX-License-Identifier: BSL-1.0
// echo-client over ws:// and wss:// URLs, through the real binary against an in-process
// server on loopback port 0: one-shot text and --binary, stream mode with --verify, ping and
// load with their JSON, wss with the test CA and without it, a refused upgrade, and the usage
// errors.
#define BOOST_TEST_MODULE client_websocket
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "net.hpp"
#include "server_fixture.hpp"
#include "test_pki.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string client_path = ECHO_CLIENT_PATH;

/// A fresh folder for the test PKI, removed with everything in it.
struct scratch_dir {
    std::string path;
    scratch_dir() {
        const char* base = std::getenv("TMPDIR");
        path = std::string(base && *base ? base : "/tmp") + "/client-ws-XXXXXX";
        BOOST_REQUIRE(::mkdtemp(path.data()) != nullptr);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

/// A server with ws and wss endpoints and /metrics (a port that answers upgrades with 404).
struct ws_servers {
    scratch_dir dir;
    test_pki pki{dir.path};
    running_server server{configure(mode::echo)};

    server_config configure(mode m) {
        auto config = loopback_config(m);
        config.websocket.push_back({"127.0.0.1", 0});
        config.websocket_tls.push_back({"127.0.0.1", 0});
        config.metrics = endpoint{"127.0.0.1", 0};
        config.tls_cert = pki.server_cert;
        config.tls_key = pki.server_key;
        return config;
    }

    std::string ws() const { return url("ws", server_ws_port()); }
    std::string wss() const { return url("wss", server_wss_port()); }

    std::uint16_t server_ws_port() const {
        return const_cast<running_server&>(server).get().ws_endpoints().at(0).port();
    }
    std::uint16_t server_wss_port() const {
        return const_cast<running_server&>(server).get().wss_endpoints().at(0).port();
    }
    static std::string url(const std::string& scheme, std::uint16_t port) {
        return scheme + "://127.0.0.1:" + std::to_string(port) + "/";
    }
};

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(client_websocket, ws_servers)

BOOST_AUTO_TEST_CASE(one_shot_sends_text_or_binary_and_prints_the_echo) {
    auto text = run_program(client_path, {"--connect", ws(), "hello", "websocket"});
    BOOST_TEST(text.code == 0, text.err);
    BOOST_TEST(text.out == "hello websocket\n");
    auto json = run_program(client_path,
                            {"--connect", ws(), "--binary", "--json", "--verify", "bin\xc3\xa4ry"});
    BOOST_TEST(json.code == 0, json.err);
    BOOST_TEST(has(json.out, "\"protocol\":\"ws\""), json.out);
    BOOST_TEST(has(json.out, "\"bytes\":7"), json.out);
    BOOST_TEST(server.get().counters().websocket_messages >= 2u);
}

BOOST_AUTO_TEST_CASE(stream_mode_sends_stdin_as_messages_and_verifies_every_byte) {
    auto input = random_bytes(3 * 1024 * 1024 + 17, 31);
    auto result = run_with_input(client_path, {"--connect", ws(), "--verify"}, input);
    BOOST_TEST(result.code == 0, result.err);
    BOOST_TEST((result.out == input), "seed 31: " << result.out.size() << " bytes back");
    // Messages of at most 64 KiB: 49 of them at least.
    BOOST_TEST(server.get().counters().websocket_messages >= 49u);
}

BOOST_AUTO_TEST_CASE(ping_and_load_report_message_round_trips_in_json) {
    auto ping =
        run_program(client_path, {"ping", "--connect", ws(), "-n", "3", "-i", "0.01", "--json"});
    BOOST_TEST(ping.code == 0, ping.err);
    BOOST_TEST(has(ping.out, "\"protocol\":\"ws\""), ping.out);
    BOOST_TEST(has(ping.out, "\"received\":3"), ping.out);
    BOOST_TEST(has(ping.out, "\"handshake_us\""), ping.out);
    auto load = run_program(client_path, {"load", "--connect", ws(), "--connections", "4",
                                          "--duration", "0.5", "--size", "100", "--json"});
    BOOST_TEST(load.code == 0, load.err);
    BOOST_TEST(has(load.out, "\"protocol\":\"ws\""), load.out);
    BOOST_TEST(has(load.out, "\"connections\":4"), load.out);
    BOOST_TEST(has(load.out, "\"errors\":0,\"mismatches\":0"), load.out);
    BOOST_TEST(!has(load.out, "\"messages\":0,"), load.out);
}

BOOST_AUTO_TEST_CASE(wss_verifies_the_server_with_the_given_ca) {
    auto good = run_program(client_path, {"--connect", wss(), "--tls-ca", pki.ca_cert, "secure"});
    BOOST_TEST(good.code == 0, good.err);
    BOOST_TEST(good.out == "secure\n");
    auto load = run_program(client_path, {"load", "--connect", wss(), "--tls-ca", pki.ca_cert,
                                          "--connections", "2", "--duration", "0.3", "--json"});
    BOOST_TEST(load.code == 0, load.err);
    BOOST_TEST(has(load.out, "\"protocol\":\"wss\""), load.out);
    auto untrusted = run_program(client_path, {"--connect", wss(), "secure"});
    BOOST_TEST(untrusted.code == 69, untrusted.err);
    BOOST_TEST(has(untrusted.err, "TLS handshake failed: certificate verify failed"),
               untrusted.err);
}

BOOST_AUTO_TEST_CASE(a_refused_upgrade_is_a_connection_failure_naming_the_status) {
    auto metrics = server.get().metrics_endpoint()->port();
    auto refused = run_program(client_path, {"--connect", url("ws", metrics) + "chat", "hi"});
    BOOST_TEST(refused.code == 69, refused.err);
    BOOST_TEST(refused.err ==
               "echo-client: cannot connect to 127.0.0.1:" + std::to_string(metrics) +
                   ": WebSocket upgrade refused: HTTP/1.1 404 Not Found\n");
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_64_with_one_line) {
    const std::vector<std::vector<std::string>> cases = {
        {"--connect", "127.0.0.1:9", "--binary", "x"},
        {"--connect", ws(), "--tls", "x"},
        {"--connect", ws(), "--udp", "x"},
        {"load", "--connect", ws(), "--pipeline", "2"},
        {"--connect", "http://127.0.0.1:9/", "x"},
        {"--connect", "ws:///path", "x"},
    };
    for (const auto& args : cases) {
        auto result = run_program(client_path, args);
        BOOST_TEST(result.code == 64, args[1] << ": " << result.err);
        BOOST_TEST(std::count(result.err.begin(), result.err.end(), '\n') == 1, result.err);
    }
}

BOOST_AUTO_TEST_SUITE_END()
