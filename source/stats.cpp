#include "asio_echo/stats.hpp"

namespace asio_echo {

stats_snapshot stats::snapshot() const noexcept {
    auto get = [](const std::atomic<std::uint64_t>& c) {
        return c.load(std::memory_order_relaxed);
    };
    stats_snapshot s;
    s.connections_accepted = get(connections_accepted);
    s.connections_active = get(connections_active);
    s.tcp_bytes_in = get(tcp_bytes_in);
    s.tcp_bytes_out = get(tcp_bytes_out);
    s.datagrams_in = get(datagrams_in);
    s.datagrams_out = get(datagrams_out);
    s.udp_bytes_in = get(udp_bytes_in);
    s.udp_bytes_out = get(udp_bytes_out);
    s.datagram_errors = get(datagram_errors);
    return s;
}

} // namespace asio_echo
