// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/stats.hpp"

#include <algorithm>

namespace asio_echo {

stats_snapshot stats::snapshot() const noexcept {
    auto get = [](const std::atomic<std::uint64_t>& c) {
        return c.load(std::memory_order_relaxed);
    };
    stats_snapshot s;
    s.connections_accepted = get(connections_accepted);
    s.connections_active = get(connections_active);
    s.connections_limited = get(connections_limited);
    s.connections_timed_out = get(connections_timed_out);
    s.refused_denied = get(refused_denied);
    s.refused_per_source = get(refused_per_source);
    s.proxy_ok = get(proxy_ok);
    s.proxy_malformed = get(proxy_malformed);
    s.proxy_timeout = get(proxy_timeout);
    s.proxy_untrusted = get(proxy_untrusted);
    s.tls_ok = get(tls_ok);
    s.tls_failed = get(tls_failed);
    s.tls_timeout = get(tls_timeout);
    s.websocket_messages = get(websocket_messages);
    s.websocket_bytes_in = get(websocket_bytes_in);
    s.websocket_bytes_out = get(websocket_bytes_out);
    for (std::size_t i = 0; i < websocket_closes.size(); ++i) {
        s.websocket_closes[i] = get(websocket_closes[i]);
    }
    s.tcp_bytes_in = get(tcp_bytes_in);
    s.tcp_bytes_out = get(tcp_bytes_out);
    s.datagrams_in = get(datagrams_in);
    s.datagrams_out = get(datagrams_out);
    s.udp_bytes_in = get(udp_bytes_in);
    s.udp_bytes_out = get(udp_bytes_out);
    s.dropped_guard = get(dropped_guard);
    s.dropped_rate = get(dropped_rate);
    s.dropped_oversize = get(dropped_oversize);
    s.dropped_denied = get(dropped_denied);
    s.datagram_errors = get(datagram_errors);
    for (std::size_t i = 0; i < session_duration_buckets; ++i) {
        s.sessions_by_duration[i] = get(sessions_by_duration[i]);
    }
    s.session_microseconds = get(session_microseconds);
    return s;
}

std::size_t websocket_close_index(unsigned code) noexcept {
    auto text = std::to_string(code);
    auto found = std::find(websocket_close_codes.begin(), websocket_close_codes.end() - 1, text);
    return static_cast<std::size_t>(found - websocket_close_codes.begin());
}

void stats::session_ended(std::chrono::steady_clock::duration lasted) noexcept {
    auto seconds = std::chrono::duration<double>(lasted).count();
    std::size_t bucket = 0;
    while (bucket < session_duration_bounds.size() && seconds > session_duration_bounds[bucket]) {
        ++bucket;
    }
    bump(sessions_by_duration[bucket]);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(lasted).count();
    bump(session_microseconds, static_cast<std::uint64_t>(std::max<decltype(micros)>(micros, 0)));
}

std::string stats_snapshot::to_line() const {
    std::string line;
    auto add = [&line](const char* key, std::uint64_t value) {
        if (!line.empty()) {
            line += ' ';
        }
        line += key;
        line += '=';
        line += std::to_string(value);
    };
    add("connections_accepted", connections_accepted);
    add("connections_active", connections_active);
    add("connections_limited", connections_limited);
    add("connections_timed_out", connections_timed_out);
    add("refused_denied", refused_denied);
    add("refused_per_source", refused_per_source);
    add("proxy_ok", proxy_ok);
    add("proxy_malformed", proxy_malformed);
    add("proxy_timeout", proxy_timeout);
    add("proxy_untrusted", proxy_untrusted);
    add("tls_ok", tls_ok);
    add("tls_failed", tls_failed);
    add("tls_timeout", tls_timeout);
    add("websocket_messages", websocket_messages);
    add("tcp_bytes_in", tcp_bytes_in);
    add("tcp_bytes_out", tcp_bytes_out);
    add("datagrams_in", datagrams_in);
    add("datagrams_out", datagrams_out);
    add("udp_bytes_in", udp_bytes_in);
    add("udp_bytes_out", udp_bytes_out);
    add("dropped_guard", dropped_guard);
    add("dropped_rate", dropped_rate);
    add("dropped_oversize", dropped_oversize);
    add("dropped_denied", dropped_denied);
    add("datagram_errors", datagram_errors);
    return line;
}

} // namespace asio_echo
