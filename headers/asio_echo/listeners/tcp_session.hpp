// SPDX-License-Identifier: BSL-1.0
#pragma once
// One coroutine per TCP connection: read, transform, write back, until EOF.

#include <boost/asio/awaitable.hpp>

#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// How a connection begins.
enum class tcp_kind {
    plain,   ///< the client's bytes at once (--listen, --tcp): a PROXY line is data
    proxied, ///< a PROXY protocol header first (--accept-proxy)
    tls,     ///< a TLS handshake first (--tls): run_tls_session
    ws,      ///< an HTTP upgrade first (--websocket): run_websocket_session
    wss,     ///< a TLS handshake, then an HTTP upgrade (--websocket-tls)
};

/// Echoes everything the peer sends until it half-closes (then shuts down the sending side,
/// so the peer reads every byte and then EOF) or an error ends the connection. Reads again
/// only once the previous chunk is written: a peer that never reads stalls only itself.
/// While waiting for the peer the session holds no buffer: it waits for readability, then
/// reads into its thread's buffer and writes the echo before it waits again; only a write
/// the peer cannot take at once keeps its unsent rest, on the heap.
/// A proxied session first takes the header (take_proxy_header) and holds the admission of
/// the client it names; a plain one was admitted by its accept loop.
/// Run it on the socket's executor (a strand when that io_context has several threads).
/// Defined for context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<void, Executor> run_tcp_session(tcp_socket_on<Executor> socket,
                                                       const session_env& env, tcp_kind kind);

} // namespace asio_echo
