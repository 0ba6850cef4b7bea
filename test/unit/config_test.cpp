#define BOOST_TEST_MODULE config
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

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
                               "--log-level", "--version"}) {
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
    BOOST_TEST(usage_message({"--config", bad_endpoint.path}) ==
               "invalid endpoint '127.0.0.1:99999': port 99999 is out of range 0-65535");
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
    {{"--listen", "nope"}, "invalid endpoint 'nope': missing ':PORT'"},
    {{"--tcp", "127.0.0.1:65536"},
     "invalid endpoint '127.0.0.1:65536': port 65536 is out of range 0-65535"},
    {{"--udp", "::1:9"},
     "invalid endpoint '::1:9': write IPv6 addresses in brackets, as [::1]:PORT"},
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
