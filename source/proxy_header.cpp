// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/proxy_header.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>

namespace asio_echo::proxy {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::tcp;

constexpr std::string_view v1_signature = "PROXY ";
constexpr std::array<unsigned char, 12> v2_signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                        0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

parsed need_more() {
    return {};
}
parsed malformed(std::string_view problem) {
    return {outcome::malformed, {}, problem};
}
parsed complete(header value) {
    return {outcome::complete, std::move(value), {}};
}

/// Whether received starts like signature (as far as it goes).
template <typename Signature>
bool starts_like(std::span<const unsigned char> received, const Signature& signature) {
    auto n = std::min(received.size(), signature.size());
    return std::equal(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(n),
                      signature.begin(),
                      [](unsigned char a, auto b) { return a == static_cast<unsigned char>(b); });
}

/// A decimal port: 0-65535, no sign, no leading zero.
std::optional<std::uint16_t> v1_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || text.size() > 5 || ec != std::errc{} || end != text.data() + text.size() ||
        (text.size() > 1 && text.front() == '0') || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

/// An address of the family the line names, in its plain form (no zone, no brackets).
std::optional<address> v1_address(std::string_view text, bool v6) {
    auto allowed =
        v6 ? std::string_view("0123456789abcdefABCDEF:.") : std::string_view("0123456789.");
    if (text.empty() || text.find_first_not_of(allowed) != std::string_view::npos) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    address a = v6 ? address(boost::asio::ip::make_address_v6(std::string(text), ec))
                   : address(boost::asio::ip::make_address_v4(std::string(text), ec));
    if (ec) {
        return std::nullopt;
    }
    return a;
}

/// "PROXY TCP4 SRC DST SPORT DPORT\r\n", "PROXY TCP6 ...", "PROXY UNKNOWN[ anything]\r\n".
parsed parse_v1(std::span<const unsigned char> received) {
    std::string_view text(reinterpret_cast<const char*>(received.data()),
                          std::min(received.size(), max_v1_length));
    auto cr = text.find('\r');
    auto lf = text.find('\n');
    if (lf != std::string_view::npos && (cr == std::string_view::npos || lf != cr + 1)) {
        return malformed("v1: a line feed without the carriage return before it");
    }
    if (cr == std::string_view::npos || cr + 1 == text.size()) {
        if (text.size() == max_v1_length) {
            return malformed("v1: no CRLF within 107 bytes");
        }
        return need_more();
    }
    if (lf == std::string_view::npos) {
        return malformed("v1: a carriage return without the line feed after it");
    }
    header h;
    h.version = 1;
    h.length = cr + 2;
    auto line = text.substr(v1_signature.size(), cr - v1_signature.size());
    // Fields split at single spaces; the specification allows exactly one between fields.
    std::array<std::string_view, 6> fields;
    std::size_t count = 0;
    while (count < fields.size()) {
        auto space = line.find(' ');
        fields[count++] = line.substr(0, space);
        if (space == std::string_view::npos) {
            break;
        }
        line.remove_prefix(space + 1);
    }
    if (fields[0] == "UNKNOWN") {
        // The proxy does not know the client's address: whatever follows is to be ignored.
        return complete(h);
    }
    bool v6 = fields[0] == "TCP6";
    if (!v6 && fields[0] != "TCP4") {
        return malformed("v1: protocol is not TCP4, TCP6 or UNKNOWN");
    }
    if (count != 5 || line.find(' ') != std::string_view::npos) {
        return malformed("v1: expected 4 fields after the protocol, one space apart");
    }
    auto source = v1_address(fields[1], v6);
    auto destination = v1_address(fields[2], v6);
    if (!source || !destination) {
        return malformed(v6 ? "v1: bad IPv6 address" : "v1: bad IPv4 address");
    }
    auto source_port = v1_port(fields[3]);
    auto destination_port = v1_port(fields[4]);
    if (!source_port || !destination_port) {
        return malformed("v1: bad port");
    }
    h.source = tcp::endpoint(*source, *source_port);
    h.destination = tcp::endpoint(*destination, *destination_port);
    return complete(h);
}

std::uint16_t big_endian_16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// The v2 address block: source and destination address, then source and destination port.
template <typename Address>
void read_addresses(const unsigned char* block, header& h) {
    typename Address::bytes_type source{};
    typename Address::bytes_type destination{};
    constexpr std::size_t n = std::tuple_size_v<typename Address::bytes_type>;
    std::memcpy(source.data(), block, n);
    std::memcpy(destination.data(), block + n, n);
    h.source = tcp::endpoint(Address(source), big_endian_16(block + 2 * n));
    h.destination = tcp::endpoint(Address(destination), big_endian_16(block + 2 * n + 2));
}

/// 12 signature bytes, version and command, family and protocol, a 16-bit length, then that
/// many bytes: the addresses of the family, then TLVs (type, 16-bit length, value).
parsed parse_v2(std::span<const unsigned char> received) {
    if (received.size() < 16) {
        return need_more();
    }
    auto version = received[12] >> 4;
    auto command = received[12] & 0x0f;
    if (version != 2) {
        return malformed("v2: version is not 2");
    }
    if (command > 1) {
        return malformed("v2: command is neither LOCAL nor PROXY");
    }
    std::size_t total = 16 + std::size_t{big_endian_16(&received[14])};
    if (total > max_header_length) {
        return malformed("v2: header longer than 4096 bytes");
    }
    if (received.size() < total) {
        return need_more();
    }
    header h;
    h.version = 2;
    h.length = total;
    if (command == 0) {
        // LOCAL: the proxy speaks for itself (a health check); what follows is skipped.
        return complete(h);
    }
    auto family = received[13] >> 4;
    auto protocol = received[13] & 0x0f;
    const unsigned char* rest = received.data() + 16;
    std::size_t length = total - 16;
    std::size_t addresses = 0;
    if (family == 0 && protocol == 0) {
        // UNSPEC: no addresses; the connection's own stand.
    } else if ((family == 1 || family == 2) && protocol == 1) {
        bool v6 = family == 2;
        addresses = v6 ? 36 : 12;
        if (length < addresses) {
            return malformed(v6 ? "v2: too short for TCP over IPv6 addresses"
                                : "v2: too short for TCP over IPv4 addresses");
        }
        if (v6) {
            read_addresses<boost::asio::ip::address_v6>(rest, h);
        } else {
            read_addresses<boost::asio::ip::address_v4>(rest, h);
        }
    } else {
        return malformed("v2: neither TCP over IPv4 or IPv6 nor UNSPEC");
    }
    // TLVs are skipped, never trusted, but must fit: each one's length within what is left.
    for (std::size_t at = addresses; at < length;) {
        if (length - at < 3) {
            return malformed("v2: a TLV cut short");
        }
        std::size_t value = big_endian_16(rest + at + 1);
        if (length - at - 3 < value) {
            return malformed("v2: a TLV longer than the header");
        }
        at += 3 + value;
    }
    return complete(h);
}

} // namespace

parsed parse(std::span<const unsigned char> received) {
    if (received.empty()) {
        return need_more();
    }
    if (received[0] == 'P') {
        return starts_like(received, v1_signature)
                   ? (received.size() < v1_signature.size() ? need_more() : parse_v1(received))
                   : malformed("not a PROXY protocol header");
    }
    if (received[0] == v2_signature[0]) {
        return starts_like(received, v2_signature)
                   ? (received.size() < v2_signature.size() ? need_more() : parse_v2(received))
                   : malformed("not a PROXY protocol header");
    }
    return malformed("not a PROXY protocol header");
}

} // namespace asio_echo::proxy
