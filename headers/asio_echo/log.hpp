// SPDX-License-Identifier: BSL-1.0
#pragma once
// Minimal levelled logging to stderr. Each line is written with one write(2), so lines from
// several threads never interleave; scripts and tests read the "listening ..." lines.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace asio_echo {

/// Severity, most severe first, in syslog's order: a threshold prints its own level and every
/// more severe one ("level <= threshold"), nothing else.
enum class log_level {
    error,  ///< something failed: a session, a reload
    warn,   ///< abuse or trouble worth a look: limits reached, datagrams dropped
    notice, ///< once per event: listening, reload, drain, stop
    info,   ///< periodic: --stats-interval lines
    debug,  ///< per connection
};

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

/// " (N more since the last line)", or "" when n is 0.
std::string more_since(std::uint64_t n);

/// At most one line per period from one call site (a static beside the log call), for every
/// line that traffic can trigger: the lines held back are counted, and the next one that
/// goes out says how many. Thread safe; lock-free while it holds lines back.
class log_limiter {
public:
    using clock = std::chrono::steady_clock;

    explicit log_limiter(clock::duration period = std::chrono::seconds(10)) noexcept
        : period_(period) {}

    /// `events` more events at now. When a line may go out (none did in the last period),
    /// returns how many events were held back since the last line; otherwise counts these
    /// and returns nothing.
    std::optional<std::uint64_t> admit(clock::time_point now = clock::now(),
                                       std::uint64_t events = 1) noexcept;

    /// Logs make_message() + more_since(held) through admit(); make_message runs only when
    /// the line goes out, and nothing is counted when the level is not printed.
    template <class MakeMessage>
    void log(log_level level, MakeMessage&& make_message, clock::time_point now = clock::now()) {
        if (!log_enabled(level)) {
            return;
        }
        if (auto held = admit(now)) {
            asio_echo::log(level, std::string(make_message()) + more_since(*held));
        }
    }

private:
    clock::duration period_;
    std::atomic<clock::rep> next_{std::numeric_limits<clock::rep>::min()}; ///< no line before
    std::atomic<std::uint64_t> held_{0}; ///< events held back since the last line
    std::mutex admitting_;               ///< one thread at a time lets a line out
};

} // namespace asio_echo
