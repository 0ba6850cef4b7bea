// SPDX-License-Identifier: BSL-1.0
#pragma once
// IP networks ("10.0.0.0/8", "2001:db8::/32", a bare address for one host) and the allow/deny
// lists built from them. Plain values: no sockets, no executors; tested without a network.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "asio_echo/errors.hpp"

namespace asio_echo {

/// An IPv4 or IPv6 network: the address with its host bits zero, and the prefix length.
struct network {
    boost::asio::ip::address base;
    unsigned prefix = 0; ///< 0-32 for IPv4, 0-128 for IPv6

    friend bool operator==(const network&, const network&) = default;
};

/// Parses "ADDRESS/PREFIX" or a bare "ADDRESS" (a /32 or /128). An IPv4-mapped IPv6 network
/// (::ffff:10.0.0.0/104) is the IPv4 network it maps (10.0.0.0/8), as the sources it is
/// matched against are. Throws usage_error naming the value and the problem: not an address,
/// a prefix out of range, host bits set beyond the prefix.
network parse_network(std::string_view text);

/// The same without throwing: nothing, with why set to the problem ("prefix length 40 is out
/// of range 0-32"), for callers that name the option themselves.
std::optional<network> parse_network(std::string_view text, std::string& why);

/// "10.0.0.0/8", "2001:db8::/32": the form parse_network reads.
std::string format_network(const network& net);

/// Whether address lies in net. An IPv4-mapped IPv6 address is judged as the IPv4 address it
/// carries; IPv4 never matches an IPv6 network and the other way round.
bool contains(const network& net, const boost::asio::ip::address& address);

/// Who may use the service: a source in any deny network is refused; when allow is not empty,
/// only sources in one of its networks are served. Deny wins. A linear scan: a few hundred
/// networks cost well under a microsecond per lookup, far below an accept.
class access_list {
public:
    access_list() = default;
    access_list(std::vector<network> allow, std::vector<network> deny);

    /// Whether source may be served.
    bool permits(const boost::asio::ip::address& source) const;

    /// No rule at all: everyone is served (the lookup is skipped).
    bool empty() const { return allow_.empty() && deny_.empty(); }

private:
    std::vector<network> allow_;
    std::vector<network> deny_;
};

} // namespace asio_echo
