// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/report.hpp"

#include <cmath>
#include <cstdio>

namespace asio_echo::client {

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte >= 0x7f) {
            // Bytes, not text: each non-ASCII byte stands for itself (as Latin-1 would).
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

void json_object::key(std::string_view name) {
    if (!body_.empty()) {
        body_ += ',';
    }
    body_ += json_quote(name);
    body_ += ':';
}

json_object& json_object::add(std::string_view name, std::string_view text) {
    key(name);
    body_ += json_quote(text);
    return *this;
}

json_object& json_object::add(std::string_view name, std::uint64_t number) {
    key(name);
    body_ += std::to_string(number);
    return *this;
}

json_object& json_object::add(std::string_view name, double number) {
    key(name);
    if (!std::isfinite(number)) {
        body_ += "null";
        return *this;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.3f", number);
    body_ += text;
    return *this;
}

json_object& json_object::add(std::string_view name, bool flag) {
    key(name);
    body_ += flag ? "true" : "false";
    return *this;
}

json_object& json_object::add(std::string_view name, const json_object& nested) {
    key(name);
    body_ += nested.str();
    return *this;
}

namespace {

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

double us(std::uint64_t nanoseconds) {
    return static_cast<double>(nanoseconds) / 1000.0;
}

/// p50, p90, p99 and max of h in microseconds.
json_object percentiles(const histogram& h) {
    json_object object;
    object.add("p50", us(h.percentile(50)))
        .add("p90", us(h.percentile(90)))
        .add("p99", us(h.percentile(99)))
        .add("max", us(h.max()));
    return object;
}

} // namespace

json_object to_json(const summary& s) {
    json_object latency;
    latency.add("p50", us(s.latency.percentile(50)))
        .add("p90", us(s.latency.percentile(90)))
        .add("p99", us(s.latency.percentile(99)))
        .add("p999", us(s.latency.percentile(99.9)))
        .add("max", us(s.latency.max()))
        .add("min", us(s.latency.min()))
        .add("mean", s.latency.mean() / 1000.0)
        .add("stddev", s.latency.stddev() / 1000.0);
    json_object object;
    object.add("mode", s.mode)
        .add("protocol", s.protocol)
        .add("target", s.target)
        .add("connections", s.connections)
        .add("size", s.size)
        .add("seconds", s.seconds)
        .add("messages", s.messages)
        .add("bytes", s.bytes)
        .add("errors", s.errors)
        .add("mismatches", s.mismatches)
        .add("msgs_per_sec", per_second(s.messages, s.seconds))
        .add("mb_per_sec", per_second(s.bytes, s.seconds) / 1e6)
        .add("latency_us", latency);
    if (s.handshake.count() > 0) {
        object.add("handshake_us", percentiles(s.handshake));
    }
    return object;
}

void add_reconnect_fields(json_object& object, const summary& s) {
    object.add("reconnect", true)
        .add("connections_made", s.connections_made)
        .add("connections_per_second", per_second(s.connections_made, s.seconds))
        .add("connect_us", percentiles(s.connect));
}

std::string format_ms(double nanoseconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", nanoseconds / 1e6);
    return text;
}

std::string format_load_text(const summary& s) {
    char line[256];
    std::string out;
    if (s.reconnect) {
        std::snprintf(line, sizeof line, "%llu connections in %.2f s: %.0f connections/s\n",
                      static_cast<unsigned long long>(s.connections_made), s.seconds,
                      per_second(s.connections_made, s.seconds));
        out += line;
    }
    std::snprintf(line, sizeof line, "%llu messages in %.2f s: %.0f msg/s, %.2f MB/s\n",
                  static_cast<unsigned long long>(s.messages), s.seconds,
                  per_second(s.messages, s.seconds), per_second(s.bytes, s.seconds) / 1e6);
    out += line;
    // Each message sent in the window is one of these: the sum is sent.
    std::snprintf(
        line, sizeof line, "sent %llu: received %llu, lost %llu, in flight %llu\n",
        static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.messages),
        static_cast<unsigned long long>(s.lost), static_cast<unsigned long long>(s.in_flight));
    out += line;
    std::snprintf(line, sizeof line, "errors %llu, mismatches %llu\n",
                  static_cast<unsigned long long>(s.errors),
                  static_cast<unsigned long long>(s.mismatches));
    out += line;
    const auto& h = s.latency;
    std::snprintf(line, sizeof line,
                  "latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                  us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(99)),
                  us(h.percentile(99.9)), us(h.max()));
    out += line;
    if (const auto& c = s.connect; s.reconnect) {
        std::snprintf(line, sizeof line, "connect us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                      us(c.percentile(50)), us(c.percentile(90)), us(c.percentile(99)),
                      us(c.max()));
        out += line;
    }
    if (const auto& tls = s.handshake; tls.count() > 0) {
        std::snprintf(line, sizeof line, "handshake us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                      us(tls.percentile(50)), us(tls.percentile(90)), us(tls.percentile(99)),
                      us(tls.max()));
        out += line;
    }
    return out;
}

} // namespace asio_echo::client
