// SPDX-License-Identifier: BSL-1.0
#pragma once
// Interactive mode: a prompt on a terminal, each line typed sent and its echo printed. The same
// loop, without the prompt, serves UDP input from a pipe (one datagram per line).

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// Reads stdin line by line; sends each line (with its '\n') and prints the reply on stdout.
/// prompt: show "> " on stderr before each line (stdin is a terminal). Returns at the end of
/// input (Ctrl-D). Throws unavailable_error (connect) and check_failed (no reply; under
/// --verify, a mismatch naming its offset).
void run_lines(const options& opts, bool prompt);

} // namespace asio_echo::client
