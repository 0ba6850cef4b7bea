// SPDX-License-Identifier: BSL-1.0
#pragma once
// How a server's TLS handshake ended, counted and logged the same way for every TLS session
// (--tls on OpenSSL's socket BIO, wss on Asio's ssl::stream under Beast's websocket::stream),
// and the wss one over ssl::stream, raced against --tls-handshake-timeout.

#include <atomic>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "asio_echo/connection_set.hpp"
#include "asio_echo/deadline.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/listeners/session_env.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"

namespace asio_echo {

/// "HOST:PORT" of the socket's peer, "?" when it is gone already.
template <class Socket>
std::string peer_of(const Socket& socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    return ec ? "?" : format_endpoint(remote.address(), remote.port());
}

/// Counts the outcome of a server handshake with peer (echo_tls_handshakes_total) and logs a
/// failure or a timeout at most once per 10 s each. ec and ssl describe a finished handshake;
/// timed_out one that did not end in time. True when it succeeded.
bool tls_handshake_outcome(const session_env& env, bool timed_out,
                           const boost::system::error_code& ec, SSL* ssl, const std::string& peer);

/// The handshake as a server, within env.tls_handshake_timeout: true when it succeeded
/// (handle touched), false when it failed or timed out (counted, logged). Run on the socket's
/// executor.
template <class Executor>
boost::asio::awaitable<bool, Executor>
accept_tls(boost::asio::ssl::stream<tcp_socket_on<Executor>&>& stream,
           tcp_socket_on<Executor>& socket, const session_env& env, session_handle& handle) {
    deadline_on<Executor> deadline(socket.get_executor(), env.tls_handshake_timeout);
    handle.reading.store(true, std::memory_order_relaxed);
    auto done = co_await before_deadline(
        stream.async_handshake(boost::asio::ssl::stream_base::server, racing<Executor>), deadline);
    handle.reading.store(false, std::memory_order_relaxed);
    boost::system::error_code ec;
    if (done) {
        std::tie(ec) = *done;
    }
    if (!tls_handshake_outcome(env, !done, ec, stream.native_handle(), peer_of(socket))) {
        co_return false;
    }
    handle.touch();
    co_return true;
}

} // namespace asio_echo
