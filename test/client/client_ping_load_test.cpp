// echo-client ping and load, through the real binary, against an in-process server on
// loopback port 0.
#define BOOST_TEST_MODULE client_ping_load
#include <boost/test/unit_test.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;

namespace {

std::string at(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

run_result client(std::vector<std::string> args) {
    return run_program(ECHO_CLIENT_PATH, args);
}

/// The flat JSON object echo-client prints, with "a.b" reaching one level into a nested
/// object. Enough for these tests (no arrays, no escapes in the keys checked).
class json_view {
public:
    explicit json_view(std::string text) : text_(std::move(text)) {}

    bool has(const std::string& key) const { return raw(key).has_value(); }

    std::string text(const std::string& key) const {
        auto value = raw(key).value_or("");
        return value.size() >= 2 ? value.substr(1, value.size() - 2) : value;
    }

    double number(const std::string& key) const {
        auto value = raw(key);
        BOOST_REQUIRE_MESSAGE(value, "missing field " << key << " in " << text_);
        return std::stod(*value);
    }

private:
    std::optional<std::string> raw(const std::string& key) const {
        std::size_t from = 0;
        std::string leaf = key;
        if (auto dot = key.find('.'); dot != std::string::npos) {
            from = text_.find("\"" + key.substr(0, dot) + "\":{");
            if (from == std::string::npos) {
                return std::nullopt;
            }
            leaf = key.substr(dot + 1);
        }
        auto at = text_.find("\"" + leaf + "\":", from);
        if (at == std::string::npos) {
            return std::nullopt;
        }
        at += leaf.size() + 3;
        auto end = text_.find_first_of(",}", at);
        return text_.substr(at, end - at);
    }

    std::string text_;
};

json_view parse_json(const std::string& text) {
    BOOST_TEST_REQUIRE(text.size() > 2u);
    BOOST_TEST(text.front() == '{');
    BOOST_TEST(text.substr(text.size() - 2) == "}\n");
    return json_view(text);
}

void require_load_fields(const json_view& json) {
    for (const char* key :
         {"mode", "protocol", "connections", "messages", "bytes", "errors", "mismatches",
          "msgs_per_sec", "mb_per_sec", "latency_us.p50", "latency_us.p90", "latency_us.p99",
          "latency_us.p999", "latency_us.max"}) {
        BOOST_TEST(json.has(key), "missing field " << key);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(ping_tcp_prints_a_line_per_probe_and_the_summary) {
    running_server server(loopback_config());
    auto target = at(server.tcp_port());
    auto r = client({"ping", "--connect", target, "--count", "3", "--interval", "0.05"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.err == "");
    const std::string prefix = "64 bytes from " + target + ": seq=";
    std::istringstream lines(r.out);
    std::string line;
    std::vector<std::string> seqs;
    while (std::getline(lines, line)) {
        if (line.rfind(prefix, 0) == 0 && line.size() > 3 &&
            line.compare(line.size() - 3, 3, " ms") == 0 && line.find(" time=") != line.npos) {
            seqs.push_back(
                line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size()));
        }
    }
    BOOST_TEST((seqs == std::vector<std::string>{"0", "1", "2"}), r.out);
    BOOST_TEST(r.out.find("--- " + target +
                          " ping statistics ---\n"
                          "3 sent, 3 received, 0% lost, 0 mismatched, time ") != std::string::npos,
               r.out);
    BOOST_TEST(r.out.find("rtt min/avg/max/stddev = ") != std::string::npos);
    BOOST_TEST(r.out.find("rtt p50/p90/p99 = ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ping_udp_json_counts_sent_received_lost) {
    running_server server(loopback_config());
    auto r = client({"ping", "--connect", at(server.udp_port()), "--udp", "--count", "3",
                     "--interval", "0.05", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    auto json = parse_json(r.out);
    BOOST_TEST(json.text("mode") == "ping");
    BOOST_TEST(json.text("protocol") == "udp");
    BOOST_TEST(json.number("sent") == 3);
    BOOST_TEST(json.number("received") == 3);
    BOOST_TEST(json.number("lost") == 0);
    BOOST_TEST(json.number("mismatches") == 0);
    require_load_fields(json);
}

BOOST_AUTO_TEST_CASE(ping_against_an_upper_server_reports_mismatches_unless_expected) {
    running_server server(loopback_config(mode::upper));
    auto target = at(server.tcp_port());
    auto wrong = client({"ping", "--connect", target, "--count", "2", "--interval", "0.01"});
    BOOST_TEST(wrong.code == 1);
    BOOST_TEST(wrong.out.find("2 sent, 2 received, 0% lost, 2 mismatched") != std::string::npos,
               wrong.out);
    auto right = client(
        {"ping", "--connect", target, "--count", "2", "--interval", "0.01", "--expect", "upper"});
    BOOST_TEST(right.code == 0, right.err);
}

BOOST_AUTO_TEST_CASE(load_tcp_json_has_every_field_and_no_mismatch) {
    running_server server(loopback_config());
    auto r = client({"load", "--connect", at(server.tcp_port()), "--connections", "4", "--duration",
                     "0.5", "--pipeline", "2", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.err == ""); // stderr is not a terminal: no progress line
    auto json = parse_json(r.out);
    require_load_fields(json);
    BOOST_TEST(json.text("mode") == "load");
    BOOST_TEST(json.text("protocol") == "tcp");
    BOOST_TEST(json.number("connections") == 4);
    BOOST_TEST(json.number("messages") > 0);
    BOOST_TEST(json.number("bytes") == 64 * json.number("messages"));
    BOOST_TEST(json.number("errors") == 0);
    BOOST_TEST(json.number("mismatches") == 0);
    BOOST_TEST(json.number("latency_us.max") >= json.number("latency_us.p50"));
}

BOOST_AUTO_TEST_CASE(load_udp_json_has_no_mismatch) {
    running_server server(loopback_config());
    auto r = client({"load", "--connect", at(server.udp_port()), "--udp", "--connections", "4",
                     "--duration", "0.5", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    auto json = parse_json(r.out);
    require_load_fields(json);
    BOOST_TEST(json.text("protocol") == "udp");
    BOOST_TEST(json.number("messages") > 0);
    BOOST_TEST(json.number("mismatches") == 0);
}

BOOST_AUTO_TEST_CASE(load_at_a_fixed_rate_sends_about_that_many) {
    running_server server(loopback_config());
    auto r = client({"load", "--connect", at(server.tcp_port()), "--connections", "2", "--duration",
                     "1", "--rate", "200", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    auto json = parse_json(r.out);
    auto messages = json.number("messages");
    BOOST_TEST((messages >= 180 && messages <= 202), "messages " << messages);
}

BOOST_AUTO_TEST_CASE(load_expect_upper_passes_against_an_upper_server_and_fails_without) {
    running_server server(loopback_config(mode::upper));
    auto target = at(server.tcp_port());
    auto right = client({"load", "--connect", target, "--connections", "2", "--duration", "0.3",
                         "--expect", "upper", "--json"});
    BOOST_TEST(right.code == 0, right.err);
    BOOST_TEST(parse_json(right.out).number("mismatches") == 0);
    BOOST_TEST(parse_json(right.out).number("messages") > 0);

    auto wrong =
        client({"load", "--connect", target, "--connections", "2", "--duration", "0.3", "--json"});
    BOOST_TEST(wrong.code == 1);
    BOOST_TEST(parse_json(wrong.out).number("mismatches") > 0);
    BOOST_TEST(wrong.err.rfind("echo-client: ", 0) == 0u);
    BOOST_TEST(wrong.err.find("mismatched") != std::string::npos, wrong.err);

    auto udp = client({"load", "--connect", at(server.udp_port()), "--udp", "--connections", "2",
                       "--duration", "0.3", "--json"});
    BOOST_TEST(udp.code == 1);
    BOOST_TEST(parse_json(udp.out).number("mismatches") > 0);
}
