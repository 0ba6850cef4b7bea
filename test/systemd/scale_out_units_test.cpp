// SPDX-License-Identifier: BSL-1.0
// Observability and scale-out in the systemd deployment: echo-server@.service is the service
// with its own config per instance and --reuse-port (its command line really runs two
// instances on one port), echo-server-metrics.socket passes a socket named "metrics" that the
// socket-activated server serves GET /metrics on, echo-server-proxy.socket one named "proxy"
// that it serves as an --accept-proxy endpoint, and systemd-analyze verifies the units.
#define BOOST_TEST_MODULE scale_out_units
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "child_process.hpp"
#include "exposition.hpp"
#include "http_client.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;
const std::string source_dir = PROJECT_SOURCE_DIR;
const std::string standalone_path = source_dir + "/systemd/echo-server-standalone.service";
const std::string template_path = source_dir + "/systemd/echo-server@.service";
const std::string metrics_socket_path = source_dir + "/systemd/echo-server-metrics.socket";
const std::string proxy_socket_path = source_dir + "/systemd/echo-server-proxy.socket";
const std::string tls_socket_path = source_dir + "/systemd/echo-server-tls.socket";
const std::string ws_socket_path = source_dir + "/systemd/echo-server-ws.socket";
const std::string wss_socket_path = source_dir + "/systemd/echo-server-wss.socket";

/// The directive and section lines of a unit, in order: no comments, no blank lines.
std::vector<std::string> directives(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != '#' && line[0] != ';') {
            result.push_back(line);
        }
    }
    return result;
}

/// The value of the first "key=" line, or "<unset>".
std::string directive(const std::string& text, const std::string& key) {
    for (const auto& line : directives(text)) {
        if (line.rfind(key + "=", 0) == 0) {
            return line.substr(key.size() + 1);
        }
    }
    return "<unset>";
}

/// Splits a command line at spaces (the units' ExecStart= lines quote nothing).
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string word; in >> word;) {
        result.push_back(word);
    }
    return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(template_is_the_hardened_service_with_a_config_per_instance_and_reuse_port) {
    // The standalone service but for its Conflicts= (instances share a port by design).
    auto service = directives(read_file(standalone_path));
    std::erase_if(service, [](const std::string& line) { return line.starts_with("Conflicts="); });
    auto instances = directives(read_file(template_path));
    BOOST_REQUIRE_EQUAL(instances.size(), service.size());
    for (std::size_t i = 0; i < service.size(); ++i) {
        if (service[i].starts_with("Description=") || service[i].starts_with("ExecStart=")) {
            continue;
        }
        BOOST_TEST(instances[i] == service[i], "differs from echo-server-standalone.service");
    }
    auto text = read_file(template_path);
    BOOST_TEST(directive(text, "ExecStart") ==
               "/usr/bin/echo-server --config /etc/echo-server/%i.conf --reuse-port");
    BOOST_TEST(directive(text, "Description").find("%i") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(metrics_socket_passes_a_socket_named_metrics_to_the_echo_service) {
    auto text = read_file(metrics_socket_path);
    BOOST_TEST(directive(text, "ListenStream") == "127.0.0.1:9100");
    BOOST_TEST(directive(text, "FileDescriptorName") == "metrics");
    BOOST_TEST(directive(text, "Service") == "echo-server.service");
    BOOST_TEST(directive(text, "Accept") == "<unset>");
    BOOST_TEST(directive(text, "WantedBy") == "sockets.target");
}

BOOST_AUTO_TEST_CASE(proxy_socket_passes_a_loopback_socket_named_proxy_to_the_echo_service) {
    auto text = read_file(proxy_socket_path);
    // Loopback: only this host's processes may claim client addresses (no trusted-proxy set).
    BOOST_TEST(directive(text, "ListenStream") == "127.0.0.1:8007");
    BOOST_TEST(directive(text, "FileDescriptorName") == "proxy");
    BOOST_TEST(directive(text, "Service") == "echo-server.service");
    BOOST_TEST(directive(text, "Accept") == "<unset>");
    BOOST_TEST(directive(text, "WantedBy") == "sockets.target");
}

BOOST_AUTO_TEST_CASE(tls_socket_passes_a_socket_named_tls_on_port_7443_to_the_echo_service) {
    auto text = read_file(tls_socket_path);
    // Both families, as port 7; not enabled by the package (a certificate comes first).
    BOOST_TEST(directive(text, "ListenStream") == "[::]:7443");
    BOOST_TEST(directive(text, "BindIPv6Only") == "both");
    BOOST_TEST(directive(text, "FileDescriptorName") == "tls");
    BOOST_TEST(directive(text, "Service") == "echo-server.service");
    BOOST_TEST(directive(text, "Accept") == "<unset>");
    BOOST_TEST(directive(text, "WantedBy") == "sockets.target");
    // What the comment tells an administrator to set is what the server reads.
    BOOST_TEST(text.find("#   tls-cert = /etc/echo-server/tls/cert.pem") != std::string::npos);
    BOOST_TEST(text.find("#   tls-key = /etc/echo-server/tls/key.pem") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(websocket_sockets_pass_sockets_named_ws_and_wss_to_the_echo_service) {
    // Both families, as port 7; not enabled by the package (wss needs a certificate first).
    for (auto [path, port, name] :
         {std::tuple{ws_socket_path, "[::]:7080", "ws"}, {wss_socket_path, "[::]:7444", "wss"}}) {
        auto text = read_file(path);
        BOOST_TEST(directive(text, "ListenStream") == port, path);
        BOOST_TEST(directive(text, "BindIPv6Only") == "both", path);
        BOOST_TEST(directive(text, "FileDescriptorName") == name, path);
        BOOST_TEST(directive(text, "Service") == "echo-server.service", path);
        BOOST_TEST(directive(text, "Accept") == "<unset>", path);
        BOOST_TEST(directive(text, "WantedBy") == "sockets.target", path);
    }
    // What the wss comment tells an administrator to set is what the server reads.
    auto wss = read_file(wss_socket_path);
    BOOST_TEST(wss.find("#   tls-cert = /etc/echo-server/tls/cert.pem") != std::string::npos);
    BOOST_TEST(wss.find("#   tls-key = /etc/echo-server/tls/key.pem") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(systemd_analyze_verifies_the_template_and_the_metrics_socket,
                     *boost::unit_test::precondition(program_installed{"systemd-analyze"})) {
    temp_dir dir;
    for (const auto* name :
         {"echo-server@.service", "echo-server.service", "echo-server.socket",
          "echo-server-metrics.socket", "echo-server-proxy.socket", "echo-server-tls.socket",
          "echo-server-ws.socket", "echo-server-wss.socket", "echo-server-standalone.service"}) {
        stage_unit(source_dir, name, server_path, dir);
    }
    child_process verify("/bin/sh", {"-c",
                                     "cd \"$0\" && exec systemd-analyze verify --man=no "
                                     "./echo-server@.service ./echo-server-metrics.socket "
                                     "./echo-server-proxy.socket ./echo-server-tls.socket "
                                     "./echo-server-ws.socket ./echo-server-wss.socket",
                                     dir.path()});
    auto code = verify.wait_exit(60s);
    BOOST_REQUIRE_MESSAGE(code, "systemd-analyze verify did not finish within 60 s");
    BOOST_TEST(*code == 0, "stdout: " << verify.out() << "\nstderr: " << verify.err());
    BOOST_TEST(verify.err() == "");
}

BOOST_AUTO_TEST_CASE(the_templates_command_line_runs_two_instances_on_one_port) {
    // ExecStart with the built binary, the instance name and a temporary config folder.
    temp_dir dir;
    auto command = [&](const std::string& instance) {
        auto args = words(directive(read_file(template_path), "ExecStart"));
        for (auto& arg : args) {
            if (arg == "/etc/echo-server/%i.conf") {
                arg = dir.path() + "/" + instance + ".conf";
            }
        }
        args.erase(args.begin()); // the binary
        return args;
    };
    write_file(dir.path() + "/a.conf", "listen = 127.0.0.1:0\nmetrics = 127.0.0.1:0\n"
                                       "threads = 1\nmode = echo\n");
    child_process a(server_path, command("a"));
    auto line = a.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, a.err());
    auto port = port_of(*line);
    write_file(dir.path() + "/b.conf", "listen = 127.0.0.1:" + std::to_string(port) +
                                           "\nmetrics = 127.0.0.1:0\nthreads = 1\nmode = upper\n");
    child_process b(server_path, command("b"));
    BOOST_REQUIRE_MESSAGE(b.wait_for_stderr_line("listening metrics", 10s), b.err());
    std::set<std::string> answers;
    for (int i = 0; i < 200 && answers.size() < 2; ++i) {
        auto client = plain_socket::tcp("127.0.0.1", port);
        client.send_all("hi");
        answers.insert(client.receive_exactly(2));
    }
    BOOST_TEST((answers == std::set<std::string>{"HI", "hi"}));
    for (auto* instance : {&a, &b}) {
        instance->send_signal(SIGTERM);
        BOOST_TEST(instance->wait_exit(10s).value_or(-1) == 0, instance->err());
    }
}

BOOST_AUTO_TEST_CASE(a_passed_socket_named_metrics_serves_metrics_beside_the_echo_sockets) {
    bound_socket tcp(true, "127.0.0.1");
    bound_socket udp(false, "127.0.0.1");
    bound_socket metrics(true, "127.0.0.1");
    // As systemd passes echo-server.socket's and echo-server-metrics.socket's descriptors.
    activated_child server(server_path, {"--threads", "2", "--metrics", "127.0.0.1:1"},
                           {tcp.fd, udp.fd, metrics.fd},
                           {"LISTEN_FDS=3", "LISTEN_FDNAMES=echo:echo:metrics"});
    auto line = server.wait_for_stderr_line("listening metrics ", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    // The passed socket, not the configured endpoint.
    BOOST_TEST(*line == "notice: listening metrics 127.0.0.1:" + std::to_string(metrics.port));
    BOOST_TEST(server.wait_for_stderr_lines("listening tcp ", 1, 1s).size() == 1u);
    // The configured endpoint is not used, and the log says so (as the README promises).
    BOOST_TEST(server.err().find("--metrics 127.0.0.1:1 ignored") != std::string::npos,
               server.err());

    auto echo = plain_socket::tcp("127.0.0.1", tcp.port);
    echo.send_all("counted");
    BOOST_TEST(echo.receive_exactly(7) == "counted");
    auto reply = http_get(metrics.port);
    BOOST_TEST(reply.status == 200u);
    BOOST_TEST(exposition_problems(reply.body).empty());
    BOOST_TEST(
        sample_value(reply.body, "echo_bytes_received_total{protocol=\"tcp\"}").value_or(-1) ==
        7.0);
    // A metrics socket is no echo socket.
    auto not_echo = plain_socket::tcp("127.0.0.1", metrics.port);
    BOOST_TEST(http_exchange(not_echo, get_request("/")).status == 404u);

    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(a_passed_socket_named_proxy_takes_a_proxy_header_and_the_echo_one_does_not) {
    bound_socket echo(true, "127.0.0.1");
    bound_socket proxy(true, "127.0.0.1");
    // As systemd passes echo-server.socket's and echo-server-proxy.socket's descriptors.
    activated_child server(server_path, {"--threads", "1"}, {echo.fd, proxy.fd},
                           {"LISTEN_FDS=2", "LISTEN_FDNAMES=echo:proxy"});
    auto line = server.wait_for_stderr_line(" accept-proxy", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    BOOST_TEST(*line ==
               "notice: listening tcp 127.0.0.1:" + std::to_string(proxy.port) + " accept-proxy");
    const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n";
    auto behind = plain_socket::tcp("127.0.0.1", proxy.port);
    behind.send_all(header + "behind a balancer");
    BOOST_TEST(behind.receive_exactly(17) == "behind a balancer");
    // The echo socket is plain: there the same line is data, echoed.
    auto plain = plain_socket::tcp("127.0.0.1", echo.port);
    plain.send_all(header);
    BOOST_TEST(plain.receive_exactly(header.size()) == header);
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(socket_activated_without_a_metrics_socket_says_metrics_is_ignored) {
    bound_socket tcp(true, "127.0.0.1");
    activated_child server(server_path, {"--threads", "1", "--metrics", "127.0.0.1:0"}, {tcp.fd},
                           {"LISTEN_FDS=1", "LISTEN_FDNAMES=echo"});
    auto line = server.wait_for_stderr_line("--metrics 127.0.0.1:0 ignored", 10s);
    BOOST_TEST(line.has_value(), server.err());
    BOOST_REQUIRE(server.wait_for_stderr_line("listening tcp", 10s));
    BOOST_TEST(server.err().find("listening metrics") == std::string::npos, server.err());
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}
