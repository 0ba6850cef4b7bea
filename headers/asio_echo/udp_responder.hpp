#pragma once
// The datagram loop of one UDP socket.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/stats.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

/// Largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IP header bytes).
inline constexpr std::size_t max_datagram = 65507;

/// Answers each datagram with its transformed copy, sent to its sender, until the socket is
/// closed. Zero-length datagrams get zero-length answers; send failures (say, an ICMP error
/// left by an earlier peer) are counted and do not end the loop. Run it on the socket's
/// executor; one loop per socket.
boost::asio::awaitable<void> run_udp_responder(boost::asio::ip::udp::socket& socket,
                                               const transform& reply, stats& counters);

} // namespace asio_echo
