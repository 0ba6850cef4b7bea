#pragma once
// Server-wide counters. Relaxed atomics: each is exact on its own, a snapshot is not a
// consistent cut across counters (good enough for logs, STATUS= and tests after quiescence).

#include <atomic>
#include <cstdint>

namespace asio_echo {

/// A copy of the counters at one moment. Plain value.
struct stats_snapshot {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_active = 0;
    std::uint64_t tcp_bytes_in = 0;
    std::uint64_t tcp_bytes_out = 0;
    std::uint64_t datagrams_in = 0;
    std::uint64_t datagrams_out = 0;
    std::uint64_t udp_bytes_in = 0;
    std::uint64_t udp_bytes_out = 0;
    std::uint64_t datagram_errors = 0;
};

/// Live counters, updated from every io thread. Thread safe.
struct stats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_active{0};
    std::atomic<std::uint64_t> tcp_bytes_in{0};
    std::atomic<std::uint64_t> tcp_bytes_out{0};
    std::atomic<std::uint64_t> datagrams_in{0};
    std::atomic<std::uint64_t> datagrams_out{0};
    std::atomic<std::uint64_t> udp_bytes_in{0};
    std::atomic<std::uint64_t> udp_bytes_out{0};
    std::atomic<std::uint64_t> datagram_errors{0};

    /// Reads every counter (relaxed). Thread safe.
    stats_snapshot snapshot() const noexcept;
};

/// Adds n to a counter without ordering: counters publish nothing else.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
}

} // namespace asio_echo
