#pragma once
// Minimal levelled logging to stderr. Each line is written with one write(2), so lines from
// several threads never interleave; scripts and tests read the "listening ..." lines.

#include <string_view>

namespace asio_echo {

/// Severity, most severe first (so "level <= threshold" means "print it"), except notice: it
/// carries the lines scripts rely on ("listening tcp ..."), so every threshold but error
/// prints it.
enum class log_level { error, warn, notice, info, debug };

/// Parses error|warn|notice|info|debug; throws usage_error naming the value otherwise.
log_level parse_log_level(std::string_view text);

/// The lowest severity printed from now on. Thread safe.
void set_log_level(log_level level) noexcept;

/// True when a message of this level would be printed. Thread safe.
bool log_enabled(log_level level) noexcept;

/// Prints one line "LEVEL: message" on stderr: led by "<N>" (its syslog priority) when stderr
/// is journald's stream ($JOURNAL_STREAM), by a UTC timestamp when it is a terminal, by
/// nothing otherwise (a supervisor or test adds its own). Thread safe.
void log(log_level level, std::string_view message);

} // namespace asio_echo
