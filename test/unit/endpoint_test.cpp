// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE endpoint
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <tuple>

#include "asio_echo/endpoint.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;

namespace {

struct good_case {
    const char* text;
    const char* host;
    unsigned port;
    const char* formatted;
};

std::ostream& operator<<(std::ostream& out, const good_case& c) {
    return out << c.text;
}

const good_case good_cases[] = {
    {"127.0.0.1:9999", "127.0.0.1", 9999, "127.0.0.1:9999"},
    {"0.0.0.0:0", "0.0.0.0", 0, "0.0.0.0:0"},
    {"10.1.2.3:65535", "10.1.2.3", 65535, "10.1.2.3:65535"},
    {"[::1]:7", "::1", 7, "[::1]:7"},
    {"[::]:9999", "::", 9999, "[::]:9999"},
    {"[2001:db8:0:0::1]:80", "2001:db8::1", 80, "[2001:db8::1]:80"},
    {"[fe80::1%lo]:7", "fe80::1%lo", 7, "[fe80::1%lo]:7"},
    {"localhost:9999", "localhost", 9999, "localhost:9999"},
    {"echo-1.example:00080", "echo-1.example", 80, "echo-1.example:80"},
};

struct bad_case {
    const char* text;
    const char* message;
};

std::ostream& operator<<(std::ostream& out, const bad_case& c) {
    return out << c.text;
}

const bad_case bad_cases[] = {
    {"", "invalid endpoint '': empty, expected HOST:PORT"},
    {"127.0.0.1", "invalid endpoint '127.0.0.1': missing ':PORT'"},
    {"127.0.0.1:", "invalid endpoint '127.0.0.1:': missing port after ':'"},
    {":80", "invalid endpoint ':80': missing host before ':'"},
    {"127.0.0.1:65536", "invalid endpoint '127.0.0.1:65536': port 65536 is out of range 0-65535"},
    {"127.0.0.1:99999999999999999999",
     "invalid endpoint '127.0.0.1:99999999999999999999': port 99999999999999999999 is out of "
     "range 0-65535"},
    {"127.0.0.1:-1", "invalid endpoint '127.0.0.1:-1': port '-1' is not a number"},
    {"127.0.0.1:80x", "invalid endpoint '127.0.0.1:80x': port '80x' is not a number"},
    {"127.0.0.1: 80", "invalid endpoint '127.0.0.1: 80': port ' 80' is not a number"},
    {"::1:80", "invalid endpoint '::1:80': write IPv6 addresses in brackets, as [::1]:PORT"},
    {"[::1:80", "invalid endpoint '[::1:80': missing ']' after IPv6 address"},
    {"[::1]80", "invalid endpoint '[::1]80': expected ':PORT' after ']'"},
    {"[::1]", "invalid endpoint '[::1]': expected ':PORT' after ']'"},
    {"[127.0.0.1]:80", "invalid endpoint '[127.0.0.1]:80': '127.0.0.1' is not an IPv6 address"},
    {"[zz::1]:80", "invalid endpoint '[zz::1]:80': 'zz::1' is not an IPv6 address"},
    {"256.0.0.1:80", "invalid endpoint '256.0.0.1:80': '256.0.0.1' is not an IPv4 address"},
    {"1.2.3:80", "invalid endpoint '1.2.3:80': '1.2.3' is not an IPv4 address"},
    {"ho st:80", "invalid endpoint 'ho st:80': host 'ho st' has an invalid character"},
    // A v6-only socket cannot bind a v4-mapped address: say which form works.
    {"[::ffff:127.0.0.1]:0", "invalid endpoint '[::ffff:127.0.0.1]:0': '::ffff:127.0.0.1' is an "
                             "IPv4-mapped address: write it as 127.0.0.1:0"},
    {"[fe80::1%nosuchif]:0",
     "invalid endpoint '[fe80::1%nosuchif]:0': unknown interface 'nosuchif'"},
    {"[fe80::1%]:0", "invalid endpoint '[fe80::1%]:0': missing interface after '%'"},
    // Values are quoted printable and cut: one short line whatever the input.
    {"\x1b[2J:1", "invalid endpoint '\\x1b[2J:1': host '\\x1b[2J' has an invalid character"},
};

} // namespace

BOOST_DATA_TEST_CASE(parses_valid_endpoints_and_formats_them_back, bdata::make(good_cases), c) {
    auto ep = parse_endpoint(c.text);
    BOOST_TEST(ep.host == c.host);
    BOOST_TEST(ep.port == c.port);
    BOOST_TEST(format_endpoint(ep) == c.formatted);
}

BOOST_DATA_TEST_CASE(rejects_malformed_endpoints_with_a_message_naming_them, bdata::make(bad_cases),
                     c) {
    try {
        auto ep = parse_endpoint(c.text);
        BOOST_FAIL("accepted as " << format_endpoint(ep));
    } catch (const usage_error& e) {
        BOOST_TEST(std::string(e.what()) == c.message);
    }
}

BOOST_AUTO_TEST_CASE(formats_addresses_with_brackets_only_for_ipv6) {
    using boost::asio::ip::make_address;
    BOOST_TEST(format_endpoint(make_address("127.0.0.1"), 43567) == "127.0.0.1:43567");
    BOOST_TEST(format_endpoint(make_address("::1"), 43567) == "[::1]:43567");
}
