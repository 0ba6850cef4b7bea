// SPDX-License-Identifier: BSL-1.0
#pragma once
// The echo server, composed of the rooms: binding turns the endpoints into bound sockets, a
// listener from listeners/ serves each, the io_pool runs them, service_status says READY=1, and
// lifecycle takes signals, reloads and drains.

#include <atomic>
#include <cstddef>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "asio_echo/binding.hpp"
#include "asio_echo/config.hpp"
#include "asio_echo/connection_set.hpp"
#include "asio_echo/io_pool.hpp"
#include "asio_echo/lifecycle.hpp"
#include "asio_echo/listeners/metrics_listener.hpp"
#include "asio_echo/listeners/tcp_session.hpp"
#include "asio_echo/listeners/udp_responder.hpp"
#include "asio_echo/service_status.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/tls_credentials.hpp"

namespace asio_echo {

/// An echo server. Lifecycle: construct, [handle_signals()], start(), then stop() from any
/// thread and wait(). The destructor stops and waits.
class server {
public:
    /// A server replying with the transform of config.echo_mode.
    explicit server(server_config config);
    /// A server replying with a transform of the embedder's own (config.echo_mode is ignored).
    server(server_config config, transform reply);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Makes SIGINT and SIGTERM call stop(), and SIGHUP re-read the log level from the config
    /// file. Throws std::system_error when the signals cannot be set up. Call before start().
    /// start() then blocks these signals in its calling thread and wait() unblocks them: the
    /// pool threads take them. Not thread safe.
    void handle_signals();

    /// Binds every endpoint (or adopts the sockets systemd passed, ignoring the configured
    /// endpoints) and starts serving; logs "listening tcp|udp HOST:PORT" for each, then tells
    /// the service manager READY=1 and keeps STATUS= and the watchdog fed. Throws
    /// unavailable_error naming the endpoint when one cannot be bound (nothing is left
    /// running), std::system_error when threads cannot start. Not thread safe.
    void start();

    /// Graceful stop: closes the UDP sockets at once; each TCP listener accepts the
    /// connections waiting in its backlog, then closes (one systemd passed closes at once,
    /// leaving its backlog to systemd); then lets the TCP sessions finish for up to
    /// drain_timeout (a session waiting to read that received nothing for a second, or for
    /// drain_timeout if shorter, is closed: it has nothing in flight), then closes the rest. The
    /// threads return once all coroutines ended. Idempotent. Thread safe, also from a pool thread.
    void stop();

    /// stop(), and close every connection now (ends a drain at once). Thread safe.
    void stop_now();

    /// Blocks until every thread returned (after stop()). Not from a pool thread.
    void wait();

    /// The bound TCP endpoints, real ports included, in configuration order (--listen first).
    /// Valid after start(). Thread safe.
    const std::vector<boost::asio::ip::tcp::endpoint>& tcp_endpoints() const {
        return sockets_.tcp_endpoints;
    }

    /// The bound --accept-proxy endpoints, as tcp_endpoints(). Thread safe after start().
    const std::vector<boost::asio::ip::tcp::endpoint>& proxy_endpoints() const {
        return sockets_.proxy_endpoints;
    }

    /// The bound --tls endpoints, as tcp_endpoints(). Thread safe after start().
    const std::vector<boost::asio::ip::tcp::endpoint>& tls_endpoints() const {
        return sockets_.tls_endpoints;
    }

    /// The bound --websocket (ws) and --websocket-tls (wss) endpoints, as tcp_endpoints().
    /// Thread safe after start().
    const std::vector<boost::asio::ip::tcp::endpoint>& ws_endpoints() const {
        return sockets_.ws_endpoints;
    }
    const std::vector<boost::asio::ip::tcp::endpoint>& wss_endpoints() const {
        return sockets_.wss_endpoints;
    }

    /// Re-reads the TLS certificate, key and client CA, as SIGHUP does: true when new
    /// connections use them now. False without TLS. Thread safe.
    bool reload_tls() { return tls_ && tls_->reload(); }

    /// The bound UDP endpoints, as tcp_endpoints(). Thread safe after start().
    const std::vector<boost::asio::ip::udp::endpoint>& udp_endpoints() const {
        return sockets_.udp_endpoints;
    }

    /// Where GET /metrics is served (the real port), if anywhere. Thread safe after start().
    const std::optional<boost::asio::ip::tcp::endpoint>& metrics_endpoint() const {
        return sockets_.metrics_endpoint;
    }

    /// The counters now. Thread safe.
    stats_snapshot counters() const { return counters_.snapshot(); }

    /// The number of open TCP connections. Thread safe.
    std::size_t connections() const { return connections_.size(); }

private:
    void spawn_listeners();
    void spawn_accept_loop(boost::asio::ip::tcp::acceptor& acceptor, tcp_kind kind);
    void schedule_housekeeping();

    server_config config_;                 ///< as given
    stats counters_;                       ///< shared by every session and loop
    connection_set connections_;           ///< live sessions, for stop()
    udp_port_guard guard_;                 ///< source ports never answered
    access_list access_;                   ///< who may use the service
    source_counts per_source_;             ///< TCP connections per client address
    access_list trusted_proxies_;          ///< who may send a PROXY header (empty: anyone)
    std::unique_ptr<tls_credentials> tls_; ///< the TLS context, when a certificate is given
    session_env env_;                      ///< what sessions share
    udp_env udp_env_;                      ///< what datagram loops share
    connection_set scrapes_;               ///< open /metrics connections
    metrics_env metrics_env_;              ///< what scrape connections share
    io_pool pool_;                         ///< threads and io_contexts
    bound_sockets sockets_;                ///< every listening socket, after start()
    /// Signals, drain, timers and status reports run here: one strand, never concurrently.
    boost::asio::strand<boost::asio::io_context::executor_type> housekeeping_;
    std::atomic<std::size_t> accept_loops_{0}; ///< TCP accept loops still running
    service_status status_; ///< READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1
    lifecycle lifecycle_;   ///< signals, reload, housekeeping timers, drain
};

} // namespace asio_echo
