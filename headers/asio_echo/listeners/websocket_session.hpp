// SPDX-License-Identifier: BSL-1.0
#pragma once
// One coroutine per connection of a WebSocket endpoint (--websocket, --websocket-tls): the
// HTTP upgrade within its deadline, then every message echoed as one message of the same
// kind. A plain GET / gets the page that tries it in a browser.

#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// Serves one connection: over TLS first when secure (the handshake as run_tls_session's). Reads
/// one HTTP request within env.websocket.handshake_timeout; an upgrade becomes a WebSocket
/// (Beast's websocket::stream: masking, fragments, ping/pong, UTF-8 checks and the close
/// handshake are Beast's), GET or HEAD of / gets the try-it page, anything else 404 or 405.
/// Each message, whatever its fragments, comes back whole with its opcode and the transform
/// applied; the next is read only once it is written. Messages over env.websocket.max_message
/// are refused with close 1009, invalid UTF-8 with 1007, protocol errors with 1002; a close
/// frame is answered with its code. The registry's first close() (drain, idle timeout) sends
/// close 1001 and waits for the peer's close; a second one cuts the connection. Run it on the
/// socket's executor. Defined for context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<void, Executor> run_websocket_session(tcp_socket_on<Executor> socket,
                                                             const session_env& env, bool secure);

/// The try-it page: self-contained HTML (no external scripts or fonts) that opens a WebSocket
/// to the host, port and scheme it was loaded from. With ?selftest=N it sends N messages by
/// itself and writes the outcome into the element with id "selftest" (for headless tests).
std::string_view websocket_page() noexcept;

} // namespace asio_echo
