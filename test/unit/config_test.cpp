// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE config
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "asio_echo/config.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;

namespace {

parse_result parse(std::vector<std::string> args) {
    args.insert(args.begin(), "echo-server");
    std::vector<const char*> argv;
    for (auto& a : args) {
        argv.push_back(a.c_str());
    }
    return parse_server_config(static_cast<int>(argv.size()), argv.data());
}

server_config config_of(std::vector<std::string> args) {
    auto result = parse(std::move(args));
    BOOST_REQUIRE(result.config);
    return *result.config;
}

std::string usage_message(std::vector<std::string> args) {
    try {
        parse(std::move(args));
    } catch (const usage_error& e) {
        return e.what();
    }
    return "(accepted)";
}

/// A config file in the temp dir, removed at the end of the test.
struct config_file {
    std::string path;
    explicit config_file(const std::string& text) {
        char name[] = "/tmp/asio-echo-config-XXXXXX";
        int fd = ::mkstemp(name);
        BOOST_REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
        std::ofstream(path) << text;
    }
    ~config_file() { std::remove(path.c_str()); }
};

} // namespace

BOOST_AUTO_TEST_CASE(defaults_serve_tcp_and_udp_on_loopback_9999_in_echo_mode) {
    auto c = config_of({});
    BOOST_TEST(c.listen.size() == 1u);
    BOOST_TEST(format_endpoint(c.listen.at(0)) == "127.0.0.1:9999");
    BOOST_TEST(c.tcp.empty());
    BOOST_TEST(c.udp.empty());
    BOOST_TEST((c.echo_mode == mode::echo));
    BOOST_TEST(c.threads == std::max(1u, std::thread::hardware_concurrency()));
    BOOST_TEST((c.level == log_level::info));
    BOOST_TEST((c.model == io_model::per_thread));
}

BOOST_AUTO_TEST_CASE(endpoint_options_repeat_and_keep_their_protocols) {
    auto c = config_of({"--listen", "127.0.0.1:0", "-l", "[::1]:7", "--tcp", "127.0.0.2:1", "--udp",
                        "127.0.0.3:2", "--udp", "127.0.0.4:3"});
    BOOST_TEST(c.listen.size() == 2u);
    BOOST_TEST(format_endpoint(c.listen.at(1)) == "[::1]:7");
    BOOST_TEST(c.tcp.size() == 1u);
    BOOST_TEST(format_endpoint(c.tcp.at(0)) == "127.0.0.2:1");
    BOOST_TEST(c.udp.size() == 2u);
    BOOST_TEST(format_endpoint(c.udp.at(1)) == "127.0.0.4:3");
}

BOOST_AUTO_TEST_CASE(accept_proxy_endpoints_trusted_proxies_and_header_timeout_are_read) {
    auto c = config_of({"--accept-proxy", "127.0.0.1:0", "--accept-proxy", "[::1]:8007",
                        "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1",
                        "--proxy-header-timeout", "1.5"});
    // Only PROXY endpoints named: no default --listen beside them.
    BOOST_TEST(c.listen.empty());
    BOOST_TEST(c.accept_proxy.size() == 2u);
    BOOST_TEST(format_endpoint(c.accept_proxy.at(1)) == "[::1]:8007");
    BOOST_TEST(c.trusted_proxies.size() == 2u);
    BOOST_TEST(format_network(c.trusted_proxies.at(0)) == "10.0.0.0/8");
    BOOST_TEST(format_network(c.trusted_proxies.at(1)) == "::1/128");
    BOOST_TEST(c.proxy_header_timeout.count() == 1500);
    auto d = config_of({});
    BOOST_TEST(d.accept_proxy.empty());
    BOOST_TEST(d.trusted_proxies.empty());
    BOOST_TEST(d.proxy_header_timeout.count() == 5000);

    // In a config file too; an endpoint on the command line replaces the file's, these too.
    config_file file("accept-proxy = 127.0.0.1:8007\ntrusted-proxy = 127.0.0.1/32\n");
    auto from_file = config_of({"--config", file.path});
    BOOST_TEST(from_file.accept_proxy.size() == 1u);
    BOOST_TEST(from_file.listen.empty());
    BOOST_TEST(from_file.trusted_proxies.size() == 1u);
    auto overridden = config_of({"--config", file.path, "--tcp", "127.0.0.1:0"});
    BOOST_TEST(overridden.accept_proxy.empty());
    BOOST_TEST(overridden.tcp.size() == 1u);
    BOOST_TEST(overridden.trusted_proxies.size() == 1u); // not an endpoint: the file's stays
}

BOOST_AUTO_TEST_CASE(tls_endpoints_files_version_and_timeout_are_read) {
    auto c = config_of({"--tls", "127.0.0.1:0", "--tls", "[::1]:7443", "--tls-cert", "c.pem",
                        "--tls-key", "k.pem", "--tls-client-ca", "ca.pem", "--tls-min-version",
                        "1.3", "--tls-handshake-timeout", "2.5"});
    BOOST_TEST(c.listen.empty()); // only TLS named: no default --listen beside it
    BOOST_TEST(c.tls.size() == 2u);
    BOOST_TEST(format_endpoint(c.tls.at(1)) == "[::1]:7443");
    BOOST_TEST(c.tls_cert.value() == "c.pem");
    BOOST_TEST(c.tls_key.value() == "k.pem");
    BOOST_TEST(c.tls_client_ca.value() == "ca.pem");
    BOOST_TEST((c.tls_min_version == tls_version::v1_3));
    BOOST_TEST(c.tls_handshake_timeout.count() == 2500);
    auto d = config_of({});
    BOOST_TEST((d.tls_min_version == tls_version::v1_2));
    BOOST_TEST(d.tls_handshake_timeout.count() == 10000);
    BOOST_TEST(!d.tls_cert.has_value());
    config_file file("tls = 127.0.0.1:7443\ntls-cert = /etc/c.pem\ntls-key = /etc/k.pem\n");
    auto from_file = config_of({"--config", file.path});
    BOOST_TEST(from_file.tls.size() == 1u);
    BOOST_TEST(from_file.tls_cert.value() == "/etc/c.pem");
}

BOOST_AUTO_TEST_CASE(mode_threads_level_and_buffer_are_read) {
    auto c = config_of({"--mode", "upper", "--threads", "3", "--log-level", "debug",
                        "--buffer-size", "4096", "--io-model", "shared"});
    BOOST_TEST((c.echo_mode == mode::upper));
    BOOST_TEST(c.threads == 3u);
    BOOST_TEST((c.level == log_level::debug));
    BOOST_TEST(c.buffer_size == 4096u);
    BOOST_TEST((c.model == io_model::shared));
}

BOOST_AUTO_TEST_CASE(help_and_version_produce_text_and_no_config) {
    auto help = parse({"--help"});
    BOOST_TEST(!help.config);
    BOOST_TEST(help.output.find("Usage: echo-server [OPTIONS]") == 0u);
    for (const char* option : {"--listen", "--tcp", "--udp", "--mode", "--threads", "--config",
                               "--log-level", "--version", "--accept-proxy", "--trusted-proxy",
                               "--proxy-header-timeout", "--tls", "--tls-cert", "--tls-key",
                               "--tls-client-ca", "--tls-min-version", "--tls-handshake-timeout"}) {
        BOOST_TEST(help.output.find(option) != std::string::npos, option);
    }
    auto v = parse({"--version"});
    BOOST_TEST(!v.config);
    BOOST_TEST(v.output == std::string("echo-server ") + version() + "\n");
}

BOOST_AUTO_TEST_CASE(config_file_values_apply) {
    config_file file("# comment\nlisten = 127.0.0.1:7000\nlisten = [::1]:7001\n"
                     "udp = 127.0.0.1:7002\nmode = upper\nthreads = 2\nlog-level = warn\n");
    auto c = config_of({"--config", file.path});
    BOOST_TEST(c.listen.size() == 2u);
    BOOST_TEST(format_endpoint(c.listen.at(1)) == "[::1]:7001");
    BOOST_TEST(c.udp.size() == 1u);
    BOOST_TEST((c.echo_mode == mode::upper));
    BOOST_TEST(c.threads == 2u);
    BOOST_TEST((c.level == log_level::warn));
    BOOST_TEST(c.config_file.value() == file.path);
}

BOOST_AUTO_TEST_CASE(command_line_overrides_the_file) {
    config_file file("listen = 127.0.0.1:7000\nudp = 127.0.0.1:7002\nmode = upper\nthreads = 2\n");
    auto c = config_of({"-c", file.path, "--mode", "echo", "--tcp", "127.0.0.1:8000"});
    // Any endpoint on the command line replaces all of the file's endpoints.
    BOOST_TEST(c.listen.empty());
    BOOST_TEST(c.udp.empty());
    BOOST_TEST(c.tcp.size() == 1u);
    BOOST_TEST(format_endpoint(c.tcp.at(0)) == "127.0.0.1:8000");
    BOOST_TEST((c.echo_mode == mode::echo));
    BOOST_TEST(c.threads == 2u); // not given on the command line: the file's value stays
}

BOOST_AUTO_TEST_CASE(unreadable_config_file_is_a_usage_error_naming_it) {
    BOOST_TEST(usage_message({"--config", "/nonexistent/echo.conf"}) ==
               "cannot read config file '/nonexistent/echo.conf': No such file or directory");
}

BOOST_AUTO_TEST_CASE(bad_config_file_content_names_the_file) {
    config_file unknown("colour = blue\n");
    BOOST_TEST(usage_message({"--config", unknown.path}) ==
               "config file '" + unknown.path + "': unrecognised option 'colour'");
    config_file bad_endpoint("listen = 127.0.0.1:99999\n");
    BOOST_TEST(
        usage_message({"--config", bad_endpoint.path}) ==
        "invalid endpoint '127.0.0.1:99999' for --listen: port 99999 is out of range 0-65535");
    config_file placeholder("%option% = 1\n");
    BOOST_TEST(usage_message({"--config", placeholder.path}) ==
               "config file '" + placeholder.path + "': unrecognised option '%option%'");
    config_file nested("config = other.conf\n");
    BOOST_TEST(usage_message({"--config", nested.path}) ==
               "config file '" + nested.path +
                   "': option 'config' is only valid on the command line");
}

namespace {

struct bad_args {
    std::vector<std::string> args;
    const char* message;
};

std::ostream& operator<<(std::ostream& out, const bad_args& b) {
    for (const auto& a : b.args) {
        out << a << ' ';
    }
    return out;
}

const bad_args bad_arg_cases[] = {
    {{"--bogus"}, "unrecognised option '--bogus'"},
    {{"--listen", "nope"}, "invalid endpoint 'nope' for --listen: missing ':PORT'"},
    {{"--allow", "300.1.1.1/8"},
     "invalid value '300.1.1.1/8' for --allow: not an IPv4 or IPv6 address before '/'"},
    {{"--deny", "10.0.0.0/40"},
     "invalid value '10.0.0.0/40' for --deny: prefix length 40 is out of range 0-32"},
    {{"--deny", "nonsense"}, "invalid value 'nonsense' for --deny: not an IPv4 or IPv6 address"},
    {{"--allow", "10.0.0.1/8"}, "invalid value '10.0.0.1/8' for --allow: host bits set beyond /8"},
    {{"--tcp", "127.0.0.1:65536"},
     "invalid endpoint '127.0.0.1:65536' for --tcp: port 65536 is out of range 0-65535"},
    {{"--udp", "::1:9"},
     "invalid endpoint '::1:9' for --udp: write IPv6 addresses in brackets, as [::1]:PORT"},
    {{"--accept-proxy", "127.0.0.1:65536"},
     "invalid endpoint '127.0.0.1:65536' for --accept-proxy: port 65536 is out of range 0-65535"},
    {{"--accept-proxy", "::1:9"},
     "invalid endpoint '::1:9' for --accept-proxy: write IPv6 addresses in brackets, as "
     "[::1]:PORT"},
    {{"--trusted-proxy", "nonsense"},
     "invalid value 'nonsense' for --trusted-proxy: not an IPv4 or IPv6 address"},
    {{"--trusted-proxy", "2001:db8::/129"},
     "invalid value '2001:db8::/129' for --trusted-proxy: prefix length 129 is out of range "
     "0-128"},
    {{"--proxy-header-timeout", "0"},
     "invalid value '0' for --proxy-header-timeout: must be above 0 seconds (a header that never "
     "comes would hold a slot)"},
    {{"--proxy-header-timeout", "4000"},
     "invalid value '4000' for --proxy-header-timeout: must be 0 to 3600 seconds"},
    {{"--tls", "127.0.0.1:0"}, "--tls needs --tls-cert and --tls-key"},
    {{"--tls-key", "k.pem"}, "--tls-key needs --tls-cert (its certificate)"},
    {{"--tls-client-ca", "ca.pem"}, "--tls-client-ca needs --tls-cert and --tls-key"},
    {{"--tls-cert", ""}, "invalid value '' for --tls-cert: an empty file name"},
    {{"--tls-min-version", "TLSv1.3"},
     "invalid value 'TLSv1.3' for --tls-min-version: expected 1.2 or 1.3"},
    {{"--tls", "127.0.0.1:99999", "--tls-cert", "c", "--tls-key", "k"},
     "invalid endpoint '127.0.0.1:99999' for --tls: port 99999 is out of range 0-65535"},
    {{"--threads", "0"}, "invalid value '0' for --threads: must be 1 to 1024"},
    {{"--threads", "two"}, "invalid value 'two' for --threads: not a number"},
    {{"--threads", "-1"}, "invalid value '-1' for --threads: not a number"},
    {{"--mode", "reverse"}, "unknown mode 'reverse' (expected echo or upper)"},
    {{"--log-level", "loud"},
     "unknown log level 'loud' (expected error, warn, notice, info or debug)"},
    {{"--buffer-size", "1"}, "invalid value '1' for --buffer-size: must be 512 to 16777216"},
    {{"--io-model", "magic"},
     "unknown io model 'magic' (expected per-thread, shared or reuse-port)"},
    {{"--mode"}, "the required argument for option '--mode' is missing"},
    {{"stray"}, "unexpected argument 'stray'"},
    // Words holding Program_options' own placeholders (its what() loops forever on these).
    {{"--%canonical_option%"}, "unrecognised option '--%canonical_option%'"},
    {{"--x%original_token%%value%"}, "unrecognised option '--x%original_token%%value%'"},
    {{"-%prefix%"}, "unrecognised option '-%prefix%'"},
};

} // namespace

BOOST_DATA_TEST_CASE(bad_arguments_give_one_line_naming_the_problem, bdata::make(bad_arg_cases),
                     c) {
    auto message = usage_message(c.args);
    BOOST_TEST(message == c.message);
    BOOST_TEST(message.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_directory_as_config_file_is_a_usage_error) {
    BOOST_TEST(usage_message({"--config", "/"}) == "cannot read config file '/': Is a directory");
}

BOOST_AUTO_TEST_CASE(a_utf8_byte_order_mark_before_the_first_key_is_accepted) {
    config_file file("\xEF\xBB\xBFmode = upper\n");
    BOOST_TEST((config_of({"--config", file.path}).echo_mode == mode::upper));
}

BOOST_AUTO_TEST_CASE(durations_below_1_ms_are_refused_and_0_means_never) {
    BOOST_TEST(usage_message({"--idle-timeout", "0.0001"}) ==
               "invalid value '0.0001' for --idle-timeout: below the resolution of 0.001 seconds"
               " (0 means never)");
    BOOST_TEST(usage_message({"--stats-interval", "0.000001"}) ==
               "invalid value '0.000001' for --stats-interval: below the resolution of 0.001"
               " seconds (0 means never)");
    auto c =
        config_of({"--idle-timeout", "0", "--stats-interval", "0.001", "--drain-timeout", "1.5"});
    BOOST_TEST(c.idle_timeout.count() == 0);
    BOOST_TEST(c.stats_interval.count() == 1);
    BOOST_TEST(c.drain_timeout.count() == 1500);
}

namespace {

const char* const number_options[] = {"threads",
                                      "buffer-size",
                                      "max-connections",
                                      "udp-rate",
                                      "udp-burst",
                                      "idle-timeout",
                                      "drain-timeout",
                                      "stats-interval",
                                      "max-connections-per-source",
                                      "proxy-header-timeout",
                                      "tls-handshake-timeout"};
// One syntax everywhere: plain decimal digits (seconds may add ".digits").
const char* const not_numbers[] = {"0x10", "1e3", "inf", "nan", " 5",  "+5",   "-5",
                                   "5 ",   "",    "1.",  ".5",  "1,5", "0x1p4"};

} // namespace

BOOST_DATA_TEST_CASE(every_number_has_one_plain_decimal_syntax,
                     bdata::make(number_options) * bdata::make(not_numbers), option, text) {
    BOOST_TEST(usage_message({std::string("--") + option, text}) ==
               std::string("invalid value '") + text + "' for --" + option + ": not a number");
}

BOOST_AUTO_TEST_CASE(udp_drop_ports_add_to_the_defaults_and_none_clears_them) {
    auto added = config_of({"--udp-drop-ports", "40000"}).udp_drop_ports;
    for (unsigned port : {7u, 19u, 53u, 123u, 40000u}) {
        BOOST_TEST((std::find(added.begin(), added.end(), port) != added.end()), port);
    }
    BOOST_TEST(added.size() == config_of({}).udp_drop_ports.size() + 1);
    BOOST_TEST(config_of({"--udp-drop-ports", "none"}).udp_drop_ports.empty());
    BOOST_TEST((config_of({"--udp-drop-ports", "none,40000"}).udp_drop_ports ==
                std::vector<std::uint16_t>{40000}));
    config_file file("udp-drop-ports = 40000\n");
    BOOST_TEST(config_of({"--config", file.path}).udp_drop_ports == added);
    BOOST_TEST(usage_message({"--udp-drop-ports", ""}) ==
               "invalid value '' for --udp-drop-ports: empty (write 'none' to drop none)");
    BOOST_TEST(usage_message({"--udp-drop-ports", "7,none"}) ==
               "invalid port 'none' in --udp-drop-ports '7,none' ('none' must come first)");
}

BOOST_AUTO_TEST_CASE(messages_are_one_printable_line_with_values_cut) {
    // A newline or an escape sequence in a value is shown escaped, never executed.
    BOOST_TEST(usage_message({"--mode", "upper\nfake: x"}) ==
               "unknown mode 'upper\\x0afake: x' (expected echo or upper)");
    config_file escape("mode = \x1b]0;owned\x07\n");
    BOOST_TEST(usage_message({"--config", escape.path}) ==
               "unknown mode '\\x1b]0;owned\\x07' (expected echo or upper)");
    // A NUL in a key no longer ends the message.
    config_file nul(std::string("li\0sten = 127.0.0.1:1\n", 22));
    BOOST_TEST(usage_message({"--config", nul.path}) ==
               "config file '" + nul.path + "': unrecognised option 'li\\x00sten'");
    // A huge value is cut to 200 bytes with a mark; what failed is still named.
    config_file huge("threads = " + std::string(1 << 20, '9') + "\n");
    auto message = usage_message({"--config", huge.path});
    BOOST_TEST(message ==
               "invalid value '" + std::string(200, '9') + "...' for --threads: must be 1 to 1024");
}

BOOST_AUTO_TEST_CASE(reload_arguments_are_the_command_line) {
    config_file file("stats-interval = 1\n");
    auto c = config_of({"-c", file.path, "--log-level", "error"});
    BOOST_TEST((c.arguments == std::vector<std::string>{"-c", file.path, "--log-level", "error"}));
    // Parsed again, as a reload does, the command line still overrides the file.
    std::vector<std::string> again = c.arguments;
    auto fresh = config_of(again);
    BOOST_TEST((fresh.level == log_level::error));
    BOOST_TEST(fresh.stats_interval.count() == 1000);
}

BOOST_AUTO_TEST_CASE(shipped_config_shows_the_real_defaults) {
    // Each "#key = value" line of the shipped config, uncommented, must change nothing; lines
    // marked "# example" show a value that is not the default.
    std::ifstream in(SHIPPED_CONFIG);
    BOOST_REQUIRE(in);
    auto defaults = config_of({});
    int claims = 0;
    for (std::string line; std::getline(in, line);) {
        bool setting = line.size() > 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
                       line.find(" = ") != std::string::npos;
        if (!setting || line.find("# example") != std::string::npos) {
            continue;
        }
        config_file file(line.substr(1) + "\n");
        auto c = config_of({"--config", file.path});
        c.config_file.reset();
        c.arguments.clear();
        BOOST_TEST((c == defaults), "not the default: " << line);
        ++claims;
    }
    BOOST_TEST(claims >= 13);
}
