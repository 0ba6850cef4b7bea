// SPDX-License-Identifier: BSL-1.0
// The PROXY protocol parser: v1 and v2, every field, every malformed form with its reason,
// every split point of a header (each prefix needs more, the whole is complete), and payload
// in the same segment never taken for header.
#define BOOST_TEST_MODULE proxy_header
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "asio_echo/proxy_header.hpp"
#include "proxy_bytes.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using namespace asio_echo::test;
using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

namespace {

using bytes = proxy_bytes::bytes;

bytes of(std::string_view text) {
    return bytes(text.begin(), text.end());
}

proxy::parsed parse(const bytes& b) {
    return proxy::parse(b);
}

using proxy_bytes::v2;

/// 203.0.113.7:5555 -> 192.0.2.1:7 as the v2 address block, then extra (TLVs).
bytes tcp4_body(const bytes& extra = {}) {
    bytes body = {203, 0, 113, 7, 192, 0, 2, 1, 0x15, 0xb3, 0x00, 0x07};
    body.insert(body.end(), extra.begin(), extra.end());
    return body;
}

bytes tcp6_body() {
    bytes body(36, 0);
    auto src = make_address("2001:db8::7").to_v6().to_bytes();
    auto dst = make_address("2001:db8::1").to_v6().to_bytes();
    std::copy(src.begin(), src.end(), body.begin());
    std::copy(dst.begin(), dst.end(), body.begin() + 16);
    body[32] = 0x15;
    body[33] = 0xb3;
    body[34] = 0x00;
    body[35] = 0x07;
    return body;
}

struct good_case {
    const char* name;
    bytes header;
    int version;
    const char* source; ///< "" when the connection's own addresses stand
    unsigned source_port;
    const char* destination;
    unsigned destination_port;
};
std::ostream& operator<<(std::ostream& out, const good_case& c) {
    return out << c.name;
}

const std::vector<good_case> good_cases = {
    {"v1 TCP4", of("PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\n"), 1, "203.0.113.7", 5555,
     "192.0.2.1", 7},
    {"v1 TCP6", of("PROXY TCP6 2001:db8::7 2001:db8::1 5555 7\r\n"), 1, "2001:db8::7", 5555,
     "2001:db8::1", 7},
    {"v1 TCP6 mapped", of("PROXY TCP6 ::ffff:203.0.113.7 ::1 0 65535\r\n"), 1, "::ffff:203.0.113.7",
     0, "::1", 65535},
    {"v1 UNKNOWN", of("PROXY UNKNOWN\r\n"), 1, "", 0, "", 0},
    {"v1 UNKNOWN with fields", of("PROXY UNKNOWN ffff::1 garbage 1 2\r\n"), 1, "", 0, "", 0},
    {"v1 longest",
     of("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
     1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     65535},
    {"v2 PROXY TCP4", v2(1, 0x11, tcp4_body()), 2, "203.0.113.7", 5555, "192.0.2.1", 7},
    {"v2 PROXY TCP6", v2(1, 0x21, tcp6_body()), 2, "2001:db8::7", 5555, "2001:db8::1", 7},
    {"v2 PROXY TCP4 with TLVs",
     v2(1, 0x11, tcp4_body({0x05, 0x00, 0x03, 'a', 'b', 'c', 0x04, 0x00, 0x00})), 2, "203.0.113.7",
     5555, "192.0.2.1", 7},
    {"v2 LOCAL", v2(0, 0x00, {}), 2, "", 0, "", 0},
    {"v2 LOCAL with addresses", v2(0, 0x11, tcp4_body()), 2, "", 0, "", 0},
    {"v2 PROXY UNSPEC", v2(1, 0x00, {}), 2, "", 0, "", 0},
    {"v2 PROXY UNSPEC with a TLV", v2(1, 0x00, {0x04, 0x00, 0x01, 0x00}), 2, "", 0, "", 0},
};

struct bad_case {
    const char* name;
    bytes header;
    const char* problem;
};
std::ostream& operator<<(std::ostream& out, const bad_case& c) {
    return out << c.name;
}

bytes v2_with_version(unsigned char version_command) {
    auto b = v2(1, 0x11, tcp4_body());
    b[12] = version_command;
    return b;
}

const std::vector<bad_case> bad_cases = {
    {"plain data", of("hello\r\n"), "not a PROXY protocol header"},
    {"lower case", of("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "not a PROXY protocol header"},
    {"HTTP", of("GET / HTTP/1.1\r\n"), "not a PROXY protocol header"},
    {"v1 without space", of("PROXYTCP4"), "not a PROXY protocol header"},
    {"v2 signature broken", of("\r\n\r\nX"), "not a PROXY protocol header"},
    {"v1 bad protocol", of("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
     "v1: protocol is not TCP4, TCP6 or UNKNOWN"},
    {"v1 missing field", of("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
     "v1: expected 4 fields after the protocol, one space apart"},
    {"v1 extra field", of("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
     "v1: expected 4 fields after the protocol, one space apart"},
    {"v1 double space", of("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"),
     "v1: expected 4 fields after the protocol, one space apart"},
    {"v1 trailing space", of("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"),
     "v1: expected 4 fields after the protocol, one space apart"},
    {"v1 bad IPv4", of("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), "v1: bad IPv4 address"},
    {"v1 IPv6 in TCP4", of("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), "v1: bad IPv4 address"},
    {"v1 IPv4 in TCP6", of("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), "v1: bad IPv6 address"},
    {"v1 zone", of("PROXY TCP6 fe80::1%lo ::1 1 2\r\n"), "v1: bad IPv6 address"},
    {"v1 brackets", of("PROXY TCP6 [::1] ::1 1 2\r\n"), "v1: bad IPv6 address"},
    {"v1 port too big", of("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), "v1: bad port"},
    {"v1 port leading zero", of("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), "v1: bad port"},
    {"v1 port sign", of("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), "v1: bad port"},
    {"v1 port empty", of("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n"), "v1: bad port"},
    {"v1 LF only", of("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
     "v1: a line feed without the carriage return before it"},
    {"v1 CR then other", of("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"),
     "v1: a line feed without the carriage return before it"},
    {"v1 CR alone", of("PROXY TCP4 1.2.3.4\rx"),
     "v1: a carriage return without the line feed after it"},
    {"v1 too long", of("PROXY UNKNOWN " + std::string(100, 'x') + "\r\n"),
     "v1: no CRLF within 107 bytes"},
    {"v2 version 1", v2_with_version(0x11), "v2: version is not 2"},
    {"v2 version 3", v2_with_version(0x31), "v2: version is not 2"},
    {"v2 command 2", v2_with_version(0x22), "v2: command is neither LOCAL nor PROXY"},
    {"v2 UDP", v2(1, 0x12, tcp4_body()), "v2: neither TCP over IPv4 or IPv6 nor UNSPEC"},
    {"v2 UNIX", v2(1, 0x31, bytes(216, 0)), "v2: neither TCP over IPv4 or IPv6 nor UNSPEC"},
    {"v2 TCP4 short", v2(1, 0x11, bytes(11, 0)), "v2: too short for TCP over IPv4 addresses"},
    {"v2 TCP6 short", v2(1, 0x21, bytes(35, 0)), "v2: too short for TCP over IPv6 addresses"},
    {"v2 TLV cut", v2(1, 0x11, tcp4_body({0x04, 0x00})), "v2: a TLV cut short"},
    {"v2 TLV overrun", v2(1, 0x11, tcp4_body({0x04, 0x00, 0x05, 'a'})),
     "v2: a TLV longer than the header"},
    {"v2 oversized", v2(1, 0x11, tcp4_body(bytes(4096, 0))), "v2: header longer than 4096 bytes"},
};

} // namespace

BOOST_DATA_TEST_CASE(reads_every_field_of_a_complete_header, bdata::make(good_cases), c) {
    auto result = parse(c.header);
    BOOST_REQUIRE(result.result == proxy::outcome::complete);
    BOOST_TEST(result.value.version == c.version);
    BOOST_TEST(result.value.length == c.header.size());
    if (std::string(c.source).empty()) {
        BOOST_TEST(!result.value.source.has_value());
        BOOST_TEST(!result.value.destination.has_value());
    } else {
        BOOST_REQUIRE(result.value.source.has_value());
        BOOST_REQUIRE(result.value.destination.has_value());
        BOOST_TEST(result.value.source->address() == make_address(c.source));
        BOOST_TEST(result.value.source->port() == c.source_port);
        BOOST_TEST(result.value.destination->address() == make_address(c.destination));
        BOOST_TEST(result.value.destination->port() == c.destination_port);
    }
}

BOOST_DATA_TEST_CASE(needs_more_at_every_split_point_then_leaves_the_payload_alone,
                     bdata::make(good_cases), c) {
    for (std::size_t n = 0; n < c.header.size(); ++n) {
        bytes prefix(c.header.begin(), c.header.begin() + static_cast<std::ptrdiff_t>(n));
        BOOST_TEST((parse(prefix).result == proxy::outcome::need_more), "after " << n << " bytes");
    }
    // The client's bytes in the same segment: the header ends where it ends, whatever follows
    // (here a second header, which is data now).
    auto with_payload = c.header;
    auto payload = of("PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\nhello");
    with_payload.insert(with_payload.end(), payload.begin(), payload.end());
    auto result = parse(with_payload);
    BOOST_REQUIRE(result.result == proxy::outcome::complete);
    BOOST_TEST(result.value.length == c.header.size());
}

BOOST_DATA_TEST_CASE(rejects_malformed_headers_with_the_reason, bdata::make(bad_cases), c) {
    auto result = parse(c.header);
    BOOST_REQUIRE(result.result == proxy::outcome::malformed);
    BOOST_TEST(result.problem == c.problem);
}

BOOST_AUTO_TEST_CASE(judges_garbage_at_once_without_waiting_for_more) {
    // One byte that cannot start a header is enough: nothing waits for a timeout.
    for (int first = 0; first < 256; ++first) {
        bytes one{static_cast<unsigned char>(first)};
        auto result = parse(one).result;
        bool could_start = first == 'P' || first == 0x0D;
        BOOST_TEST(
            (result == (could_start ? proxy::outcome::need_more : proxy::outcome::malformed)),
            "first byte " << first);
    }
    BOOST_TEST((parse(of("PROXX")).result == proxy::outcome::malformed));
    BOOST_TEST((parse(of("\r\n\r\n\x01")).result == proxy::outcome::malformed));
    // A v1 line with no CRLF yet is judged at 107 bytes, not later.
    BOOST_TEST(
        (parse(of("PROXY UNKNOWN " + std::string(92, 'x'))).result == proxy::outcome::need_more));
    BOOST_TEST(
        (parse(of("PROXY UNKNOWN " + std::string(93, 'x'))).result == proxy::outcome::malformed));
}

BOOST_AUTO_TEST_CASE(accepts_a_v2_header_of_exactly_the_largest_size) {
    auto body = tcp4_body({0x04, 0x00, 0x00}); // a NOOP TLV, then one that fills the rest
    std::size_t rest = proxy::max_header_length - 16 - body.size() - 3;
    body.push_back(0x04);
    body.push_back(static_cast<unsigned char>(rest >> 8));
    body.push_back(static_cast<unsigned char>(rest & 0xff));
    body.resize(body.size() + rest, 0);
    auto header = v2(1, 0x11, body);
    BOOST_REQUIRE_EQUAL(header.size(), proxy::max_header_length);
    auto result = parse(header);
    BOOST_TEST((result.result == proxy::outcome::complete), result.problem);
    BOOST_TEST(result.value.length == proxy::max_header_length);
}
