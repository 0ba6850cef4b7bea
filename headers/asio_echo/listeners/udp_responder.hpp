// SPDX-License-Identifier: BSL-1.0
#pragma once
// The datagram loop of one UDP socket.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/cidr.hpp"
#include "asio_echo/limits.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

/// Largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IP header bytes).
inline constexpr std::size_t max_datagram = 65507;

/// What every datagram loop of a server shares. Outlives the loops (owned by the server).
struct udp_env {
    transform reply;             ///< applied to each datagram before it is sent back
    stats& counters;             ///< server-wide counters
    const udp_port_guard& guard; ///< source ports never answered
    double rate;                 ///< datagrams/s per source; 0 = unlimited
    double burst;                ///< bucket size per source
    const access_list& access;   ///< who may be answered (--allow, --deny)
};

/// Answers each datagram with its transformed copy, sent to its sender, until the socket is
/// closed. Zero-length datagrams get zero-length answers. Datagrams from guarded source
/// ports (the server's own among them), or over a source's rate, are dropped, counted and
/// logged at most once per 10 s for all loops; send failures (say, an ICMP error
/// left by an earlier peer) are counted and do not end the loop. Run it on the socket's
/// executor; one loop per socket.
boost::asio::awaitable<void> run_udp_responder(boost::asio::ip::udp::socket& socket,
                                               const udp_env& env);

} // namespace asio_echo
