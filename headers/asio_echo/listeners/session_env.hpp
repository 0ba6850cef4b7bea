// SPDX-License-Identifier: BSL-1.0
#pragma once
// What every TCP session of a server shares, and the executors a session may run on.

#include <chrono>
#include <cstddef>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "asio_echo/cidr.hpp"
#include "asio_echo/connection_set.hpp"
#include "asio_echo/limits.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

class tls_credentials;

/// What the WebSocket sessions share (--websocket-*).
struct websocket_settings {
    std::size_t max_message = 1024 * 1024;              ///< larger messages: close 1009
    bool deflate = false;                               ///< permessage-deflate when offered
    std::chrono::milliseconds handshake_timeout{10000}; ///< longest the upgrade may take
};

/// The executors a session may run on: its thread's io_context, or a strand of an io_context
/// that several threads run. Concrete types, not any_io_executor: every frame, handler and
/// socket of an idle connection carries one, so they decide much of its memory.
using context_executor = boost::asio::io_context::executor_type;
using strand_executor = boost::asio::strand<context_executor>;

/// A TCP socket that runs on Executor.
template <class Executor>
using tcp_socket_on = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

/// What every session of a server shares. Outlives the sessions (owned by the server).
struct session_env {
    transform reply;                    ///< applied to each chunk before it is echoed
    std::size_t buffer_size;            ///< bytes read at most per read (a buffer per thread)
    stats& counters;                    ///< server-wide counters
    connection_set& connections;        ///< lets stop() close the session
    const access_list& access;          ///< who may connect (--allow, --deny)
    source_counts& per_source;          ///< open connections per client address
    const access_list& trusted_proxies; ///< who may send a PROXY header
    std::chrono::milliseconds proxy_header_timeout;         ///< longest wait for a whole header
    tls_credentials* tls = nullptr;                         ///< the TLS context, when TLS is served
    std::chrono::milliseconds tls_handshake_timeout{10000}; ///< longest a handshake may take
    websocket_settings websocket{};                         ///< for --websocket endpoints
};

} // namespace asio_echo
