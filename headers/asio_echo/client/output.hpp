// SPDX-License-Identifier: BSL-1.0
#pragma once
// Standard output that reports its failures: a report that could not be written (a full disk,
// a closed pipe) is a failed run, not a silent success.

#include <string_view>

namespace asio_echo::client {

/// Writes text to stdout now (after anything stdio still buffers), retrying writes a signal
/// interrupted. Throws output_error "cannot write to stdout: <reason>" when it cannot.
void write_out(std::string_view text);

/// printf into write_out.
void print_out(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// Flushes stdout; throws output_error when that, or an earlier write through stdio, failed.
void finish_out();

} // namespace asio_echo::client
