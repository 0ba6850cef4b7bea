// SPDX-License-Identifier: BSL-1.0
// UDP answers come from the address each datagram was sent to: a server bound to 0.0.0.0
// answers datagrams sent to 127.0.0.2 and 127.0.0.3 from those addresses (connected client
// sockets, like most real clients, NATs and stateful firewalls, drop anything else), also
// when one batch holds datagrams to several addresses; and over IPv6, a [::] socket in a
// private network namespace with two global addresses on its loopback (root only).
#define BOOST_TEST_MODULE udp_source_address
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "in_child.hpp"
#include "net.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

server_config wildcard_udp() {
    auto config = loopback_config();
    config.listen.clear();
    config.udp = {{"0.0.0.0", 0}};
    return config;
}

sockaddr_in v4(const std::string& address, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    return a;
}

std::string text_of(const sockaddr_in& a) {
    char buffer[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a.sin_addr, buffer, sizeof buffer);
    return buffer;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_wildcard_socket_answers_from_each_address_a_connected_client_used) {
    running_server server(wildcard_udp());
    for (const char* address : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
        // Connected: the kernel delivers only datagrams from exactly address:port.
        auto client = plain_socket::udp(address, server.udp_port());
        client.set_timeout(2s);
        std::string message = std::string("to ") + address;
        client.send_all(message);
        auto back = client.receive_some();
        BOOST_TEST(back.has_value(), "no answer from " << address << " (one from another "
                                                       << "address is dropped by the socket)");
        BOOST_TEST(back.value_or("") == message);
    }
}

BOOST_AUTO_TEST_CASE(every_answer_of_a_batch_carries_its_own_source) {
    running_server server(wildcard_udp());
    // One unconnected socket sends to four addresses in a row, quicker than the server
    // reads, so that its batches mix destinations; each reply must come from where its
    // datagram went.
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    int big = 1 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    const std::vector<std::string> addresses{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
    constexpr int rounds = 50;
    std::map<std::string, std::string> expected_source; // payload -> address it was sent to
    for (int round = 0; round < rounds; ++round) {
        for (const auto& address : addresses) {
            auto payload = address + "#" + std::to_string(round);
            auto to = v4(address, server.udp_port());
            BOOST_REQUIRE(::sendto(fd, payload.data(), payload.size(), 0,
                                   reinterpret_cast<sockaddr*>(&to),
                                   sizeof to) == static_cast<ssize_t>(payload.size()));
            expected_source[payload] = address;
        }
    }
    std::size_t answered = 0;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (answered < expected_source.size() && std::chrono::steady_clock::now() < deadline) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, 1000) <= 0) {
            continue;
        }
        char buffer[256];
        sockaddr_in from{};
        socklen_t length = sizeof from;
        auto n =
            ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
        BOOST_REQUIRE(n > 0);
        std::string payload(buffer, static_cast<std::size_t>(n));
        auto it = expected_source.find(payload);
        BOOST_REQUIRE_MESSAGE(it != expected_source.end(), "unexpected reply " << payload);
        BOOST_TEST(text_of(from) == it->second, payload << " came from " << text_of(from));
        BOOST_TEST(ntohs(from.sin_port) == server.udp_port());
        ++answered;
    }
    ::close(fd);
    BOOST_TEST(answered == expected_source.size());
    // Several datagrams per receive call happened (else the batch path was not tested).
    BOOST_TEST_MESSAGE(answered << " answers, each from its own destination");
}

namespace {

/// The kernel's in6_ifreq (linux/ipv6.h), for SIOCSIFADDR on an AF_INET6 socket.
struct in6_ifreq_v {
    in6_addr address;
    std::uint32_t prefix_length;
    int ifindex;
};

/// In a network namespace of its own: loopback up, with 2001:db8::1 and 2001:db8::2 added.
/// Empty when done, else what failed.
std::string make_namespace_with_two_v6_addresses() {
    if (::unshare(CLONE_NEWNET) != 0) {
        return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    }
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq up{};
    std::strncpy(up.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &up) != 0) {
        return std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
    }
    up.ifr_flags |= IFF_UP;
    if (::ioctl(fd, SIOCSIFFLAGS, &up) != 0) {
        return std::string("SIOCSIFFLAGS lo up: ") + std::strerror(errno);
    }
    for (const char* text : {"2001:db8::1", "2001:db8::2"}) {
        in6_ifreq_v request{};
        ::inet_pton(AF_INET6, text, &request.address);
        request.prefix_length = 128;
        request.ifindex = static_cast<int>(::if_nametoindex("lo"));
        if (::ioctl(fd, SIOCSIFADDR, &request) != 0) {
            return std::string("adding ") + text + ": " + std::strerror(errno);
        }
    }
    ::close(fd);
    // The kernel takes an address for use a moment after it was added (its duplicate address
    // detection, skipped on loopback, is still scheduled): wait until each can be bound.
    for (const char* text : {"2001:db8::1", "2001:db8::2"}) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        ::inet_pton(AF_INET6, text, &address.sin6_addr);
        bool usable = eventually(
            [&] {
                int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                bool bound = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&address),
                                                  sizeof address) == 0;
                ::close(probe);
                return bound;
            },
            std::chrono::milliseconds(5000));
        if (!usable) {
            return std::string(text) + " not usable 5 s after it was added";
        }
    }
    return {};
}

/// Runs in the child: a server on [::]:0 answering a connected client of each address.
/// Empty when every answer came from the address it was sent to, else what went wrong.
std::string check_v6_answers_in_a_private_namespace() {
    if (auto failed = make_namespace_with_two_v6_addresses(); !failed.empty()) {
        return failed;
    }
    auto config = loopback_config();
    config.listen.clear();
    config.udp = {{"::", 0}};
    running_server server(config);
    std::string problems;
    // Each client sends from another of the addresses than the one it sends to: left to
    // itself, the kernel would answer from the client's own address (the best match for it).
    const std::pair<const char*, const char*> routes[] = {
        {"2001:db8::1", "2001:db8::2"}, {"2001:db8::2", "2001:db8::1"}, {"2001:db8::2", "::1"}};
    for (auto [from, to] : routes) {
        auto client = plain_socket::udp_from(from, 0, to, server.udp_port());
        client.set_timeout(2s);
        std::string message = std::string("from ") + from + " to " + to;
        client.send_all(message);
        if (client.receive_some().value_or("") != message) {
            problems += (problems.empty() ? "" : "; ") + message + ": no answer from " + to;
        }
    }
    return problems;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_v6_wildcard_socket_answers_from_each_of_two_addresses_in_a_namespace,
                     *boost::unit_test::precondition(can_make_network_namespaces{})) {
    // A child process makes the namespace (this process's network stays as it is) and runs
    // the server and clients in it.
    auto report = run_in_child(check_v6_answers_in_a_private_namespace);
    if (report.problems.rfind("unshare(CLONE_NEWNET): ", 0) == 0) {
        BOOST_TEST_MESSAGE("skipped: " << report.problems
                                       << " (a container that forbids namespaces)");
        return;
    }
    BOOST_TEST(report.problems == "");
    BOOST_TEST(report.exited_0);
}
