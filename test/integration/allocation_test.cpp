// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE allocation
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "net.hpp"
#include "server_fixture.hpp"

// Every allocation the server's threads make is counted: the test's own thread (the client)
// marks itself and is left out. The hot path of a session or datagram loop must not
// allocate once it is running: buffers, frames and handlers are reused.

namespace {

std::atomic<std::uint64_t> server_allocations{0};
thread_local bool client_thread = false;

void* counted(std::size_t size) {
    if (!client_thread) {
        server_allocations.fetch_add(1, std::memory_order_relaxed);
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

} // namespace

void* operator new(std::size_t size) {
    return counted(size);
}
void* operator new[](std::size_t size) {
    return counted(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

using namespace asio_echo;
using namespace asio_echo::test;

namespace {

constexpr int warm_up = 100;
constexpr int measured = 2000;

struct client_marked {
    client_marked() { client_thread = true; }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(hot_path, client_marked)

BOOST_AUTO_TEST_CASE(tcp_echoes_allocate_nothing_once_the_session_runs) {
    running_server server(loopback_config());
    auto at_start = server_allocations.load();
    auto socket = plain_socket::tcp("127.0.0.1", server.tcp_port());
    const std::string small = random_bytes(64, 11);
    const std::string large = random_bytes(20000, 12); // spans several TCP segments
    for (int i = 0; i < warm_up; ++i) {
        socket.send_all(small);
        BOOST_REQUIRE(socket.receive_exactly(small.size()) == small);
    }
    auto before = server_allocations.load();
    // The count sees the server's threads: accepting the connection allocated its socket
    // state and its session.
    BOOST_TEST_REQUIRE(before > at_start);
    for (int i = 0; i < measured; ++i) {
        const auto& message = i % 10 == 0 ? large : small;
        socket.send_all(message);
        BOOST_REQUIRE(socket.receive_exactly(message.size()) == message);
    }
    auto allocations = server_allocations.load() - before;
    BOOST_TEST_MESSAGE(allocations << " server allocations over " << measured << " echoes");
    BOOST_TEST(allocations == 0u);
}

BOOST_AUTO_TEST_CASE(udp_echoes_allocate_nothing_once_the_loop_runs) {
    running_server server(loopback_config());
    auto socket = plain_socket::udp("127.0.0.1", server.udp_port());
    const std::string small = random_bytes(64, 13);
    const std::string large = random_bytes(1400, 14);
    for (int i = 0; i < warm_up; ++i) {
        socket.send_all(small);
        BOOST_REQUIRE(socket.receive_some().value_or("<nothing>") == small);
    }
    auto before = server_allocations.load();
    for (int i = 0; i < measured; ++i) {
        const auto& message = i % 10 == 0 ? large : small;
        socket.send_all(message);
        BOOST_REQUIRE(socket.receive_some().value_or("<nothing>") == message);
    }
    auto allocations = server_allocations.load() - before;
    BOOST_TEST_MESSAGE(allocations << " server allocations over " << measured << " datagrams");
    BOOST_TEST(allocations == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
