// SPDX-License-Identifier: BSL-1.0
#pragma once
// Endpoints -> bound sockets: the configured endpoints bound and listening (one port for both
// protocols for HOST:0, one copy per io_context under reuse-port), or the sockets the service
// manager passed. A new listener kind adds its sockets here and its binding in binding.cpp.

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/config.hpp"
#include "asio_echo/io_pool.hpp"

namespace asio_echo {

/// Every socket a server listens on, each on the io_context that will run it, and the
/// endpoints they are bound to (real ports included). Owned by the server. The vectors do
/// not change once bind_endpoints() returned, so the const members are thread safe.
struct bound_sockets {
    /// Echo listeners: one per TCP endpoint, one per io_context each under reuse-port.
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> tcp;
    /// Echo listeners behind a load balancer (--accept-proxy): each connection starts with a
    /// PROXY header. As tcp.
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> proxy;
    /// Echo over TLS (--tls). As tcp.
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> tls;
    /// WebSocket echo (--websocket) and over TLS (--websocket-tls). As tcp.
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> ws;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> wss;
    /// Echo datagram sockets, as tcp.
    std::vector<std::unique_ptr<boost::asio::ip::udp::socket>> udp;
    /// GET /metrics, if on.
    std::unique_ptr<boost::asio::ip::tcp::acceptor> metrics;

    std::vector<boost::asio::ip::tcp::endpoint> tcp_endpoints;   ///< one per TCP endpoint, in order
    std::vector<boost::asio::ip::tcp::endpoint> proxy_endpoints; ///< one per --accept-proxy
    std::vector<boost::asio::ip::tcp::endpoint> tls_endpoints;   ///< one per --tls
    std::vector<boost::asio::ip::tcp::endpoint> ws_endpoints;    ///< one per --websocket
    std::vector<boost::asio::ip::tcp::endpoint> wss_endpoints;   ///< one per --websocket-tls
    std::vector<boost::asio::ip::udp::endpoint> udp_endpoints;   ///< one per UDP endpoint, in order
    std::optional<boost::asio::ip::tcp::endpoint> metrics_endpoint; ///< where metrics are served
    bool socket_activated = false; ///< the sockets came from the service manager

    /// Stops listening, each socket closed on its own executor so the close never races its
    /// operations: the UDP and metrics sockets close at once; our own TCP listeners first
    /// accept what waits in their backlog, then close themselves; ones systemd passed close
    /// at once, leaving their backlog to systemd for the next start. Thread safe.
    void stop_listening() const;

    /// Every TCP listener kind, for what is done to all of them.
    auto tcp_kinds() const { return std::array{&tcp, &proxy, &tls, &ws, &wss}; }

    /// Closes the TCP listeners still open, PROXY ones included (clients arriving when the
    /// drain's deadline passed). Thread safe.
    void close_tcp() const;
};

/// Binds every endpoint in config, in order (--listen, --tcp, --accept-proxy, --tls,
/// --websocket, --websocket-tls, --udp, --metrics) onto pool's io_contexts; or, when the service
/// manager passed sockets, adopts those and ignores the configured endpoints. Throws
/// unavailable_error naming the endpoint when one cannot be resolved or bound (nothing stays
/// bound), usage_error for malformed LISTEN_* variables. Not thread safe.
bound_sockets bind_endpoints(const server_config& config, io_pool& pool);

/// Logs "listening tcp|udp|metrics HOST:PORT" for each bound endpoint, in order, PROXY ones as
/// "listening tcp HOST:PORT accept-proxy", TLS ones as "listening tls HOST:PORT", WebSocket
/// ones as "listening ws|wss HOST:PORT".
void log_listening(const bound_sockets& sockets);

} // namespace asio_echo
