// SPDX-License-Identifier: BSL-1.0
#pragma once
// HOST:PORT parsing and formatting, shared by the server, the client and the tests.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "asio_echo/errors.hpp"

namespace asio_echo {

/// An endpoint as the user wrote it: a host (IP literal or name) and a port.
/// Plain value type; thread safe as any value.
struct endpoint {
    std::string host;   ///< "127.0.0.1", "::1" (without brackets) or a name
    std::uint16_t port; ///< 0 asks the kernel for a free port

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Parses "HOST:PORT" or "[IPV6]:PORT"; throws usage_error naming the value (and option, the
/// long option it was given to, when not empty) otherwise.
endpoint parse_endpoint(std::string_view text, std::string_view option = {});

/// Formats an address and port as "1.2.3.4:80" or "[::1]:80" (the form parse_endpoint reads).
std::string format_endpoint(const boost::asio::ip::address& address, std::uint16_t port);

/// Formats a parsed endpoint back to text, bracketing IPv6 hosts.
std::string format_endpoint(const endpoint& ep);

} // namespace asio_echo
