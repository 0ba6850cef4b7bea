// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE limits
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

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

/// Datagrams allowed per source when each of `sources` sends one every millisecond for
/// `window`, all interleaved, through one limiter.
std::vector<int> allowed_per_source(udp_rate_limiter& limiter,
                                    const std::vector<boost::asio::ip::address>& sources,
                                    std::chrono::milliseconds window) {
    auto t0 = udp_rate_limiter::clock::time_point{} + 1000s;
    std::vector<int> allowed(sources.size());
    for (auto t = 0ms; t <= window; t += 1ms) {
        for (std::size_t i = 0; i < sources.size(); ++i) {
            allowed[i] += limiter.allow(sources[i], t0 + t) ? 1 : 0;
        }
    }
    return allowed;
}

BOOST_AUTO_TEST_CASE(the_known_colliding_pair_gets_no_more_than_the_limit) {
    // 127.0.0.2 and 127.0.226.28 shared a slot of the unseeded FNV-1a table: each evicted the
    // other and started again with a full bucket, so every datagram was answered.
    udp_rate_limiter limiter(10, 10);
    auto allowed = allowed_per_source(
        limiter, {make_address("127.0.0.2"), make_address("127.0.226.28")}, 1000ms);
    for (int n : allowed) {
        BOOST_TEST(n <= 10 + 10 * 1 + 1, n << " of 1001 allowed");
    }
}

BOOST_AUTO_TEST_CASE(no_source_gains_from_evictions_among_hundreds_sharing_a_small_table) {
    // 300 sources (v4 and v6) in a 64-bucket table: they must share buckets, and whatever the
    // table does, no source gets more than burst + rate x elapsed.
    std::vector<boost::asio::ip::address> sources;
    for (unsigned i = 0; i < 200; ++i) {
        sources.push_back(boost::asio::ip::address_v4(0xC6120000u + i * 7919u));
    }
    for (unsigned i = 0; i < 100; ++i) {
        auto bytes = make_address("2001:db8::").to_v6().to_bytes();
        bytes[14] = static_cast<unsigned char>(i >> 8);
        bytes[15] = static_cast<unsigned char>(i);
        sources.push_back(boost::asio::ip::address_v6(bytes));
    }
    udp_rate_limiter limiter(10, 5, 64);
    auto allowed = allowed_per_source(limiter, sources, 2000ms);
    int most = 0;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        most = std::max(most, allowed[i]);
        BOOST_TEST(allowed[i] <= 5 + 10 * 2 + 1, sources[i].to_string()
                                                     << ": " << allowed[i] << " of 2001 allowed");
    }
    BOOST_TEST_MESSAGE("most allowed to one source: " << most << " (limit 26)");
}

BOOST_AUTO_TEST_CASE(a_spoofed_flood_neither_grows_the_table_nor_locks_a_newcomer_out_for_long) {
    // 100,000 sources, one datagram each, through a 64-bucket table: memory is fixed. A
    // heavy source already in the table keeps its limit throughout.
    udp_rate_limiter limiter(10, 5, 64);
    auto t0 = udp_rate_limiter::clock::time_point{} + 5s;
    auto heavy = make_address("192.0.2.1");
    int heavy_allowed = 0;
    for (unsigned i = 0; i < 100000; ++i) {
        auto at = t0 + std::chrono::microseconds(i * 10); // 1 s in all
        limiter.allow(boost::asio::ip::address_v4(0x0A000000u + i), at);
        heavy_allowed += limiter.allow(heavy, at) ? 1 : 0;
    }
    BOOST_TEST(heavy_allowed <= 5 + 10 * 1 + 1);
    // Once the flood stops, a bucket refills within burst / rate (0.5 s) and is handed over.
    BOOST_TEST(limiter.allow(make_address("198.51.100.7"), t0 + 1s + 500ms));
}

BOOST_AUTO_TEST_CASE(the_guard_also_drops_the_servers_own_ports_added_after_binding) {
    udp_port_guard guard(parse_port_list("none"));
    BOOST_TEST(!guard.drops(40000));
    guard.add_own_port(40000);
    BOOST_TEST(guard.drops(40000));
    BOOST_TEST(guard.is_own_port(40000));
    BOOST_TEST(!guard.drops(40001));
    udp_port_guard defaults;
    BOOST_TEST(defaults.drops(7));
    BOOST_TEST(!defaults.is_own_port(7));
}

BOOST_AUTO_TEST_CASE(per_source_counts_admit_up_to_the_limit_and_a_release_lets_the_next_in) {
    using boost::asio::ip::make_address;
    source_counts counts(2);
    auto a = make_address("127.0.0.3");
    auto b = make_address("::1");
    BOOST_TEST(counts.admit(a));
    BOOST_TEST(counts.admit(a));
    BOOST_TEST(!counts.admit(a)); // the third of one address
    BOOST_TEST(counts.count(a) == 2u);
    // An IPv4-mapped address is the IPv4 one; other addresses have their own count.
    BOOST_TEST(!counts.admit(make_address("::ffff:127.0.0.3")));
    BOOST_TEST(counts.admit(make_address("127.0.0.4")));
    BOOST_TEST(counts.admit(b));
    counts.release(a);
    BOOST_TEST(counts.count(a) == 1u);
    BOOST_TEST(counts.admit(a)); // the freed place is taken
    BOOST_TEST(!counts.admit(a));
    counts.release(a);
    counts.release(a);
    BOOST_TEST(counts.count(a) == 0u);

    // 0: no limit, nothing counted.
    source_counts unlimited(0);
    for (int i = 0; i < 1000; ++i) {
        BOOST_TEST_REQUIRE(unlimited.admit(a));
    }
    BOOST_TEST(unlimited.count(a) == 0u);
}
