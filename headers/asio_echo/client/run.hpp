// SPDX-License-Identifier: BSL-1.0
#pragma once
// Picks the mode from the parsed options and runs it.

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// Runs the command: one-shot with MESSAGE, interactive when stdin is a terminal, stream
/// otherwise (line by line over UDP), ping or load. Returns the exit code for a run whose
/// outcome was printed (load: 1 when errors or mismatches were seen). Throws usage_error,
/// unavailable_error or check_failed for main to print. Not thread safe.
int run(const options& opts);

} // namespace asio_echo::client
