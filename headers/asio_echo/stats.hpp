// SPDX-License-Identifier: BSL-1.0
#pragma once
// Server-wide counters. Relaxed atomics: each is exact on its own, a snapshot is not a
// consistent cut across counters (good enough for logs, STATUS= and tests after quiescence).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace asio_echo {

/// Upper bounds, in seconds, of the TCP session-duration histogram's buckets; one more bucket
/// holds the sessions longer than the last bound. From a quick echo to the default idle timeout
/// (300 s) and beyond: an order of magnitude per bucket where most sessions end.
inline constexpr std::array<double, 8> session_duration_bounds = {0.001, 0.01, 0.1, 1,
                                                                  10,    60,   600, 3600};

/// Buckets of the session-duration histogram, the open-ended last one included.
inline constexpr std::size_t session_duration_buckets = session_duration_bounds.size() + 1;

/// The close codes WebSocket connections are counted by (what the server sent, or 1006 for
/// a connection that ended without a close frame), "other" for the rest.
inline constexpr std::array<std::string_view, 7> websocket_close_codes = {
    "1000", "1001", "1002", "1007", "1009", "1006", "other"};

/// The index of code in websocket_close_codes.
std::size_t websocket_close_index(unsigned code) noexcept;

/// A copy of the counters at one moment. Plain value.
struct stats_snapshot {
    std::uint64_t connections_accepted = 0;  ///< TCP connections accepted
    std::uint64_t connections_active = 0;    ///< TCP sessions running now
    std::uint64_t connections_limited = 0;   ///< times accepting paused at --max-connections
    std::uint64_t connections_timed_out = 0; ///< closed by --idle-timeout
    std::uint64_t refused_denied = 0;        ///< closed at once: source not allowed
    std::uint64_t refused_per_source = 0;    ///< closed at once: --max-connections-per-source
    std::uint64_t proxy_ok = 0;              ///< PROXY headers taken (--accept-proxy)
    std::uint64_t proxy_malformed = 0;       ///< closed: malformed, oversized or truncated header
    std::uint64_t proxy_timeout = 0;         ///< closed: no whole header in --proxy-header-timeout
    std::uint64_t proxy_untrusted = 0;       ///< closed at once: not from a --trusted-proxy
    std::uint64_t tls_ok = 0;                ///< TLS handshakes completed
    std::uint64_t tls_failed = 0;            ///< closed: TLS handshake failed
    std::uint64_t tls_timeout = 0;           ///< closed: no handshake in --tls-handshake-timeout
    std::uint64_t websocket_messages = 0;    ///< WebSocket messages echoed
    std::uint64_t websocket_bytes_in = 0;    ///< WebSocket payload bytes received
    std::uint64_t websocket_bytes_out = 0;   ///< WebSocket payload bytes echoed
    /// Ended WebSocket connections by close code, as websocket_close_codes.
    std::array<std::uint64_t, websocket_close_codes.size()> websocket_closes{};
    std::uint64_t tcp_bytes_in = 0;     ///< bytes read from TCP clients
    std::uint64_t tcp_bytes_out = 0;    ///< bytes written back to TCP clients
    std::uint64_t datagrams_in = 0;     ///< datagrams received
    std::uint64_t datagrams_out = 0;    ///< datagrams answered
    std::uint64_t udp_bytes_in = 0;     ///< payload bytes received
    std::uint64_t udp_bytes_out = 0;    ///< payload bytes answered
    std::uint64_t dropped_guard = 0;    ///< dropped: source port on the guard list
    std::uint64_t dropped_rate = 0;     ///< dropped: source over --udp-rate
    std::uint64_t dropped_oversize = 0; ///< dropped: larger than the receive buffer
    std::uint64_t dropped_denied = 0;   ///< dropped: source not allowed
    std::uint64_t datagram_errors = 0;  ///< receive or send failures
    /// Ended TCP sessions per duration bucket (not cumulative), as session_duration_bounds.
    std::array<std::uint64_t, session_duration_buckets> sessions_by_duration{};
    std::uint64_t session_microseconds = 0; ///< summed duration of the ended sessions

    /// "key=value" pairs on one line, for the --stats-interval log line.
    std::string to_line() const;
};

/// Live counters, updated from every io thread. Thread safe.
struct stats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_active{0};
    std::atomic<std::uint64_t> connections_limited{0};
    std::atomic<std::uint64_t> connections_timed_out{0};
    std::atomic<std::uint64_t> refused_denied{0};
    std::atomic<std::uint64_t> refused_per_source{0};
    std::atomic<std::uint64_t> proxy_ok{0};
    std::atomic<std::uint64_t> proxy_malformed{0};
    std::atomic<std::uint64_t> proxy_timeout{0};
    std::atomic<std::uint64_t> proxy_untrusted{0};
    std::atomic<std::uint64_t> tls_ok{0};
    std::atomic<std::uint64_t> tls_failed{0};
    std::atomic<std::uint64_t> tls_timeout{0};
    std::atomic<std::uint64_t> websocket_messages{0};
    std::atomic<std::uint64_t> websocket_bytes_in{0};
    std::atomic<std::uint64_t> websocket_bytes_out{0};
    std::array<std::atomic<std::uint64_t>, websocket_close_codes.size()> websocket_closes{};
    std::atomic<std::uint64_t> tcp_bytes_in{0};
    std::atomic<std::uint64_t> tcp_bytes_out{0};
    std::atomic<std::uint64_t> datagrams_in{0};
    std::atomic<std::uint64_t> datagrams_out{0};
    std::atomic<std::uint64_t> udp_bytes_in{0};
    std::atomic<std::uint64_t> udp_bytes_out{0};
    std::atomic<std::uint64_t> dropped_guard{0};
    std::atomic<std::uint64_t> dropped_rate{0};
    std::atomic<std::uint64_t> dropped_oversize{0};
    std::atomic<std::uint64_t> dropped_denied{0};
    std::atomic<std::uint64_t> datagram_errors{0};
    std::array<std::atomic<std::uint64_t>, session_duration_buckets> sessions_by_duration{};
    std::atomic<std::uint64_t> session_microseconds{0};

    /// Counts a TCP session that ended after lasting `lasted`: two relaxed additions. Thread
    /// safe.
    void session_ended(std::chrono::steady_clock::duration lasted) noexcept;

    /// Reads every counter (relaxed). Thread safe.
    stats_snapshot snapshot() const noexcept;
};

/// Adds n to a counter without ordering: counters publish nothing else.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
}

} // namespace asio_echo
