// SPDX-License-Identifier: BSL-1.0
#pragma once
// Resolving and connecting, with a deadline, for every client mode.

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/endpoint.hpp"

namespace asio_echo::client {

/// Seconds as a steady-clock duration (rounded to microseconds).
std::chrono::steady_clock::duration to_duration(double seconds);

/// Resolves where (IP literal or name) and connects a TCP socket with TCP_NODELAY, trying each
/// address until one answers, all within timeout. Throws unavailable_error such as
/// "cannot connect to 127.0.0.1:9: Connection refused". Run on the io_context's thread.
boost::asio::awaitable<boost::asio::ip::tcp::socket>
connect_tcp(const endpoint& where, std::chrono::steady_clock::duration timeout);

/// Resolves where and returns a UDP socket connected to its first address (so it receives only
/// that peer's datagrams). Throws unavailable_error when the name does not resolve.
boost::asio::awaitable<boost::asio::ip::udp::socket>
connect_udp(const endpoint& where, std::chrono::steady_clock::duration timeout);

/// Runs the coroutine on io to its end and rethrows what it threw. Not thread safe: the calling
/// thread runs io.
void run_blocking(boost::asio::io_context& io, boost::asio::awaitable<void> work);

} // namespace asio_echo::client
