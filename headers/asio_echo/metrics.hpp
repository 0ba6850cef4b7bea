// SPDX-License-Identifier: BSL-1.0
#pragma once
// The counters as Prometheus text exposition (format 0.0.4): what GET /metrics returns.
// Plain C++: rendering is tested without sockets; metrics_listener.hpp serves it over HTTP.

#include <string>
#include <string_view>

#include "asio_echo/stats.hpp"

namespace asio_echo {

/// The Content-Type of the exposition format, as Prometheus' own clients send it.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// What the exposition says besides the counters. Plain value.
struct metrics_info {
    std::string version;             ///< echo_build_info{version="..."}
    double start_time_seconds = 0.0; ///< process_start_time_seconds (Unix time)
};

/// The Unix time at which this process started (taken while the program loads). Thread safe.
double process_start_time_seconds() noexcept;

/// Every counter of `counters`, the session-duration histogram, echo_build_info and
/// process_start_time_seconds, each family led by its # HELP and # TYPE lines; ends with a
/// newline. Thread safe (pure).
std::string render_metrics(const stats_snapshot& counters, const metrics_info& info);

} // namespace asio_echo
