#define BOOST_TEST_MODULE limits
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "asio_echo/errors.hpp"
#include "asio_echo/limits.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using namespace std::chrono_literals;
using boost::asio::ip::make_address;

BOOST_DATA_TEST_CASE(default_guard_drops_port_0_and_self_answering_services,
                     bdata::make({0, 7, 13, 17, 19, 37, 53, 123, 137, 138, 161, 162, 389, 1900,
                                  5353, 11211}),
                     port) {
    udp_port_guard guard;
    BOOST_TEST(guard.drops(static_cast<std::uint16_t>(port)));
}

BOOST_DATA_TEST_CASE(default_guard_answers_ordinary_ports,
                     bdata::make({1, 8, 22, 80, 1024, 9999, 40000, 65535}), port) {
    udp_port_guard guard;
    BOOST_TEST(!guard.drops(static_cast<std::uint16_t>(port)));
}

BOOST_AUTO_TEST_CASE(custom_guard_drops_exactly_its_list) {
    udp_port_guard guard(parse_port_list("none,5, 6,65535"));
    for (unsigned port = 0; port < 65536; ++port) {
        bool listed = port == 5 || port == 6 || port == 65535;
        BOOST_TEST(guard.drops(static_cast<std::uint16_t>(port)) == listed, "port " << port);
    }
    BOOST_TEST(parse_port_list("none").empty());
}

BOOST_DATA_TEST_CASE(bad_port_lists_name_the_item, bdata::make({"7,x", "70000", "7;8", "-1"}),
                     text) {
    try {
        parse_port_list(text);
        BOOST_FAIL("accepted " << text);
    } catch (const usage_error& e) {
        BOOST_TEST(std::string(e.what()).find("in --udp-drop-ports '" + std::string(text) + "'") !=
                   std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(rate_limiter_allows_the_burst_then_the_rate) {
    udp_rate_limiter limiter(10, 5);
    auto t0 = udp_rate_limiter::clock::time_point{} + 1000s;
    auto a = make_address("192.0.2.1");
    int allowed = 0;
    for (int i = 0; i < 100; ++i) {
        allowed += limiter.allow(a, t0) ? 1 : 0;
    }
    BOOST_TEST(allowed == 5); // the burst
    // One second later, 10 more tokens (capped at the burst of 5).
    allowed = 0;
    for (int i = 0; i < 100; ++i) {
        allowed += limiter.allow(a, t0 + 1s) ? 1 : 0;
    }
    BOOST_TEST(allowed == 5);
    // 300 ms later: 3 tokens.
    allowed = 0;
    for (int i = 0; i < 100; ++i) {
        allowed += limiter.allow(a, t0 + 1300ms) ? 1 : 0;
    }
    BOOST_TEST(allowed == 3);
}

BOOST_AUTO_TEST_CASE(rate_limiter_keeps_sources_apart) {
    udp_rate_limiter limiter(1, 2);
    auto t = udp_rate_limiter::clock::time_point{} + 5s;
    auto a = make_address("192.0.2.1");
    auto b = make_address("2001:db8::1");
    BOOST_TEST(limiter.allow(a, t));
    BOOST_TEST(limiter.allow(a, t));
    BOOST_TEST(!limiter.allow(a, t));
    BOOST_TEST(limiter.allow(b, t));
    BOOST_TEST(limiter.allow(b, t));
    BOOST_TEST(!limiter.allow(b, t));
}

BOOST_AUTO_TEST_CASE(rate_limiter_table_stays_bounded_under_a_spoofed_flood) {
    // A one-slot table: every new source takes the slot over and starts with a full bucket,
    // so memory cannot grow; the cost is that evicted sources are forgiven.
    udp_rate_limiter limiter(1, 1, 1);
    auto t = udp_rate_limiter::clock::time_point{} + 5s;
    for (unsigned i = 0; i < 100000; ++i) {
        auto v4 = boost::asio::ip::address_v4(0x0A000000u + i);
        BOOST_TEST_REQUIRE(limiter.allow(v4, t));
    }
    auto last = boost::asio::ip::address_v4(0x0A000000u + 99999u);
    BOOST_TEST(!limiter.allow(last, t));
}
