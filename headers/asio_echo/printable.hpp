// SPDX-License-Identifier: BSL-1.0
#pragma once
// User and system text made safe for a one-line message on a terminal or in the journal.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace asio_echo {

/// text with every byte outside printable ASCII (0x20 to 0x7e) written as \xNN: a newline
/// cannot start a fake line, an escape sequence cannot reach the terminal, a NUL cannot cut
/// the message short. Printable text comes back unchanged, so applying it twice is harmless.
std::string printable(std::string_view text);

/// A user's value for a message: printable(), cut after 200 bytes with "..." and in single
/// quotes ('value').
std::string quote(std::string_view value);

/// A timeout as the options give it: "5 s", or "1500 ms" when not whole seconds.
std::string seconds_text(std::chrono::milliseconds duration);

/// printable(message), cut in the middle (with "...") to at most limit bytes, so that both the
/// start (what failed) and the end (why) survive.
std::string printable_line(std::string_view message, std::size_t limit = 1000);

} // namespace asio_echo
