#pragma once
// Abuse limits that need no sockets: the UDP reflection guard and the per-source UDP rate
// limit. Plain C++ over Asio address types, tested without a network.

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace asio_echo {

/// Source ports whose datagrams are dropped unanswered: port 0 and services that answer by
/// themselves (echo, chargen, DNS, NTP, ...), so that two such services cannot be made to
/// ping-pong for ever and our port cannot be aimed at them. Immutable after construction;
/// thread safe to read.
class udp_port_guard {
public:
    /// The default list: 0, 7, 13, 17, 19, 37, 53, 123, 137, 138, 161, 162, 389, 1900, 5353,
    /// 11211.
    static const std::vector<std::uint16_t>& default_ports();

    /// Drops the given ports.
    explicit udp_port_guard(const std::vector<std::uint16_t>& ports = default_ports());

    /// True when a datagram from this source port must be dropped.
    bool drops(std::uint16_t source_port) const noexcept { return dropped_[source_port]; }

private:
    std::bitset<65536> dropped_; ///< one bit per port
};

/// Parses --udp-drop-ports: "40000,40001" (comma and/or space separated) is the default list
/// and these ports; "none" alone is no port, "none,40000" only 40000. Sorted, no duplicates.
/// Throws usage_error naming the bad item, or the empty value.
std::vector<std::uint16_t> parse_port_list(std::string_view text);

/// Per-source-address token buckets in a fixed-size table: memory stays bounded whatever the
/// number of (possibly spoofed) sources; a source whose slot is taken over by another starts
/// again with a full bucket. Not thread safe: one per UDP socket loop.
class udp_rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// rate datagrams per second per source, bursts of up to burst; table_size slots.
    udp_rate_limiter(double rate, double burst, std::size_t table_size = 4096);

    /// Takes a token for source at now; false when its bucket is empty (drop the datagram).
    bool allow(const boost::asio::ip::address& source, clock::time_point now);

private:
    struct bucket {
        std::array<unsigned char, 16> key{}; ///< IPv6 bytes, or IPv4-mapped
        bool used = false;
        double tokens = 0;
        clock::time_point last{};
    };
    double rate_;
    double burst_;
    std::vector<bucket> table_;
};

} // namespace asio_echo
