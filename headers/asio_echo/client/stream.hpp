// SPDX-License-Identifier: BSL-1.0
#pragma once
// Stream mode: stdin -> server -> stdout, full duplex, binary safe, bounded memory.

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// Copies stdin to a TCP connection and the connection to stdout at the same time; at the end
/// of stdin half-closes and returns once every byte came back and the server closed. Memory
/// stays bounded: with --verify at most 4 MiB of sent-but-unechoed bytes are kept (the upload
/// waits), without it only two 64 KiB buffers. Throws unavailable_error (connect),
/// check_failed (the server closed early, more or fewer bytes came back, no reply within
/// --timeout after stdin ended, or under --verify a mismatch, naming its offset).
void run_stream(const options& opts);

} // namespace asio_echo::client
