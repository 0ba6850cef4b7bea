// SPDX-License-Identifier: BSL-1.0
#pragma once
// The PROXY protocol header (HAProxy's, versions 1 and 2) that a load balancer sends before
// the client's bytes, parsed from the bytes a connection has received so far. Plain C++ over
// bytes: no sockets; unit tested at every split point and fuzzed.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace asio_echo::proxy {

/// v1 is one text line of at most 107 bytes, CRLF included (the specification's bound).
inline constexpr std::size_t max_v1_length = 107;
/// v2 is 16 bytes and a length-prefixed rest (addresses, TLVs); we take at most this much in
/// all, which any real proxy's header fits (addresses, a unique ID, TLS details).
inline constexpr std::size_t max_header_length = 4096;

/// A complete header.
struct header {
    int version = 0; ///< 1 or 2
    /// The client and the address it reached, as the proxy saw them. Absent for v1 UNKNOWN,
    /// v2 LOCAL (a proxy's own health check) and v2 UNSPEC: the connection's own addresses
    /// stand then.
    std::optional<boost::asio::ip::tcp::endpoint> source;
    std::optional<boost::asio::ip::tcp::endpoint> destination;
    std::size_t length = 0; ///< bytes the header took: the client's data starts after them
};

enum class outcome {
    need_more, ///< a valid beginning of a header: read more
    complete,  ///< see parsed::value
    malformed, ///< see parsed::problem: close the connection, echo nothing
};

struct parsed {
    outcome result = outcome::need_more;
    header value;             ///< when complete
    std::string_view problem; ///< when malformed: what is wrong, a static phrase
};

/// Parses a header (v1 or v2, told apart by the first bytes) at the start of received, every
/// byte the connection has received so far. Anything that is not a header's beginning is
/// malformed at once; a header is judged as soon as its bytes are there, so what follows it in
/// the same segment is the client's and is never looked at.
parsed parse(std::span<const unsigned char> received);

} // namespace asio_echo::proxy
