// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE datagram_batch
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/datagram_batch.hpp"
#include "net.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
namespace asio = boost::asio;
using asio::ip::udp;

namespace {

/// A UDP socket bound to a free loopback port, and the batch under test.
struct bound_socket {
    asio::io_context context;
    udp::socket socket{context, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::uint16_t port() const { return socket.local_endpoint().port(); }
};

/// Receives until `want` datagrams are in hand or the socket stays empty for 5 s.
std::size_t receive_at_least(datagram_batch& batch, udp::socket& socket, std::size_t want) {
    // The datagrams were sent before this is called; loopback queues them at once, so one
    // receive normally takes all. Waiting with poll() covers a slow scheduler.
    boost::system::error_code ec;
    socket.wait(udp::socket::wait_read, ec);
    BOOST_REQUIRE(!ec);
    std::size_t n = batch.receive(socket, ec);
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    BOOST_REQUIRE_GE(n, want < batch.capacity() ? 1u : want);
    return n;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(empty_socket_gives_would_block_and_no_datagram, bound_socket) {
    datagram_batch batch(4, 2048);
    boost::system::error_code ec;
    BOOST_TEST(batch.receive(socket, ec) == 0u);
    BOOST_TEST(ec == asio::error::would_block);
}

BOOST_FIXTURE_TEST_CASE(receives_several_datagrams_with_their_senders_and_sends_replies,
                        bound_socket) {
    datagram_batch batch(8, 2048);
    std::vector<plain_socket> clients;
    std::vector<std::string> sent;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(plain_socket::udp("127.0.0.1", port()));
        sent.push_back(random_bytes(100 + static_cast<std::size_t>(i) * 500, 40 + i));
        clients.back().send_all(sent.back());
    }
    std::size_t got = 0;
    std::vector<bool> seen(clients.size());
    while (got < clients.size()) {
        std::size_t n = receive_at_least(batch, socket, 1);
        batch.clear_replies();
        for (std::size_t i = 0; i < n; ++i) {
            auto data = batch.payload(i);
            BOOST_TEST(!batch.truncated(i));
            // Which client? Its port names it, and the bytes must be exactly what it sent.
            for (std::size_t c = 0; c < clients.size(); ++c) {
                if (batch.peer(i).port() == clients[c].local_port()) {
                    BOOST_TEST(std::string(data.data(), data.size()) == sent[c]);
                    seen[c] = true;
                }
            }
            batch.add_reply(i, data.size());
        }
        boost::system::error_code ec;
        BOOST_TEST(batch.send(socket, 0, ec) == n);
        BOOST_TEST(!ec);
        got += n;
    }
    BOOST_TEST(got == clients.size());
    for (std::size_t c = 0; c < clients.size(); ++c) {
        BOOST_TEST(seen[c]);
        BOOST_TEST(clients[c].receive_some().value_or("<nothing>") == sent[c]);
    }
}

BOOST_FIXTURE_TEST_CASE(a_datagram_longer_than_its_slot_is_flagged_truncated, bound_socket) {
    datagram_batch batch(2, 1024);
    auto client = plain_socket::udp("127.0.0.1", port());
    client.send_all(std::string(1500, 'x'));
    receive_at_least(batch, socket, 1);
    BOOST_TEST(batch.truncated(0));
    BOOST_TEST(batch.payload(0).size() == 1024u);
}

BOOST_FIXTURE_TEST_CASE(replies_go_out_shortened_to_the_size_given, bound_socket) {
    datagram_batch batch(2, 1024);
    auto client = plain_socket::udp("127.0.0.1", port());
    client.send_all("hello, world");
    receive_at_least(batch, socket, 1);
    batch.clear_replies();
    batch.add_reply(0, 5);
    BOOST_TEST(batch.reply_size(0) == 5u);
    boost::system::error_code ec;
    BOOST_TEST(batch.send(socket, 0, ec) == 1u);
    BOOST_TEST(client.receive_some().value_or("<nothing>") == std::string("hello"));
}
