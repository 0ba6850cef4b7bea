// SPDX-License-Identifier: BSL-1.0
// The client's pure parts: command-line parsing, the histogram, the sequence header, JSON.
#define BOOST_TEST_MODULE client_unit
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "asio_echo/client/histogram.hpp"
#include "asio_echo/client/options.hpp"
#include "asio_echo/client/payload.hpp"
#include "asio_echo/client/report.hpp"
#include "asio_echo/errors.hpp"

using namespace asio_echo;
using namespace asio_echo::client;

namespace {

parse_result parse(std::vector<std::string> words) {
    words.insert(words.begin(), "echo-client");
    std::vector<const char*> argv;
    for (const auto& w : words) {
        argv.push_back(w.c_str());
    }
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string usage_message(std::vector<std::string> words) {
    try {
        parse(std::move(words));
    } catch (const usage_error& e) {
        return e.what();
    }
    return "(no usage_error)";
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults_send_to_localhost_9999_over_tcp) {
    auto opts = *parse({"hello", "world"}).run;
    BOOST_TEST((opts.what == command::message));
    BOOST_TEST(opts.connect.host == "127.0.0.1");
    BOOST_TEST(opts.connect.port == 9999);
    BOOST_TEST(!opts.udp);
    BOOST_TEST(opts.timeout_seconds() == 5.0);
    BOOST_TEST(opts.retries == 2u);
    BOOST_TEST((opts.message == std::vector<std::string>{"hello", "world"}));
}

BOOST_AUTO_TEST_CASE(udp_timeout_defaults_to_one_second_per_try) {
    auto opts = *parse({"--udp", "x"}).run;
    BOOST_TEST(opts.timeout_seconds() == 1.0);
    BOOST_TEST((*parse({"--udp", "--timeout", "0.25", "x"}).run).timeout_seconds() == 0.25);
}

BOOST_AUTO_TEST_CASE(ping_and_load_take_their_options) {
    auto ping = *parse({"ping", "--connect", "[::1]:7", "--count", "0", "--interval", "0.2",
                        "--size", "100"})
                     .run;
    BOOST_TEST((ping.what == command::ping));
    BOOST_TEST(ping.connect.host == "::1");
    BOOST_TEST(ping.count == 0u);
    BOOST_TEST(ping.interval == 0.2);
    BOOST_TEST(ping.size == 100u);
    auto load =
        *parse({"load", "--connections", "50", "--pipeline", "4", "--rate", "1000", "--threads",
                "2", "--duration", "1.5", "--warmup", "0.5", "--json", "--expect", "upper"})
             .run;
    BOOST_TEST((load.what == command::load));
    BOOST_TEST(load.connections == 50u);
    BOOST_TEST(load.pipeline == 4u);
    BOOST_TEST(load.rate == 1000.0);
    BOOST_TEST(load.threads == 2u);
    BOOST_TEST(load.duration == 1.5);
    BOOST_TEST(load.warmup == 0.5);
    BOOST_TEST(load.json);
    BOOST_TEST((load.expect == mode::upper));
    BOOST_TEST(!load.reconnect);
    BOOST_TEST((*parse({"load", "--reconnect", "--tls"}).run).reconnect);
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_option_and_the_value) {
    BOOST_TEST(usage_message({"--timeout", "abc", "x"}) ==
               "invalid value 'abc' for --timeout: not a number");
    BOOST_TEST(usage_message({"load", "--connections", "0"}) ==
               "invalid value '0' for --connections: must be 1 to 100000");
    BOOST_TEST(usage_message({"ping", "--count", "-1"}) ==
               "invalid value '-1' for --count: not a whole number");
    BOOST_TEST(usage_message({"--expect", "lower", "x"}) ==
               "invalid value 'lower' for --expect: expected echo or upper");
    BOOST_TEST(usage_message({"load", "--udp", "--size", "4"}) ==
               "invalid value '4' for --size: must be 8 to 65507");
    BOOST_TEST(usage_message({"ping", "extra"}) == "unexpected argument 'extra' (see --help)");
    BOOST_TEST(usage_message({"ping", "--reconnect"}) ==
               "unrecognised option '--reconnect' (see --help)");
    // Program_options' own formatting loops forever on a word holding its placeholder.
    BOOST_TEST(usage_message({"--%canonical_option%", "x"}) ==
               "unrecognised option '--%canonical_option%' (see --help)");
    BOOST_TEST(usage_message({"ping", "--verify"}).find("--verify") != std::string::npos);
    BOOST_TEST(usage_message({"--connect", "nowhere", "x"}).find("nowhere") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tls_options_are_taken_by_every_mode_and_need_tls) {
    auto plain = *parse({"hello"}).run;
    BOOST_TEST(!plain.tls.enabled);
    for (std::string mode : {"", "ping", "load"}) {
        std::vector<std::string> words{"--tls",     "--tls-ca",   "ca.pem", "--servername",
                                       "echo.test", "--tls-cert", "c.pem",  "--tls-key",
                                       "c.key",     "--insecure"};
        if (!mode.empty()) {
            words.insert(words.begin(), mode);
        } else {
            words.push_back("x");
        }
        auto opts = *parse(words).run;
        BOOST_TEST(opts.tls.enabled, mode);
        BOOST_TEST(opts.tls.ca_file.value_or("") == "ca.pem");
        BOOST_TEST(opts.tls.servername.value_or("") == "echo.test");
        BOOST_TEST(opts.tls.cert_file.value_or("") == "c.pem");
        BOOST_TEST(opts.tls.key_file.value_or("") == "c.key");
        BOOST_TEST(opts.tls.insecure);
    }
    auto defaults = *parse({"--tls", "x"}).run;
    BOOST_TEST(!defaults.tls.ca_file);
    BOOST_TEST(!defaults.tls.servername);
    BOOST_TEST(!defaults.tls.insecure);
    BOOST_TEST(usage_message({"--tls-ca", "ca.pem", "x"}) == "--tls-ca needs --tls");
    BOOST_TEST(usage_message({"--insecure", "x"}) == "--insecure needs --tls");
    BOOST_TEST(usage_message({"ping", "--tls", "--udp"}) ==
               "--tls needs TCP: it cannot be used with --udp");
    BOOST_TEST(usage_message({"--tls", "--tls-key", "k", "x"}) ==
               "--tls-key needs --tls-cert (the key's certificate)");
}

BOOST_AUTO_TEST_CASE(help_and_version_are_output_not_errors) {
    auto help = parse({"load", "--help"});
    BOOST_TEST(!help.run);
    BOOST_TEST(help.output.find("--pipeline") != std::string::npos);
    auto version = parse({"--version"});
    BOOST_TEST(version.output.rfind("echo-client ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(histogram_is_exact_for_small_values_and_within_half_a_percent_above) {
    histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v) {
        h.record(v);
    }
    BOOST_TEST(h.count() == 100u);
    BOOST_TEST(h.percentile(50) == 50u);
    BOOST_TEST(h.percentile(99) == 99u);
    BOOST_TEST(h.percentile(100) == 100u);
    BOOST_TEST(h.min() == 1u);
    BOOST_TEST(h.mean() == 50.5);

    histogram wide;
    const std::uint64_t values[] = {1'000, 123'456, 7'654'321, 60'000'000'000};
    for (auto v : values) {
        wide.record(v);
    }
    BOOST_TEST(wide.max() == 60'000'000'000u); // 60 s, exact
    auto p50 = static_cast<double>(wide.percentile(50));
    BOOST_TEST(p50 == 123'456.0, boost::test_tools::tolerance(0.005));
    auto p75 = static_cast<double>(wide.percentile(75));
    BOOST_TEST(p75 == 7'654'321.0, boost::test_tools::tolerance(0.005));
}

BOOST_AUTO_TEST_CASE(histogram_merge_adds_counts) {
    histogram a;
    histogram b;
    a.record(10);
    b.record(30);
    b.record(20);
    a.merge(b);
    BOOST_TEST(a.count() == 3u);
    BOOST_TEST(a.percentile(50) == 20u);
    BOOST_TEST(a.max() == 30u);
    BOOST_TEST(a.min() == 10u);
    a.reset();
    BOOST_TEST(a.count() == 0u);
    BOOST_TEST(a.percentile(99) == 0u);
}

BOOST_AUTO_TEST_CASE(sequence_header_survives_upper_casing) {
    std::array<char, header_size> header{};
    write_header(header, 0xdeadbeefULL);
    BOOST_TEST(std::string(header.data(), header.size()) == "DEADBEEF");
    to_upper_ascii(header);
    BOOST_TEST(read_header(header).value() == 0xdeadbeefu);
    header[3] = 'x';
    BOOST_TEST(!read_header(header));
}

BOOST_AUTO_TEST_CASE(json_escapes_quotes_controls_and_high_bytes) {
    BOOST_TEST(json_quote("a\"b\\c\n\x01\xff") == R"("a\"b\\c\n\u0001\u00ff")");
    json_object o;
    o.add("n", std::uint64_t{3}).add("s", "x").add("ok", true);
    BOOST_TEST(o.str() == R"({"n":3,"s":"x","ok":true})");
}
