// SPDX-License-Identifier: BSL-1.0
#pragma once
// Ping mode: one probe at a time, a line per probe like ping(8), then a summary.

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// Sends --count probes of --size bytes, --interval apart, over one TCP connection or a UDP
/// socket; prints a line per probe and the summary (or one JSON object with --json) on stdout.
/// SIGINT/SIGTERM end it early, still with the summary. Throws unavailable_error (connect),
/// check_failed after the summary when no probe came back, a reply differed, or the server
/// closed the connection.
void run_ping(const options& opts);

} // namespace asio_echo::client
