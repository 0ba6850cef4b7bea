// SPDX-License-Identifier: BSL-1.0
#pragma once
// Stream mode over WebSocket: stdin out as binary messages, their echoes to stdout.

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// Reads stdin in chunks of at most 64 KiB, sends each as one binary message over the ws:// or
/// wss:// connection, and writes the message that comes back to stdout (under --verify checked
/// against the chunk, naming the offset of a difference), one message in flight: memory stays
/// bounded whatever the input. At the end of input, the closing handshake. Throws
/// unavailable_error when the connection cannot be made, check_failed when an echo does not
/// come within --timeout, differs, or the server closes first.
void run_ws_stream(const options& opts);

} // namespace asio_echo::client
