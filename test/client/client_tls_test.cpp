// SPDX-License-Identifier: BSL-1.0
// echo-client over --tls, through the real binaries: echo-server --tls on loopback port 0 with
// certificates the test makes (test_pki), every mode, verification failures, mutual TLS and
// the usage errors.
#define BOOST_TEST_MODULE client_tls
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "net.hpp"
#include "test_pki.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

/// A test writing a child's stdin must not die of SIGPIPE when the child exits first.
struct ignore_sigpipe {
    ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

/// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class scratch_dir {
public:
    scratch_dir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/client-tls-XXXXXX";
        BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// Certificates for every test of a case: a CA, a server and a client certificate.
struct certificates {
    scratch_dir dir;
    test_pki pki{dir.path()};
};

/// echo-server --tls 127.0.0.1:0 with cert and key (and more arguments); its port from the
/// "listening tls" line.
class tls_server {
public:
    tls_server(const std::string& cert, const std::string& key, std::vector<std::string> more = {})
        : child_(ECHO_SERVER_PATH, arguments(cert, key, std::move(more))) {
        auto line = child_.wait_for_stderr_line("listening tls 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(
            line, "echo-server did not report its TLS listener; stderr: " << child_.err());
        port_ = port_of(*line);
    }
    ~tls_server() {
        child_.send_signal(SIGTERM);
        if (!child_.wait_exit(10s)) {
            child_.send_signal(SIGKILL);
            child_.wait_exit(5s);
        }
    }
    std::string at() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    static std::vector<std::string> arguments(const std::string& cert, const std::string& key,
                                              std::vector<std::string> more) {
        std::vector<std::string> args{"--tls", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }
    child_process child_;
    std::uint16_t port_ = 0;
};

run_result client(std::vector<std::string> args) {
    return run_program(ECHO_CLIENT_PATH, args);
}

/// Runs echo-client with input on its stdin (run_with_input).
run_result client_with_input(const std::vector<std::string>& args, const std::string& input) {
    return run_with_input(ECHO_CLIENT_PATH, args, input);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

const std::string insecure_warning =
    "echo-client: warning: --insecure: the server's certificate is not verified\n";

} // namespace

BOOST_AUTO_TEST_CASE(one_shot_over_tls_prints_the_exact_echo) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto r = client(
        {"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "hello", "tls", "world"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.out == "hello tls world\n");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(one_shot_over_tls_to_localhost_verifies_the_dns_name) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto port = server.at().substr(server.at().rfind(':') + 1);
    auto r = client({"--connect", "localhost:" + port, "--tls", "--tls-ca", c.pki.ca_cert, "hi"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.out == "hi\n");
}

BOOST_AUTO_TEST_CASE(stream_of_1_mib_of_every_byte_value_comes_back_identical_over_tls) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    std::string input;
    for (int i = 0; i < 4096; ++i) {
        input += all_byte_values();
    }
    BOOST_REQUIRE(input.size() == 1024 * 1024);
    auto r = client_with_input(
        {"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "--verify"}, input);
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.out.size() == input.size());
    BOOST_TEST((r.out == input), "the echoed stream differs");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(ping_over_tls_prints_each_probe_with_its_handshake_time) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto r = client({"ping", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                     "--count", "3", "--interval", "0.05"});
    BOOST_TEST(r.code == 0, r.err);
    auto lines = lines_of(r.out);
    BOOST_REQUIRE(lines.size() >= 4);
    BOOST_TEST(lines[0] == "PING " + server.at() + " (tls): 64 bytes per probe");
    for (int seq = 0; seq < 3; ++seq) {
        std::regex probe("64 bytes from " +
                         std::regex_replace(server.at(), std::regex("\\."), "\\.") +
                         ": seq=" + std::to_string(seq) +
                         " time=[0-9]+\\.[0-9]{3} ms handshake [0-9]+\\.[0-9]{3} ms");
        BOOST_TEST(std::regex_match(lines[static_cast<std::size_t>(seq) + 1], probe),
                   lines[static_cast<std::size_t>(seq) + 1]);
    }
    BOOST_TEST(r.out.find("\nhandshake p50/p90/p99/max = ") != std::string::npos, r.out);

    auto json = client({"ping", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                        "--count", "3", "--interval", "0", "--json"});
    BOOST_TEST(json.code == 0, json.err);
    std::regex handshake("\"handshake_us\":\\{\"p50\":[0-9.]+,\"p90\":[0-9.]+,\"p99\":[0-9.]+,"
                         "\"max\":[0-9.]+\\}");
    BOOST_TEST(std::regex_search(json.out, handshake), json.out);
    BOOST_TEST(json.out.find("\"protocol\":\"tls\"") != std::string::npos, json.out);
    BOOST_TEST(json.out.find("\"received\":3,") != std::string::npos, json.out);
}

BOOST_AUTO_TEST_CASE(load_over_tls_reports_handshake_percentiles_and_no_mismatch) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto r = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                     "--connections", "4", "--pipeline", "2", "--duration", "0.5", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    std::regex handshake("\"handshake_us\":\\{\"p50\":[0-9.]+,\"p90\":[0-9.]+,\"p99\":[0-9.]+,"
                         "\"max\":[0-9.]+\\}");
    BOOST_TEST(std::regex_search(r.out, handshake), r.out);
    BOOST_TEST(r.out.find("\"mismatches\":0,") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"errors\":0,") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"lost\":0,") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"messages\":0,") == std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(load_reconnect_over_tls_handshakes_for_every_echo_and_checks_each) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto r = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                     "--reconnect", "--connections", "3", "--duration", "0.5", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.err == "");
    auto number = [&](const std::string& key) {
        std::smatch found;
        BOOST_TEST_REQUIRE(std::regex_search(r.out, found, std::regex(key + "([0-9.]+)")),
                           "no " << key << " in " << r.out);
        return std::stod(found[1]);
    };
    BOOST_TEST(r.out.find("\"protocol\":\"tls\"") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"reconnect\":true") != std::string::npos, r.out);
    BOOST_TEST(number("\"connections\":") == 3);
    auto made = number("\"connections_made\":");
    BOOST_TEST(made >= 6, "more than one connection per slot: " << made);
    BOOST_TEST(number("\"messages\":") >= made);
    BOOST_TEST(number("\"messages\":") <= made + 3);
    BOOST_TEST(number("\"errors\":") == 0);
    BOOST_TEST(number("\"mismatches\":") == 0);
    BOOST_TEST(number("\"lost\":") == 0);
    auto rate = made / number("\"seconds\":");
    BOOST_TEST(std::abs(number("\"connections_per_second\":") - rate) <= 0.001 * rate + 0.01);
    // Each connect time holds its handshake: every percentile is at least the handshake's.
    std::vector<double> connect, handshake;
    for (const char* p : {"p50", "p90", "p99", "max"}) {
        connect.push_back(number("\"connect_us\":\\{[^}]*\"" + std::string(p) + "\":"));
        handshake.push_back(number("\"handshake_us\":\\{[^}]*\"" + std::string(p) + "\":"));
    }
    for (std::size_t i = 0; i < connect.size(); ++i) {
        BOOST_TEST(connect[i] >= handshake[i], "percentile " << i);
        if (i > 0) {
            BOOST_TEST(connect[i - 1] <= connect[i], "connect_us not ordered at " << i);
            BOOST_TEST(handshake[i - 1] <= handshake[i], "handshake_us not ordered at " << i);
        }
    }

    auto text = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                        "--reconnect", "--connections", "2", "--duration", "0.3"});
    BOOST_TEST(text.code == 0, text.err);
    BOOST_TEST(text.out.find(" connections/s\n") != std::string::npos, text.out);
    BOOST_TEST(text.out.find("\nconnect us: p50 ") != std::string::npos, text.out);
    BOOST_TEST(text.out.find("\nhandshake us: p50 ") != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(mutual_tls_serves_a_client_certificate_and_refuses_its_absence) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key, {"--tls-client-ca", c.pki.ca_cert});
    auto with = client({"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "--tls-cert",
                        c.pki.client_cert, "--tls-key", c.pki.client_key, "mutual"});
    BOOST_TEST(with.code == 0, with.err);
    BOOST_TEST(with.out == "mutual\n");
    BOOST_TEST(with.err == "");

    auto without = client({"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "alone"});
    BOOST_TEST(without.code == 69);
    BOOST_TEST(without.out == "");
    auto lines = lines_of(without.err);
    BOOST_TEST(lines.size() == 1u, without.err);
    BOOST_TEST(without.err.starts_with("echo-client: cannot connect to " + server.at() +
                                       ": TLS handshake failed: "),
               without.err);
    // Load refuses the run the same way (under TLS 1.3 the refusal comes after the handshake).
    auto load = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                        "--connections", "2", "--duration", "0.2"});
    BOOST_TEST(load.code == 69);
    BOOST_TEST(lines_of(load.err).size() == 1u, load.err);
    BOOST_TEST(load.err.starts_with("echo-client: cannot connect to " + server.at() +
                                    ": TLS handshake failed: "),
               load.err);
    auto reconnect = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                             "--reconnect", "--connections", "2", "--duration", "0.2"});
    BOOST_TEST(reconnect.code == 69);
    BOOST_TEST(reconnect.out == "");
    BOOST_TEST(lines_of(reconnect.err).size() == 1u, reconnect.err);
    BOOST_TEST(reconnect.err.starts_with("echo-client: cannot connect to " + server.at() +
                                         ": TLS handshake failed: "),
               reconnect.err);
    // With the certificate, every one of its connections presents it again.
    auto with_cert = client({"load", "--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert,
                             "--tls-cert", c.pki.client_cert, "--tls-key", c.pki.client_key,
                             "--reconnect", "--connections", "2", "--duration", "0.2", "--json"});
    BOOST_TEST(with_cert.code == 0, with_cert.err);
    BOOST_TEST(with_cert.out.find("\"errors\":0,") != std::string::npos, with_cert.out);
}

BOOST_AUTO_TEST_CASE(a_self_signed_server_fails_verification_unless_insecure) {
    certificates c;
    auto cert = c.dir.path() + "/self.pem";
    auto key = c.dir.path() + "/self.key";
    c.pki.self_signed(cert, key, "self");
    tls_server server(cert, key);
    auto refused = client({"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "hi"});
    BOOST_TEST(refused.code == 69);
    BOOST_TEST(refused.out == "");
    BOOST_TEST(refused.err == "echo-client: cannot connect to " + server.at() +
                                  ": TLS handshake failed: certificate verify failed "
                                  "(self-signed certificate)\n");

    auto insecure = client({"--connect", server.at(), "--tls", "--insecure", "hi"});
    BOOST_TEST(insecure.code == 0, insecure.err);
    BOOST_TEST(insecure.out == "hi\n");
    BOOST_TEST(insecure.err == insecure_warning);
}

BOOST_AUTO_TEST_CASE(a_servername_the_certificate_does_not_name_fails_verification) {
    certificates c;
    tls_server server(c.pki.server_cert, c.pki.server_key);
    auto r = client({"--connect", server.at(), "--tls", "--tls-ca", c.pki.ca_cert, "--servername",
                     "elsewhere.example", "hi"});
    BOOST_TEST(r.code == 69);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err == "echo-client: cannot connect to " + server.at() +
                            ": TLS handshake failed: certificate verify failed (hostname "
                            "mismatch)\n");
    // Another CA vouches for nobody here.
    auto other = client({"--connect", server.at(), "--tls", "--tls-ca", c.pki.other_ca_cert, "hi"});
    BOOST_TEST(other.code == 69);
    BOOST_TEST(other.err == "echo-client: cannot connect to " + server.at() +
                                ": TLS handshake failed: certificate verify failed (unable to "
                                "get local issuer certificate)\n");
}

BOOST_AUTO_TEST_CASE(tls_usage_errors_exit_64_with_one_line) {
    certificates c;
    auto half = client({"--tls", "--tls-cert", c.pki.client_cert, "hi"});
    BOOST_TEST(half.code == 64);
    BOOST_TEST(half.err == "echo-client: --tls-cert needs --tls-key (the certificate's key)\n");
    auto key_only = client({"--tls", "--tls-key", c.pki.client_key, "hi"});
    BOOST_TEST(key_only.code == 64);
    BOOST_TEST(key_only.err == "echo-client: --tls-key needs --tls-cert (the key's certificate)\n");
    auto udp = client({"--tls", "--udp", "hi"});
    BOOST_TEST(udp.code == 64);
    BOOST_TEST(udp.err == "echo-client: --tls needs TCP: it cannot be used with --udp\n");
    auto missing = c.dir.path() + "/absent.pem";
    auto no_ca = client({"--tls", "--tls-ca", missing, "hi"});
    BOOST_TEST(no_ca.code == 64);
    BOOST_TEST(no_ca.err == "echo-client: cannot read --tls-ca file '" + missing +
                                "': No such file or directory\n");
    auto mismatched =
        client({"--tls", "--tls-cert", c.pki.client_cert, "--tls-key", c.pki.wrong_key, "hi"});
    BOOST_TEST(mismatched.code == 64);
    BOOST_TEST(lines_of(mismatched.err).size() == 1u, mismatched.err);
    for (auto mode : {"ping", "load"}) {
        auto r = client({mode, "--tls", "--udp"});
        BOOST_TEST(r.code == 64, mode);
    }
}
