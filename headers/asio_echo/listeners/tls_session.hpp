// SPDX-License-Identifier: BSL-1.0
#pragma once
// One coroutine per TLS connection: the handshake within --tls-handshake-timeout, then the
// decrypted bytes echoed back, until the client's close_notify (TLS's half-close).

#include <boost/asio/awaitable.hpp>

#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// Echoes over TLS (tls_connection: OpenSSL on the socket itself, with the context env.tls
/// holds now): reads again only once the previous chunk is written (backpressure), at most
/// one TLS record (16 KiB) at a time. While waiting for the peer the session holds no buffer:
/// it waits for readability, then decrypts into its thread's buffer and writes the echo
/// before it waits again; only a record the peer cannot take at once keeps its bytes, on the
/// heap. A close_notify from the client is its half-close: everything read before it has
/// been echoed, then the session sends its own and closes. A TCP FIN without close_notify
/// ends the session as on TCP. A handshake that fails or does not end in time closes the
/// connection, counted (echo_tls_handshakes_total) and logged at most once per 10 s. Run it
/// on the socket's executor.
/// Defined for context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<void, Executor> run_tls_session(tcp_socket_on<Executor> socket,
                                                       const session_env& env);

} // namespace asio_echo
