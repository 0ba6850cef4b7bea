// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/metrics.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace asio_echo {

namespace {

// Taken during static initialisation, before main: the moment the program started, near enough.
const double started_at =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

/// Shortest text that reads back as the same double ("0.001", "1", "1.5e+20").
std::string number(double value) {
    char text[32];
    auto [end, ec] = std::to_chars(text, text + sizeof text, value);
    return ec == std::errc() ? std::string(text, end) : std::string("NaN");
}

/// A label value with \, " and newline escaped, as the format requires.
std::string escaped(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

/// Appends families: a HELP line, a TYPE line, then samples.
class exposition {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        text_.append(name);
        if (!labels.empty()) {
            text_.append("{").append(labels).append("}");
        }
        text_.append(" ").append(value).append("\n");
    }
    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        sample(name, labels, std::to_string(value));
    }
    /// One family with a single unlabelled sample.
    void single(std::string_view name, std::string_view type, std::string_view help,
                std::uint64_t value) {
        family(name, type, help);
        sample(name, {}, value);
    }
    /// One family with a sample per value of one label, in the order given.
    void labelled(std::string_view name, std::string_view type, std::string_view help,
                  std::string_view label,
                  std::initializer_list<std::pair<std::string_view, std::uint64_t>> samples) {
        family(name, type, help);
        for (auto [value, count] : samples) {
            sample(name, std::string(label) + "=\"" + std::string(value) + "\"", count);
        }
    }
    std::string take() { return std::move(text_); }

private:
    std::string text_;
};

} // namespace

double process_start_time_seconds() noexcept {
    return started_at;
}

std::string render_metrics(const stats_snapshot& s, const metrics_info& info) {
    exposition out;
    out.single("echo_connections_accepted_total", "counter", "TCP connections accepted.",
               s.connections_accepted);
    out.single("echo_connections_active", "gauge", "TCP sessions running now.",
               s.connections_active);
    out.single("echo_connection_limit_reached_total", "counter",
               "Times accepting paused at --max-connections.", s.connections_limited);
    out.single("echo_connections_timed_out_total", "counter",
               "TCP connections closed by --idle-timeout or --write-timeout.",
               s.connections_timed_out);
    out.labelled("echo_connections_refused_total", "counter",
                 "TCP connections closed at once, before anything was read.", "reason",
                 {{"denied", s.refused_denied}, {"per_source", s.refused_per_source}});
    out.labelled("echo_proxy_headers_total", "counter",
                 "PROXY protocol headers on --accept-proxy endpoints, by outcome.", "result",
                 {{"ok", s.proxy_ok},
                  {"malformed", s.proxy_malformed},
                  {"timeout", s.proxy_timeout},
                  {"untrusted", s.proxy_untrusted}});
    out.labelled("echo_tls_handshakes_total", "counter",
                 "TLS handshakes on --tls endpoints, by outcome.", "result",
                 {{"ok", s.tls_ok}, {"failed", s.tls_failed}, {"timeout", s.tls_timeout}});

    out.single("echo_websocket_messages_total", "counter", "WebSocket messages echoed.",
               s.websocket_messages);
    constexpr auto closes = "echo_websocket_closes_total";
    out.family(closes, "counter",
               "Ended WebSocket connections by the close code sent (1006: no close frame).");
    for (std::size_t i = 0; i < websocket_close_codes.size(); ++i) {
        out.sample(closes, "code=\"" + std::string(websocket_close_codes[i]) + "\"",
                   s.websocket_closes[i]);
    }

    out.labelled(
        "echo_bytes_received_total", "counter", "Payload bytes received.", "protocol",
        {{"tcp", s.tcp_bytes_in}, {"udp", s.udp_bytes_in}, {"websocket", s.websocket_bytes_in}});
    out.labelled(
        "echo_bytes_sent_total", "counter", "Payload bytes echoed back.", "protocol",
        {{"tcp", s.tcp_bytes_out}, {"udp", s.udp_bytes_out}, {"websocket", s.websocket_bytes_out}});

    out.single("echo_datagrams_received_total", "counter",
               "UDP datagrams received, dropped ones included.", s.datagrams_in);
    out.single("echo_datagrams_sent_total", "counter", "UDP datagrams answered.", s.datagrams_out);
    out.labelled("echo_datagrams_dropped_total", "counter", "UDP datagrams dropped unanswered.",
                 "reason",
                 {{"reflection_guard", s.dropped_guard},
                  {"rate_limit", s.dropped_rate},
                  {"oversize", s.dropped_oversize},
                  {"denied", s.dropped_denied}});
    out.single("echo_datagram_errors_total", "counter", "UDP receive or send failures.",
               s.datagram_errors);

    // Buckets are cumulative in the format; _count is their total, so it always equals +Inf.
    constexpr auto histogram = "echo_session_duration_seconds";
    out.family(histogram, "histogram", "Duration of ended TCP sessions.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < session_duration_buckets; ++i) {
        cumulative += s.sessions_by_duration[i];
        auto bound = i < session_duration_bounds.size() ? number(session_duration_bounds[i])
                                                        : std::string("+Inf");
        out.sample("echo_session_duration_seconds_bucket", "le=\"" + bound + "\"", cumulative);
    }
    out.sample("echo_session_duration_seconds_sum", {},
               number(static_cast<double>(s.session_microseconds) / 1e6));
    out.sample("echo_session_duration_seconds_count", {}, cumulative);

    out.family("echo_build_info", "gauge", "Always 1; the version is the label.");
    out.sample("echo_build_info", "version=\"" + escaped(info.version) + "\"", std::uint64_t{1});
    out.family("process_start_time_seconds", "gauge",
               "Start time of the process since the Unix epoch in seconds.");
    out.sample("process_start_time_seconds", {}, number(info.start_time_seconds));
    return out.take();
}

} // namespace asio_echo
