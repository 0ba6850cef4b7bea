// SPDX-License-Identifier: BSL-1.0
// The shipped front-end examples, exercised as shipped: HAProxy (TCP, PROXY v2) on
// examples/haproxy/haproxy.cfg and nginx's stream module (UDP, and TCP with PROXY v1) on
// examples/nginx/echo-stream.conf, each in front of three echo-server instances on loopback,
// with only the addresses (and HAProxy's check interval) replaced. The instances deny
// 127.0.0.3: a client from there is refused through each front, one from 127.0.0.1 served.
// Skipped with a message where haproxy or nginx is missing. Processes are ended by PID;
// every wait has a deadline.
#define BOOST_TEST_MODULE front
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child_process.hpp"
#include "echo_swarm.hpp"
#include "eventually.hpp"
#include "exposition.hpp"
#include "http_client.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;
const std::string examples_dir = std::string(PROJECT_SOURCE_DIR) + "/examples";

/// Three echo-server instances on 127.0.0.1, each with TCP and UDP on one free port, an
/// --accept-proxy endpoint trusting 127.0.0.1, metrics, and 127.0.0.3 denied.
struct backends {
    std::vector<std::unique_ptr<child_process>> processes;
    std::vector<std::uint16_t> ports;
    std::vector<std::uint16_t> proxy_ports;
    std::vector<std::uint16_t> metrics_ports;

    backends() {
        for (int i = 0; i < 3; ++i) {
            processes.push_back(std::make_unique<child_process>(
                server_path, std::vector<std::string>{
                                 "--listen", "127.0.0.1:0", "--accept-proxy", "127.0.0.1:0",
                                 "--trusted-proxy", "127.0.0.1/32", "--deny", "127.0.0.3/32",
                                 "--metrics", "127.0.0.1:0", "--threads", "1"}));
            auto& process = *processes.back();
            auto metrics = process.wait_for_stderr_line("listening metrics 127.0.0.1:", 10s);
            BOOST_REQUIRE_MESSAGE(metrics, "instance " << i << ": " << process.err());
            metrics_ports.push_back(port_of(*metrics));
            ports.push_back(
                port_of(process.wait_for_stderr_line("listening udp 127.0.0.1:", 1s).value()));
            proxy_ports.push_back(
                port_of(process.wait_for_stderr_line(" accept-proxy", 1s).value()));
        }
    }

    /// The example's backend addresses replaced by the instances': 127.0.0.1:9001..9003 (TCP
    /// and UDP) and 127.0.0.1:9011..9013 (--accept-proxy).
    std::string substituted(std::string config) const;

    /// A counter summed over the instances still running.
    double sum(const std::string& sample) const {
        double total = 0;
        for (std::size_t i = 0; i < metrics_ports.size(); ++i) {
            if (!processes[i]->wait_exit(0ms)) {
                total += sample_value(http_get(metrics_ports[i]).body, sample).value_or(0);
            }
        }
        return total;
    }
};

/// Whether text holds from at `at`, in a line that is not a comment ('#' first).
bool in_setting(const std::string& text, std::size_t at) {
    auto line = text.rfind('\n', at);
    auto first = text.find_first_not_of(" \t", line == std::string::npos ? 0 : line + 1);
    return text[first] != '#';
}

/// text with the single occurrence of from outside comments replaced by to (the test fails if
/// there is not exactly one: the example changed shape).
std::string replace_once(std::string text, const std::string& from, const std::string& to) {
    std::vector<std::size_t> found;
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) {
        if (in_setting(text, at)) {
            found.push_back(at);
        }
    }
    BOOST_REQUIRE_MESSAGE(!found.empty(), "the example no longer holds '" << from << "'");
    BOOST_REQUIRE_MESSAGE(found.size() == 1, "the example holds '" << from << "' more than once");
    return text.replace(found.front(), from.size(), to);
}

std::string backends::substituted(std::string config) const {
    for (std::size_t i = 0; i < ports.size(); ++i) {
        auto n = std::to_string(i + 1);
        if (config.find("server 127.0.0.1:900" + n) != std::string::npos) {
            config =
                replace_once(config, "127.0.0.1:900" + n, "127.0.0.1:" + std::to_string(ports[i]));
        }
        config = replace_once(config, "127.0.0.1:901" + n,
                              "127.0.0.1:" + std::to_string(proxy_ports[i]));
    }
    return config;
}

/// Whether a TCP client from source gets its bytes back through port (true), or is closed
/// without a byte (false: EOF or a reset before any echo).
bool served_from(const std::string& source, std::uint16_t port) {
    auto client = plain_socket::tcp_from(source, "127.0.0.1", port);
    client.set_timeout(5s);
    try {
        client.send_all("who is there");
        auto back = client.receive_some();
        BOOST_REQUIRE_MESSAGE(back, "neither served nor closed within 5 s");
        return *back == "who is there";
    } catch (const std::runtime_error&) {
        return false; // reset
    }
}

/// Through a front on port: 127.0.0.1 is served and 127.0.0.3 refused by the instances,
/// which saw each client's own address in its PROXY header.
void check_clients_judged_by_their_own_address(const backends& instances, std::uint16_t port) {
    double refused_before = instances.sum("echo_connections_refused_total{reason=\"denied\"}");
    BOOST_TEST(served_from("127.0.0.1", port));
    BOOST_TEST(!served_from("127.0.0.3", port), "127.0.0.3 is denied behind the front");
    BOOST_TEST(served_from("127.0.0.1", port));
    BOOST_TEST(eventually(
        [&] {
            return instances.sum("echo_connections_refused_total{reason=\"denied\"}") ==
                   refused_before + 1;
        },
        5s));
    BOOST_TEST(instances.sum("echo_proxy_headers_total{result=\"ok\"}") >= 3);
    BOOST_TEST(instances.sum("echo_proxy_headers_total{result=\"malformed\"}") == 0);
}

/// A loopback port free right now, for programs that cannot report what they bound. Another
/// process may take it first; the callers then retry with another.
std::uint16_t free_port(int type) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

/// One TCP echo through port, or false.
bool echoes_tcp(std::uint16_t port) {
    try {
        auto client = plain_socket::tcp("127.0.0.1", port);
        client.set_timeout(2s);
        client.send_all("ready?");
        return client.receive_exactly(6) == "ready?";
    } catch (const std::runtime_error&) {
        return false;
    }
}

/// One UDP echo through port, or false.
bool echoes_udp(std::uint16_t port) {
    auto client = plain_socket::udp("127.0.0.1", port);
    client.set_timeout(200ms);
    try {
        client.send_all("ready?");
        return client.receive_some().value_or("") == "ready?";
    } catch (const std::runtime_error&) {
        return false; // ICMP port unreachable while nginx is not yet bound
    }
}

/// Starts a front-end on a free port with config(port) until it echoes (attempts bounded,
/// in case another process takes the port first). Returns nothing when it never did.
template <class MakeArgs, class Ready>
std::unique_ptr<child_process> start_front(const std::string& program, MakeArgs args_for,
                                           Ready ready, int socket_type, std::uint16_t& port) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        port = free_port(socket_type);
        auto front = std::make_unique<child_process>(program, args_for(port));
        if (eventually([&] { return ready(port) || front->wait_exit(0ms).has_value(); }, 10s) &&
            !front->wait_exit(0ms).has_value()) {
            return front;
        }
        BOOST_TEST_MESSAGE(program << " did not serve on port " << port << ": " << front->err());
        front->send_signal(SIGTERM);
        front->wait_exit(5s);
    }
    return nullptr;
}

void stop(child_process& process, const std::string& what) {
    process.send_signal(SIGTERM);
    auto code = process.wait_exit(10s);
    BOOST_TEST(code.has_value(), what << " still running 10 s after SIGTERM");
}

} // namespace

namespace {

/// The lines of text, without the spaces around them, empty ones and comments left out.
std::set<std::string> trimmed_lines(const std::string& text) {
    std::set<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        lines.insert(line.substr(first, line.find_last_not_of(" \t") - first + 1));
    }
    return lines;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_readmes_front_end_snippets_are_lines_of_the_tested_examples) {
    // What the README shows is what this file tests: every line of its HAProxy and nginx
    // blocks is a line of the shipped example (in order or not; comments left out there).
    auto readme = read_file(std::string(PROJECT_SOURCE_DIR) + "/README.md");
    auto haproxy = trimmed_lines(read_file(examples_dir + "/haproxy/haproxy.cfg"));
    auto nginx = trimmed_lines(read_file(examples_dir + "/nginx/echo-stream.conf"));
    // Every fenced block, with or without a language after its opening fence.
    std::vector<std::string> fenced;
    std::optional<std::string> open;
    std::istringstream in(readme);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("```", 0) == 0) {
            if (open) {
                fenced.push_back(*open);
                open.reset();
            } else {
                open.emplace();
            }
        } else if (open) {
            *open += line + "\n";
        }
    }
    std::size_t blocks = 0;
    for (const auto& block : fenced) {
        bool is_haproxy = block.rfind("backend ", 0) == 0;
        bool is_nginx = block.find("proxy_pass ") != std::string::npos;
        if (!is_haproxy && !is_nginx) {
            continue;
        }
        ++blocks;
        const auto& example = is_haproxy ? haproxy : nginx;
        for (const auto& line : trimmed_lines(block)) {
            if (line == "}") {
                continue; // a block the snippet closes early
            }
            BOOST_TEST(example.count(line) == 1u, "README line not in the example: " << line);
        }
    }
    BOOST_TEST(blocks == 3u, "README blocks of HAProxy or nginx configuration");
}

BOOST_AUTO_TEST_CASE(haproxy_serves_300_clients_and_its_echo_check_drops_a_killed_instance) {
    auto haproxy = find_program("haproxy");
    if (!haproxy) {
        BOOST_TEST_MESSAGE("skipped: haproxy is not installed (Debian: apt install haproxy)");
        return;
    }
    backends instances;
    temp_dir dir;
    auto example = instances.substituted(read_file(examples_dir + "/haproxy/haproxy.cfg"));
    // Checks every 200 ms, so the test sees the instance go DOWN quickly.
    example = replace_once(example, "default-server inter 2s fall 2 rise 2",
                           "default-server inter 200ms fall 2 rise 1");
    auto config = dir.path() + "/haproxy.cfg";
    std::uint16_t port = 0;
    auto front = start_front(
        *haproxy,
        [&](std::uint16_t p) {
            write_file(config, replace_once(example, "bind 127.0.0.1:7007",
                                            "bind 127.0.0.1:" + std::to_string(p)));
            return std::vector<std::string>{"-db", "-f", config};
        },
        echoes_tcp, SOCK_STREAM, port);
    BOOST_REQUIRE_MESSAGE(front, "haproxy never served");

    // 300 clients, 20 rounds each; one instance is killed halfway.
    const std::size_t clients = 300, rounds = 20;
    echo_swarm swarm(port, clients, rounds, 300, 10ms);
    BOOST_REQUIRE(eventually([&] { return swarm.rounds_done() >= clients * rounds / 2; }, 60s));
    instances.processes[1]->send_signal(SIGKILL); // by PID: a child this test started
    BOOST_REQUIRE(instances.processes[1]->wait_exit(10s).has_value());
    auto during = swarm.wait(120s);
    BOOST_TEST_MESSAGE("through haproxy: " << during.completed << " clients completed, "
                                           << during.failed << " cut by the kill");
    BOOST_TEST(during.mismatched == 0u, "seed 300");
    BOOST_TEST(during.unfinished == 0u);
    BOOST_TEST(during.completed + during.failed == clients);
    BOOST_TEST(during.completed >= clients / 2, "more clients lost than one instance held");

    // The echo check notices, and every client from now on is served by the other two.
    auto down = front->wait_for_stderr_line("echo2 is DOWN", 10s);
    BOOST_TEST(down.has_value(), "no DOWN line: " << front->err());
    echo_swarm after(port, clients, 5, 301);
    auto result = after.wait(120s);
    BOOST_TEST(result.completed == clients, "seed 301");
    BOOST_TEST(result.failed == 0u);
    BOOST_TEST(result.mismatched == 0u);
    check_clients_judged_by_their_own_address(instances, port);
    stop(*front, "haproxy");
}

BOOST_AUTO_TEST_CASE(nginx_stream_relays_udp_byte_exact_and_tcp_with_the_proxy_protocol) {
    auto nginx = find_program("nginx");
    if (!nginx) {
        nginx = find_program("/usr/sbin/nginx");
    }
    if (!nginx) {
        BOOST_TEST_MESSAGE("skipped: nginx is not installed (Debian: apt install nginx "
                           "libnginx-mod-stream)");
        return;
    }
    auto example = read_file(examples_dir + "/nginx/echo-stream.conf");
    const std::string module_line = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n";
    if (!std::filesystem::exists("/usr/lib/nginx/modules/ngx_stream_module.so")) {
        auto built = run_program(*nginx, {"-V"});
        if (built.err.find("--with-stream ") == std::string::npos) {
            BOOST_TEST_MESSAGE("skipped: nginx has no stream module (Debian: apt install "
                               "libnginx-mod-stream)");
            return;
        }
        example = replace_once(example, module_line, ""); // built in
    }
    backends instances;
    temp_dir dir;
    example = instances.substituted(example);
    auto config = dir.path() + "/echo-stream.conf";
    std::uint16_t port = 0;
    std::uint16_t tcp_port = 0;
    auto front = start_front(
        *nginx,
        [&](std::uint16_t p) {
            tcp_port = free_port(SOCK_STREAM);
            auto with_udp = replace_once(example, "listen 127.0.0.1:7007 udp;",
                                         "listen 127.0.0.1:" + std::to_string(p) + " udp;");
            write_file(config, replace_once(with_udp, "listen 127.0.0.1:7007;",
                                            "listen 127.0.0.1:" + std::to_string(tcp_port) + ";"));
            // One process in the foreground, so that its PID is all there is to end.
            return std::vector<std::string>{
                "-p", dir.path(), "-c", config,
                "-e", "stderr",   "-g", "daemon off; master_process off;"};
        },
        echoes_udp, SOCK_DGRAM, port);
    BOOST_REQUIRE_MESSAGE(front, "nginx never served");

    // Datagrams of many sizes from several sockets (several source ports); every answer
    // must be the very datagram sent.
    std::size_t sent = 0;
    for (int socket_number = 0; socket_number < 6; ++socket_number) {
        auto client = plain_socket::udp("127.0.0.1", port);
        client.set_timeout(5s);
        for (std::size_t size : {std::size_t{1}, std::size_t{64}, std::size_t{256},
                                 std::size_t{1400}, std::size_t{9000}, std::size_t{65507}}) {
            auto data = size == 256 ? all_byte_values()
                                    : random_bytes(size, size * 10 + std::size_t(socket_number));
            client.send_all(data);
            auto answer = client.receive_some();
            BOOST_REQUIRE_MESSAGE(answer, "no answer to a datagram of " << size << " bytes");
            BOOST_TEST((*answer == data),
                       "datagram of " << size << " bytes, socket " << socket_number);
            ++sent;
        }
    }
    // nginx spread them: every instance answered some.
    for (std::size_t i = 0; i < instances.metrics_ports.size(); ++i) {
        auto scrape = http_get(instances.metrics_ports[i]);
        auto answered = sample_value(scrape.body, "echo_datagrams_sent_total").value_or(0);
        BOOST_TEST_MESSAGE("instance " << i << " answered " << answered << " datagrams");
        BOOST_TEST(answered > 0, "instance " << i << " got no datagram");
    }

    // TCP: streams of every size byte-exact through nginx and its PROXY v1 lines, spread over
    // the instances' --accept-proxy endpoints; the clients judged by their own address.
    BOOST_REQUIRE(eventually([&] { return echoes_tcp(tcp_port); }, 10s));
    for (std::size_t size :
         {std::size_t{1}, std::size_t{256}, std::size_t{70000}, std::size_t{1} << 20}) {
        auto client = plain_socket::tcp("127.0.0.1", tcp_port);
        client.set_timeout(10s);
        auto data = size == 256 ? all_byte_values() : random_bytes(size, size);
        client.send_all(data);
        client.shutdown_send();
        BOOST_TEST((client.receive_until_eof() == data), "stream of " << size << " bytes");
    }
    check_clients_judged_by_their_own_address(instances, tcp_port);
    stop(*front, "nginx");
}
