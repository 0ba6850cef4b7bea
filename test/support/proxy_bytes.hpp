// SPDX-License-Identifier: BSL-1.0
#pragma once
// PROXY protocol headers as a load balancer sends them, built byte by byte for the tests.

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace asio_echo::test::proxy_bytes {

using bytes = std::vector<unsigned char>;

/// A v2 header: the 12-byte signature, version 2 with command (0 LOCAL, 1 PROXY), the
/// family/protocol byte (0x11 TCP over IPv4, 0x21 TCP over IPv6, 0x00 UNSPEC), the body's
/// length and the body.
inline bytes v2(unsigned char command, unsigned char family_protocol, const bytes& body) {
    bytes b = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    b.push_back(static_cast<unsigned char>(0x20 | command));
    b.push_back(family_protocol);
    b.push_back(static_cast<unsigned char>(body.size() >> 8));
    b.push_back(static_cast<unsigned char>(body.size() & 0xff));
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

/// The address block of a v2 PROXY header, source then destination (both IPv4 or both
/// IPv6), then extra (TLVs).
inline bytes address_block(const std::string& source, std::uint16_t source_port,
                           const std::string& destination, std::uint16_t destination_port,
                           const bytes& extra = {}) {
    bytes body;
    auto add_address = [&body](const std::string& text) {
        auto a = boost::asio::ip::make_address(text);
        if (a.is_v4()) {
            auto raw = a.to_v4().to_bytes();
            body.insert(body.end(), raw.begin(), raw.end());
        } else {
            auto raw = a.to_v6().to_bytes();
            body.insert(body.end(), raw.begin(), raw.end());
        }
    };
    add_address(source);
    add_address(destination);
    for (auto port : {source_port, destination_port}) {
        body.push_back(static_cast<unsigned char>(port >> 8));
        body.push_back(static_cast<unsigned char>(port & 0xff));
    }
    body.insert(body.end(), extra.begin(), extra.end());
    return body;
}

/// A v2 PROXY command for a TCP client source:port that reached destination:port.
inline bytes v2_tcp(const std::string& source, std::uint16_t source_port,
                    const std::string& destination, std::uint16_t destination_port,
                    const bytes& tlvs = {}) {
    bool v6 = boost::asio::ip::make_address(source).is_v6();
    return v2(1, v6 ? 0x21 : 0x11,
              address_block(source, source_port, destination, destination_port, tlvs));
}

/// One TLV: type, 16-bit length, value.
inline bytes tlv(unsigned char type, const std::string& value) {
    bytes b = {type, static_cast<unsigned char>(value.size() >> 8),
               static_cast<unsigned char>(value.size() & 0xff)};
    b.insert(b.end(), value.begin(), value.end());
    return b;
}

inline std::string as_string(const bytes& b) {
    return std::string(b.begin(), b.end());
}

} // namespace asio_echo::test::proxy_bytes
