// SPDX-License-Identifier: BSL-1.0
// Networks as --allow, --deny and --trusted-proxy read them, and the allow/deny decision:
// IPv4, IPv6, IPv4-mapped sources judged as IPv4, the edges /0, /32, /128, and every bad form
// with its message.
#define BOOST_TEST_MODULE cidr
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

#include "asio_echo/cidr.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using boost::asio::ip::make_address;

namespace {

struct good_case {
    const char* text;
    const char* formatted;
};
std::ostream& operator<<(std::ostream& out, const good_case& c) {
    return out << c.text;
}

const good_case good_cases[] = {
    {"10.0.0.0/8", "10.0.0.0/8"},
    {"0.0.0.0/0", "0.0.0.0/0"},
    {"192.0.2.7", "192.0.2.7/32"},
    {"192.0.2.7/32", "192.0.2.7/32"},
    {"2001:db8::/32", "2001:db8::/32"},
    {"::/0", "::/0"},
    {"::1", "::1/128"},
    {"2001:db8:0:0::1/128", "2001:db8::1/128"},
    // IPv4-mapped networks are the IPv4 networks they map.
    {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
    {"::ffff:192.0.2.7", "192.0.2.7/32"},
};

struct bad_case {
    const char* text;
    const char* message;
};
std::ostream& operator<<(std::ostream& out, const bad_case& c) {
    return out << c.text;
}

const bad_case bad_cases[] = {
    {"300.1.1.1/8", "invalid network '300.1.1.1/8': not an IPv4 or IPv6 address before '/'"},
    {"10.0.0.0/40", "invalid network '10.0.0.0/40': prefix length 40 is out of range 0-32"},
    {"2001:db8::/129", "invalid network '2001:db8::/129': prefix length 129 is out of range 0-128"},
    {"nonsense", "invalid network 'nonsense': not an IPv4 or IPv6 address"},
    {"", "invalid network '': not an IPv4 or IPv6 address"},
    {"/8", "invalid network '/8': not an IPv4 or IPv6 address before '/'"},
    {"10.0.0.0/", "invalid network '10.0.0.0/': prefix length '' is not a number"},
    {"10.0.0.0/x", "invalid network '10.0.0.0/x': prefix length 'x' is not a number"},
    {"10.0.0.0/08", "invalid network '10.0.0.0/08': prefix length '08' is not a number"},
    {"10.0.0.0/-1", "invalid network '10.0.0.0/-1': prefix length '-1' is not a number"},
    {"10.0.0.0/8/8", "invalid network '10.0.0.0/8/8': prefix length '8/8' is not a number"},
    {"10.0.0.1/8", "invalid network '10.0.0.1/8': host bits set beyond /8"},
    {"2001:db8::1/32", "invalid network '2001:db8::1/32': host bits set beyond /32"},
    {"fe80::1%lo/64", "invalid network 'fe80::1%lo/64': a network has no interface (scope) suffix"},
    {"example.com/24", "invalid network 'example.com/24': not an IPv4 or IPv6 address before '/'"},
};

bool in(const char* net, const char* address) {
    return contains(parse_network(net), make_address(address));
}

} // namespace

BOOST_DATA_TEST_CASE(parses_and_formats_networks, bdata::make(good_cases), c) {
    auto net = parse_network(c.text);
    BOOST_TEST(format_network(net) == c.formatted);
    BOOST_TEST((parse_network(format_network(net)) == net));
}

BOOST_DATA_TEST_CASE(rejects_bad_networks_naming_the_value_and_the_problem, bdata::make(bad_cases),
                     c) {
    try {
        parse_network(c.text);
        BOOST_ERROR("accepted " << c.text);
    } catch (const usage_error& e) {
        BOOST_TEST(std::string(e.what()) == c.message);
    }
}

BOOST_AUTO_TEST_CASE(matches_on_the_prefix_bits_only) {
    BOOST_TEST(in("10.0.0.0/8", "10.0.0.0"));
    BOOST_TEST(in("10.0.0.0/8", "10.255.255.255"));
    BOOST_TEST(!in("10.0.0.0/8", "11.0.0.0"));
    BOOST_TEST(!in("10.0.0.0/8", "9.255.255.255"));
    // A prefix that is not a multiple of 8.
    BOOST_TEST(in("192.0.2.128/25", "192.0.2.200"));
    BOOST_TEST(!in("192.0.2.128/25", "192.0.2.127"));
    BOOST_TEST(in("0.0.0.0/0", "203.0.113.9"));
    BOOST_TEST(in("192.0.2.7/32", "192.0.2.7"));
    BOOST_TEST(!in("192.0.2.7/32", "192.0.2.6"));
    BOOST_TEST(in("2001:db8::/32", "2001:db8:ffff::1"));
    BOOST_TEST(!in("2001:db8::/32", "2001:db9::1"));
    BOOST_TEST(in("2001:db8::/33", "2001:db8:7fff::1"));
    BOOST_TEST(!in("2001:db8::/33", "2001:db8:8000::1"));
    BOOST_TEST(in("::1/128", "::1"));
    BOOST_TEST(!in("::1/128", "::2"));
    BOOST_TEST(in("::/0", "2001:db8::1"));
}

BOOST_AUTO_TEST_CASE(ipv4_mapped_sources_are_judged_as_ipv4) {
    // What a dual-stack [::] socket reports for an IPv4 client.
    BOOST_TEST(in("127.0.0.0/8", "::ffff:127.0.0.3"));
    BOOST_TEST(!in("127.0.0.0/8", "::ffff:10.0.0.1"));
    BOOST_TEST(in("::ffff:127.0.0.0/104", "127.0.0.3"));
    // The families never mix otherwise: ::/0 is every IPv6 source, not the mapped ones.
    BOOST_TEST(!in("::/0", "::ffff:127.0.0.1"));
    BOOST_TEST(!in("::/0", "127.0.0.1"));
    BOOST_TEST(!in("0.0.0.0/0", "::1"));
}

BOOST_AUTO_TEST_CASE(deny_wins_and_any_allow_limits_the_service_to_it) {
    auto nets = [](std::initializer_list<const char*> texts) {
        std::vector<network> result;
        for (auto t : texts) {
            result.push_back(parse_network(t));
        }
        return result;
    };
    access_list everyone;
    BOOST_TEST(everyone.empty());
    BOOST_TEST(everyone.permits(make_address("203.0.113.9")));

    access_list denied({}, nets({"127.0.0.3/32"}));
    BOOST_TEST(!denied.empty());
    BOOST_TEST(denied.permits(make_address("127.0.0.1")));
    BOOST_TEST(!denied.permits(make_address("127.0.0.3")));
    BOOST_TEST(!denied.permits(make_address("::ffff:127.0.0.3")));

    access_list allowed(nets({"127.0.0.0/8", "::1"}), nets({"127.0.0.3"}));
    BOOST_TEST(allowed.permits(make_address("127.0.0.1")));
    BOOST_TEST(allowed.permits(make_address("::1")));
    BOOST_TEST(allowed.permits(make_address("::ffff:127.0.0.2")));
    BOOST_TEST(!allowed.permits(make_address("127.0.0.3"))); // deny wins
    BOOST_TEST(!allowed.permits(make_address("10.0.0.1")));  // not allowed
    BOOST_TEST(!allowed.permits(make_address("::2")));
}
