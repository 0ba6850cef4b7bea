// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "asio_echo/errors.hpp"

namespace asio_echo {
namespace {

std::atomic<log_level> threshold{log_level::info};

std::string_view name_of(log_level level) {
    switch (level) {
    case log_level::error:
        return "error";
    case log_level::warn:
        return "warn";
    case log_level::notice:
        return "notice";
    case log_level::info:
        return "info";
    case log_level::debug:
        return "debug";
    }
    return "?";
}

std::string timestamp() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto seconds = system_clock::to_time_t(now);
    auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    return text;
}

/// syslog priority of a level, for journald's "<N>" line prefix.
int priority_of(log_level level) {
    switch (level) {
    case log_level::error:
        return 3;
    case log_level::warn:
        return 4;
    case log_level::notice:
        return 5;
    case log_level::info:
        return 6;
    case log_level::debug:
        return 7;
    }
    return 6;
}

/// True when stderr is the stream systemd connected to the journal: $JOURNAL_STREAM holds
/// "DEVICE:INODE" of that stream (a child that redirected stderr no longer matches).
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat info {};
    if (!stream || ::fstat(STDERR_FILENO, &info) != 0) {
        return false;
    }
    auto expected = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    return expected == stream;
}

} // namespace

log_level parse_log_level(std::string_view text) {
    for (auto level : {log_level::error, log_level::warn, log_level::notice, log_level::info,
                       log_level::debug}) {
        if (text == name_of(level)) {
            return level;
        }
    }
    throw usage_error("unknown log level '" + std::string(text) +
                      "' (expected error, warn, notice, info or debug)");
}

void set_log_level(log_level level) noexcept {
    threshold.store(level, std::memory_order_relaxed);
}

bool log_enabled(log_level level) noexcept {
    return level <= threshold.load(std::memory_order_relaxed);
}

void log(log_level level, std::string_view message) {
    if (!log_enabled(level)) {
        return;
    }
    static const bool journal = stderr_is_journal();
    static const bool terminal = !journal && ::isatty(STDERR_FILENO) == 1;
    std::string line;
    line.reserve(message.size() + 48);
    if (journal) {
        // journald reads the priority from the prefix and stamps the time itself.
        line += '<';
        line += static_cast<char>('0' + priority_of(level));
        line += '>';
    } else if (terminal) {
        line += timestamp();
        line += ' ';
    }
    if (!journal) {
        // journald already knows the level from the prefix.
        line += name_of(level);
        line += ": ";
    }
    line += message;
    line += '\n';
    // One write per line: atomic with respect to other threads' lines.
    std::size_t done = 0;
    while (done < line.size()) {
        auto n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) {
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string more_since(std::uint64_t n) {
    return n == 0 ? std::string() : " (" + std::to_string(n) + " more since the last line)";
}

std::optional<std::uint64_t> log_limiter::admit(clock::time_point now,
                                                std::uint64_t events) noexcept {
    auto at = now.time_since_epoch().count();
    if (at < next_.load(std::memory_order_acquire)) {
        held_.fetch_add(events, std::memory_order_relaxed);
        return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(admitting_);
    if (at < next_.load(std::memory_order_relaxed)) {
        held_.fetch_add(events, std::memory_order_relaxed); // another thread let it out
        return std::nullopt;
    }
    // Take the count before publishing the new period: an event counted by a thread that saw
    // the new period belongs to the next line, not to this one.
    auto held = held_.exchange(0, std::memory_order_relaxed);
    next_.store(at + period_.count(), std::memory_order_release);
    return held;
}

} // namespace asio_echo
