// SPDX-License-Identifier: BSL-1.0
#pragma once
// Load mode: many connections (or UDP sockets) echoing fixed-size messages as fast as replies
// allow or at a fixed total rate, every byte verified, latency in a histogram.

#include "asio_echo/client/options.hpp"
#include "asio_echo/client/report.hpp"

namespace asio_echo::client {

/// Runs the load as opts say (--connections, --size, --duration, --pipeline, --rate, --threads,
/// --warmup, --timeout: connect deadline, UDP loss deadline, and at most 1 s, the grace for
/// replies owed at the end), prints the report (print_load) and returns it. On a terminal
/// prints a progress line on stderr each second. The first SIGINT/SIGTERM ends the run early;
/// further ones end the grace, and none can cut the report (once it is out, SIGINT and
/// SIGTERM stay blocked in the calling thread: the process is about to exit with its verdict).
/// With --reconnect each connection carries one message and is replaced (reconnect.hpp).
/// Throws unavailable_error when a connection cannot be made, os_failure when the descriptor limit
/// is reached or, under --reconnect, no local port is free (mid-run: after printing the report
/// so far). Not thread safe: starts and joins its own threads.
summary run_load(const options& opts);

/// Prints s (text or, with --json, one JSON object) on stdout; throws output_error.
void print_load(const options& opts, const summary& s);

} // namespace asio_echo::client
