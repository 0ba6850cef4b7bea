// SPDX-License-Identifier: BSL-1.0
#pragma once
// GET /metrics over HTTP/1.1 (Boost.Beast): an accept loop and one coroutine per scrape
// connection, on the server's io_context pool. Bounded everywhere, so scrapers can never hold
// up echo traffic: a few connections at once, a deadline on every read and write, small
// requests only.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "asio_echo/connection_set.hpp"
#include "asio_echo/listeners/accept_loop.hpp"

namespace asio_echo {

/// Scrape connections served at once. A newcomer beyond them closes the connection that has
/// waited longest for a request (an idle keep-alive or a stalled header), so idle
/// connections can never lock scrapers out; when all are busy it is closed at once.
inline constexpr std::size_t max_metrics_connections = 8;

/// The most a request's header may hold (request line and fields); larger ones get 400.
inline constexpr std::size_t max_metrics_request_bytes = 8 * 1024;

/// How long a connection may wait for the first byte of a request (an idle keep-alive
/// connection stays open this long), and for each response to be written.
inline constexpr std::chrono::seconds metrics_io_timeout{5};

/// Time allowed for the rest of a request header once its first byte arrived.
inline constexpr std::chrono::seconds metrics_header_timeout{2};

/// What every scrape connection shares. Outlives them (owned by the server).
struct metrics_env {
    std::function<std::string()> render; ///< the exposition text now; called on any io thread
    connection_set& scrapes;             ///< bounds the scrape connections; stop() closes them
};

/// Accepts scrape connections until the acceptor is closed and serves each on the executor
/// pick() returns: GET or HEAD /metrics gets 200 and env.render() as
/// metrics_content_type; another path 404; another method 405; a malformed, oversized or
/// bodied request 400 and the connection closed. Keep-alive is honoured. Run it on the
/// acceptor's executor.
boost::asio::awaitable<void>
run_metrics_listener(boost::asio::ip::tcp::acceptor& acceptor,
                     executor_picker<boost::asio::any_io_executor> pick, const metrics_env& env);

} // namespace asio_echo
