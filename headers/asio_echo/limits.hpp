// SPDX-License-Identifier: BSL-1.0
#pragma once
// Abuse limits that need no sockets: the UDP reflection guard, the per-source UDP rate limit
// and the per-source TCP connection count. Plain C++ over Asio address types, tested
// without a network.

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace asio_echo {

/// Source ports whose datagrams are dropped unanswered: port 0 and services that answer by
/// themselves (echo, chargen, DNS, NTP, ...), so that two such services cannot be made to
/// ping-pong for ever and our port cannot be aimed at them; and the server's own UDP ports,
/// added once bound. Not thread safe to change: add ports before the datagram loops start,
/// then it is read-only and thread safe to read.
class udp_port_guard {
public:
    /// The default list: 0, 7, 13, 17, 19, 37, 53, 123, 137, 138, 161, 162, 389, 1900, 5353,
    /// 11211.
    static const std::vector<std::uint16_t>& default_ports();

    /// Drops the given ports.
    explicit udp_port_guard(const std::vector<std::uint16_t>& ports = default_ports());

    /// True when a datagram from this source port must be dropped.
    bool drops(std::uint16_t source_port) const noexcept { return dropped_[source_port]; }

    /// Drops datagrams from one of this server's own UDP ports too: the same port on another
    /// host is another echo service (say, 9999 on both), and two of our own ports could
    /// answer each other. Call before the datagram loops start.
    void add_own_port(std::uint16_t port) noexcept {
        dropped_.set(port);
        own_.set(port);
    }

    /// True when port was added by add_own_port(), for the drop's reason.
    bool is_own_port(std::uint16_t port) const noexcept { return own_[port]; }

private:
    std::bitset<65536> dropped_; ///< one bit per port
    std::bitset<65536> own_;     ///< the server's own ports, a subset of dropped_
};

/// Parses --udp-drop-ports: "40000,40001" (comma and/or space separated) is the default list
/// and these ports; "none" alone is no port, "none,40000" only 40000. Sorted, no duplicates.
/// Throws usage_error naming the bad item, or the empty value.
std::vector<std::uint16_t> parse_port_list(std::string_view text);

/// Per-source-address token buckets in a fixed-size table: memory stays bounded whatever the
/// number of (possibly spoofed) sources, and no source ever gains from sharing it. Sources
/// are placed by a hash keyed at random per limiter (so nobody can aim at one set) into sets
/// of a few buckets; a newcomer takes a free bucket or a full one (its source owes nothing,
/// so forgetting it forgives nothing), and is refused while every bucket of its set holds a
/// debt. Not thread safe: one per UDP socket loop.
class udp_rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// rate datagrams per second per source, bursts of up to burst; table_size buckets in
    /// sets of 8 (fewer when the table is smaller).
    udp_rate_limiter(double rate, double burst, std::size_t table_size = 4096);

    /// Takes a token for source at now; false when its bucket is empty, or when it has none
    /// and none can be freed without forgiving a debt (drop the datagram).
    bool allow(const boost::asio::ip::address& source, clock::time_point now);

private:
    using key_type = std::array<unsigned char, 16>; ///< IPv6 bytes, or IPv4-mapped
    struct bucket {
        key_type key{};
        bool used = false;
        double tokens = 0;
        clock::time_point last{};
    };
    /// The bucket's tokens at now, refilled since its last use.
    double refilled(const bucket& b, clock::time_point now) const;
    std::uint64_t hash(const key_type& key) const noexcept;

    double rate_;
    double burst_;
    std::size_t ways_;                  ///< buckets per set
    std::size_t sets_;                  ///< table_.size() / ways_
    std::array<std::uint64_t, 2> seed_; ///< the hash key, random per limiter
    std::vector<bucket> table_;         ///< sets_ sets of ways_ buckets, set after set
};

/// Open TCP connections per client address, for --max-connections-per-source (xinetd's
/// per_source). An IPv4-mapped address counts as the IPv4 address it carries. Thread safe:
/// accept loops admit, sessions ending on any thread release; both are rare next to the
/// bytes a session moves, so one mutex is enough.
class source_counts {
public:
    /// limit connections per address; 0: no limit (admit() always succeeds, counts nothing).
    explicit source_counts(std::size_t limit) : limit_(limit) {}

    /// Counts one more connection from source; false (counting nothing) when it already
    /// holds limit.
    bool admit(const boost::asio::ip::address& source);

    /// One connection from source, admitted before, ended.
    void release(const boost::asio::ip::address& source);

    /// Connections from source now.
    std::size_t count(const boost::asio::ip::address& source) const;

    std::size_t limit() const noexcept { return limit_; }

private:
    using key_type = std::array<unsigned char, 16>; ///< IPv6 bytes, or IPv4-mapped
    struct key_hash {
        std::size_t operator()(const key_type& key) const noexcept;
    };
    static key_type key_of(const boost::asio::ip::address& source);

    std::size_t limit_;
    mutable std::mutex mutex_;
    std::unordered_map<key_type, std::size_t, key_hash> counts_; ///< only addresses above 0
};

} // namespace asio_echo
