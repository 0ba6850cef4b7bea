// SPDX-License-Identifier: BSL-1.0
#pragma once
// Load over WebSocket: many ws:// or wss:// connections, each a closed loop of one binary
// message of --size bytes and its echo, every byte verified, the round trips in a histogram.

#include "asio_echo/client/options.hpp"
#include "asio_echo/client/report.hpp"

namespace asio_echo::client {

/// Runs the load as opts say (--connections, --size, --duration, --threads, --warmup,
/// --timeout: the connect deadline and the longest wait for an echo): each connection opens
/// (TLS handshake and upgrade timed into the summary's handshake histogram), then sends a
/// message, reads its echo, and sends the next, until the duration ends; messages whose round
/// trip ended in the measured window count. Prints the report (print_load) and returns it.
/// Throws unavailable_error when a connection cannot be made. Not thread safe: starts and
/// joins its own threads.
summary run_ws_load(const options& opts);

} // namespace asio_echo::client
