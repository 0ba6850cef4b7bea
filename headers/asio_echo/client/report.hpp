// SPDX-License-Identifier: BSL-1.0
#pragma once
// What ping and load measured, and its text and JSON forms.

#include <cstdint>
#include <string>
#include <string_view>

#include "asio_echo/client/histogram.hpp"

namespace asio_echo::client {

/// The outcome of a ping or load run. Plain value.
struct summary {
    std::string mode;              ///< "ping" or "load"
    std::string protocol;          ///< "tcp" or "udp"
    std::string target;            ///< HOST:PORT as connected
    std::uint64_t connections = 0; ///< connections or UDP sockets used (at a time)
    std::uint64_t size = 0;        ///< message size, bytes
    std::uint64_t sent = 0;        ///< messages sent in the measured window
    std::uint64_t messages = 0;    ///< messages echoed and checked in the measured window
    std::uint64_t bytes = 0;       ///< bytes echoed in the measured window
    std::uint64_t errors = 0;      ///< connections failed (reset, closed early, send errors)
    std::uint64_t mismatches = 0;  ///< replies that differed from the expected bytes
    std::uint64_t lost = 0;        ///< never answered: UDP timeouts, owed on a failed connection
    std::uint64_t in_flight = 0;   ///< load: still owed when the run ended (not lost)
    double seconds = 0;            ///< length of the measured window
    histogram latency;             ///< round-trip times, nanoseconds
    histogram handshake;           ///< TLS handshake times, nanoseconds (empty without TLS)
    bool reconnect = false;        ///< load --reconnect: one message per connection
    std::uint64_t connections_made = 0; ///< --reconnect: begun in the window, echoed and closed
    histogram connect;                  ///< --reconnect: TCP connect + TLS handshake, nanoseconds
};

/// Builds one JSON object, field by field, in insertion order. Not thread safe.
class json_object {
public:
    json_object& add(std::string_view key, std::string_view text);
    json_object& add(std::string_view key, const char* text) {
        return add(key, std::string_view(text));
    }
    json_object& add(std::string_view key, std::uint64_t number);
    json_object& add(std::string_view key, double number);
    json_object& add(std::string_view key, bool flag);
    json_object& add(std::string_view key, const json_object& nested);

    /// The object as text, "{...}".
    std::string str() const { return "{" + body_ + "}"; }

private:
    void key(std::string_view name);
    std::string body_;
};

/// s as a JSON string literal, quotes included (control bytes and non-UTF-8 escaped as \u00XX).
std::string json_quote(std::string_view s);

/// The fields every summary has: mode, protocol, connections, messages, bytes, errors,
/// mismatches, msgs_per_sec, mb_per_sec, latency_us {p50, p90, p99, p999, max, min, mean};
/// over TLS also handshake_us {p50, p90, p99, max}.
json_object to_json(const summary& s);

/// Adds load --reconnect's fields to a load report: reconnect, connections_made,
/// connections_per_second, connect_us {p50, p90, p99, max}.
void add_reconnect_fields(json_object& object, const summary& s);

/// "12.345" milliseconds from nanoseconds, three decimals (as ping(8) prints).
std::string format_ms(double nanoseconds);

/// The load report as text, several lines, each ending in '\n'.
std::string format_load_text(const summary& s);

} // namespace asio_echo::client
