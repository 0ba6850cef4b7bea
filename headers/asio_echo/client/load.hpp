#pragma once
// Load mode: many connections (or UDP sockets) echoing fixed-size messages as fast as replies
// allow or at a fixed total rate, every byte verified, latency in a histogram.

#include "asio_echo/client/options.hpp"
#include "asio_echo/client/report.hpp"

namespace asio_echo::client {

/// Runs the load as opts say (--connections, --size, --duration, --pipeline, --rate, --threads,
/// --warmup, --timeout: connect deadline, UDP loss deadline and end-of-run drain) and returns
/// what the measured window saw. On a terminal prints a progress line on stderr each second.
/// SIGINT/SIGTERM end the run early. Throws unavailable_error when a connection cannot be made.
/// Not thread safe: starts and joins its own threads.
summary run_load(const options& opts);

/// Prints s (text or, with --json, one JSON object) on stdout.
void print_load(const options& opts, const summary& s);

} // namespace asio_echo::client
