// SPDX-License-Identifier: BSL-1.0
// echo-client ping and load, through the real binary, against an in-process server on
// loopback port 0.
#define BOOST_TEST_MODULE client_ping_load
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "in_child.hpp"
#include "posix_echo.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

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

    bool flag(const std::string& key) const { return raw(key).value_or("") == "true"; }

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

/// A run of echo-client with its wall time.
struct timed_run {
    run_result result;
    std::chrono::duration<double> took;
};

timed_run timed_client(const std::vector<std::string>& args) {
    auto start = std::chrono::steady_clock::now();
    child_process child(ECHO_CLIENT_PATH, args);
    auto code = child.wait_exit(30s);
    BOOST_REQUIRE_MESSAGE(code, "echo-client did not exit within 30 s");
    return {{*code, child.out(), child.err()}, std::chrono::steady_clock::now() - start};
}

/// Every message sent in the window is received, lost or still in flight: checks that the
/// JSON says so.
void require_accounted(const json_view& json, const std::string& what) {
    BOOST_TEST(json.has("in_flight"), what << ": no in_flight field");
    if (!json.has("in_flight")) {
        return;
    }
    BOOST_TEST(json.number("sent") ==
                   json.number("received") + json.number("lost") + json.number("in_flight"),
               what << ": sent " << json.number("sent") << " != received "
                    << json.number("received") << " + lost " << json.number("lost")
                    << " + in flight " << json.number("in_flight"));
    BOOST_TEST(json.number("received") == json.number("messages"), what);
}

/// Load runs with large messages and deep pipelines, parameters drawn from seed, against a
/// correct echo server on port: none may report a mismatch, a loss or an error, and each ends
/// at its duration plus the grace (1 s), not at the --timeout (5 s).
void load_runs_verify_cleanly(std::uint16_t port, std::uint64_t seed, int runs) {
    std::mt19937_64 draw(seed);
    int bad = 0;
    for (int i = 0; i < runs; ++i) {
        struct shape {
            unsigned size, pipeline, connections;
        };
        const shape shapes[] = {{65536, 64, 2},
                                {4194304, 1, 1},
                                {4194304, 4, 1},
                                {1000003, 16, 3},
                                {1 + static_cast<unsigned>(draw() % 300000), 8, 2}};
        auto s = shapes[draw() % std::size(shapes)];
        const double duration = 0.3;
        std::vector<std::string> args = {"load",
                                         "--connect",
                                         at(port),
                                         "--size",
                                         std::to_string(s.size),
                                         "--pipeline",
                                         std::to_string(s.pipeline),
                                         "--connections",
                                         std::to_string(s.connections),
                                         "--duration",
                                         "0.3",
                                         "--threads",
                                         std::to_string(1 + draw() % 2),
                                         "--json"};
        auto what = "seed " + std::to_string(seed) + " run " + std::to_string(i) + ": size " +
                    std::to_string(s.size) + " pipeline " + std::to_string(s.pipeline) +
                    " connections " + std::to_string(s.connections);
        auto [r, took] = timed_client(args);
        auto json = parse_json(r.out);
        bool clean = r.code == 0 && json.number("mismatches") == 0 && json.number("lost") == 0 &&
                     json.number("errors") == 0;
        bad += clean ? 0 : 1;
        BOOST_TEST(r.code == 0, what << ": " << r.err);
        BOOST_TEST(json.number("mismatches") == 0, what);
        BOOST_TEST(json.number("lost") == 0, what);
        BOOST_TEST(json.number("errors") == 0, what);
        BOOST_TEST(json.number("messages") > 0, what);
        BOOST_TEST(took.count() < duration + 1.0 + 1.5, what << ": took " << took.count() << " s");
        require_accounted(json, what);
    }
    BOOST_TEST_MESSAGE("seed " << seed << ": " << bad << " of " << runs
                               << " runs reported mismatches, losses or errors");
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

BOOST_AUTO_TEST_CASE(load_with_large_messages_and_deep_pipelines_verifies_against_echo_server) {
    running_server server(loopback_config(mode::echo, 2));
    load_runs_verify_cleanly(server.tcp_port(), 12, 10);
}

BOOST_AUTO_TEST_CASE(load_with_large_messages_and_deep_pipelines_verifies_against_another_server) {
    posix_tcp_echo other;
    load_runs_verify_cleanly(other.port(), 1212, 10);
}

BOOST_AUTO_TEST_CASE(load_at_a_rate_counts_every_message_once) {
    // --rate races a timer against the reads: no completed read may be thrown away.
    running_server server(loopback_config());
    for (int i = 0; i < 3; ++i) {
        auto [r, took] = timed_client({"load", "--connect", at(server.tcp_port()), "--size",
                                       "20000", "--connections", "4", "--pipeline", "4", "--rate",
                                       "4000", "--duration", "0.4", "--json"});
        BOOST_TEST(r.code == 0, r.err);
        auto json = parse_json(r.out);
        BOOST_TEST(json.number("mismatches") == 0);
        BOOST_TEST(json.number("lost") == 0);
        require_accounted(json, "tcp at a rate");
    }
}

BOOST_AUTO_TEST_CASE(load_reports_replies_still_owed_at_the_end_as_in_flight_and_ends_on_time) {
    posix_tcp_echo stalled(posix_tcp_echo::kind::silent);
    auto [r, took] =
        timed_client({"load", "--connect", at(stalled.port()), "--connections", "3", "--pipeline",
                      "2", "--duration", "0.3", "--timeout", "5", "--json"});
    auto json = parse_json(r.out);
    require_accounted(json, "a stalled server");
    BOOST_TEST(json.number("in_flight") == 6);
    BOOST_TEST(json.number("lost") == 0);
    BOOST_TEST(json.number("received") == 0);
    BOOST_TEST(took.count() < 0.3 + 1.0 + 1.5, "took " << took.count() << " s");
    BOOST_TEST(r.code == 1); // nothing came back: a failed check
    BOOST_TEST(r.err == "echo-client: no reply completed in the measured window\n");
}

BOOST_AUTO_TEST_CASE(udp_load_accounts_for_every_datagram_and_a_real_loss_fails) {
    posix_udp_echo lossy(5); // answers 4 datagrams of 5
    auto [r, took] =
        timed_client({"load", "--connect", at(lossy.port()), "--udp", "--connections", "2",
                      "--pipeline", "4", "--duration", "0.4", "--timeout", "0.1", "--json"});
    auto json = parse_json(r.out);
    require_accounted(json, "udp, one in five dropped");
    BOOST_TEST(json.number("lost") > 0);
    BOOST_TEST(json.number("mismatches") == 0);
    BOOST_TEST(r.code == 1);
    BOOST_TEST(r.err.find(" lost") != std::string::npos, r.err);

    // The text report says the same: "sent S: received R, lost L, in flight F".
    auto text = timed_client({"load", "--connect", at(lossy.port()), "--udp", "--connections", "2",
                              "--pipeline", "4", "--duration", "0.4", "--timeout", "0.1"})
                    .result;
    unsigned long long sent = 0, received = 0, lost = 0, in_flight = 0;
    auto line = text.out.find("\nsent ");
    BOOST_TEST_REQUIRE(line != std::string::npos, text.out);
    BOOST_TEST_REQUIRE(std::sscanf(text.out.c_str() + line + 1,
                                   "sent %llu: received %llu, lost %llu, in flight %llu", &sent,
                                   &received, &lost, &in_flight) == 4,
                       text.out);
    BOOST_TEST(sent == received + lost + in_flight, text.out);
    BOOST_TEST(lost > 0u, text.out);
    BOOST_TEST(text.code == 1);
}

BOOST_AUTO_TEST_CASE(further_signals_while_stopping_do_not_lose_the_report) {
    // Ctrl-C pressed again and again (or `timeout`'s signal to the process and then its group),
    // against a server (replies come back at once) and a sink (replies stay owed, so the run
    // waits for them after the first signal): the report must be out every time.
    running_server server(loopback_config(mode::echo, 2));
    posix_tcp_echo sink(posix_tcp_echo::kind::sink);
    int lost = 0;
    const int runs = 16;
    for (int i = 0; i < runs; ++i) {
        int signal_number = (i / 2) % 2 == 0 ? SIGINT : SIGTERM;
        bool to_sink = i % 2 == 1;
        auto received = [&] {
            return to_sink ? sink.bytes_in() : server.get().counters().tcp_bytes_in;
        };
        auto before = received();
        child_process child(ECHO_CLIENT_PATH,
                            {"load", "--connect", at(to_sink ? sink.port() : server.tcp_port()),
                             "--size", "65536", "--pipeline", "16", "--connections", "4",
                             "--duration", "10"});
        // Signals are handled once traffic flows: wait for the server to receive some. From the
        // server, wait for more than the first windows (4 connections x 16 x 64 KiB): a
        // connection sends beyond its window only after a reply completed, so the run has one
        // to report and exits 0 (a signal before any reply is exit 1, rightly).
        auto enough = before + (to_sink ? 0 : 4ull * 16 * 65536);
        BOOST_TEST_REQUIRE(eventually([&] { return received() > enough; }, 5000ms));
        child.send_signal(signal_number);
        std::optional<int> code;
        // Another signal every 20 ms until it exits (bounded by the deadline).
        eventually(
            [&] {
                child.send_signal(signal_number);
                code = child.wait_exit(0ms);
                return code.has_value();
            },
            5000ms);
        BOOST_TEST_REQUIRE(code.has_value(), "run " << i << ": still running after 5 s");
        bool reported = child.out().find(" messages in ") != std::string::npos &&
                        child.out().find("latency us:") != std::string::npos;
        lost += reported ? 0 : 1;
        if (!to_sink) {
            BOOST_TEST(*code == 0, "run " << i << ": " << child.err());
        }
        BOOST_TEST(reported, "run " << i << (to_sink ? " (sink)" : " (server)") << " signal "
                                    << signal_number << ": exit " << *code << ", stdout '"
                                    << child.out() << "'");
    }
    BOOST_TEST_MESSAGE(lost << " of " << runs << " repeated-signal runs lost the report");
}

BOOST_AUTO_TEST_CASE(load_over_the_descriptor_limit_names_the_local_limit_and_exits_71) {
    running_server server(loopback_config());
    auto r = run_program("/bin/sh", {"-c", "ulimit -n 64 && exec \"$0\" \"$@\"", ECHO_CLIENT_PATH,
                                     "load", "--connect", at(server.tcp_port()), "--connections",
                                     "200", "--duration", "0.2"});
    BOOST_TEST(r.code == 71, r.err);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err.find("Too many open files") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("ulimit -n") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("64") != std::string::npos, r.err);
    BOOST_TEST(r.err.find('\n') == r.err.size() - 1, "one line: " << r.err);
}

namespace {

/// p50 <= p90 <= p99 <= max of a percentile object ("connect_us", "latency_us", ...).
void require_ordered(const json_view& json, const std::string& object) {
    auto p50 = json.number(object + ".p50");
    auto p90 = json.number(object + ".p90");
    auto p99 = json.number(object + ".p99");
    auto max = json.number(object + ".max");
    BOOST_TEST((p50 <= p90 && p90 <= p99 && p99 <= max),
               object << ": " << p50 << " " << p90 << " " << p99 << " " << max);
}

/// The --reconnect fields agree with each other and with the rest of the report; every echo
/// was checked, each slot made more than one connection.
void require_reconnect_report(const json_view& json, double slots, const std::string& what) {
    BOOST_TEST(json.flag("reconnect"), what);
    BOOST_TEST(json.number("connections") == slots, what);
    auto made = json.number("connections_made");
    BOOST_TEST(made >= 2 * slots, what << ": " << made << " connections for " << slots);
    // One message per connection: every one begun in the window came back and was closed.
    BOOST_TEST(json.number("messages") >= made, what);
    BOOST_TEST(json.number("messages") <= made + slots, what);
    BOOST_TEST(json.number("bytes") == 64 * json.number("messages"), what);
    auto expected_rate = made / json.number("seconds");
    BOOST_TEST(std::abs(json.number("connections_per_second") - expected_rate) <=
                   0.001 * expected_rate + 0.01,
               what << ": " << json.number("connections_per_second") << " vs " << expected_rate);
    BOOST_TEST(json.number("errors") == 0, what);
    BOOST_TEST(json.number("mismatches") == 0, what);
    BOOST_TEST(json.number("lost") == 0, what);
    require_ordered(json, "connect_us");
    require_ordered(json, "latency_us");
    require_accounted(json, what);
}

} // namespace

BOOST_AUTO_TEST_CASE(load_reconnect_over_tcp_opens_a_connection_per_echo_and_checks_each) {
    running_server server(loopback_config());
    auto before = server.get().counters().connections_accepted;
    auto r = client({"load", "--connect", at(server.tcp_port()), "--reconnect", "--connections",
                     "4", "--duration", "0.5", "--json"});
    BOOST_TEST(r.code == 0, r.err);
    BOOST_TEST(r.err == "");
    auto json = parse_json(r.out);
    require_load_fields(json);
    BOOST_TEST(json.text("protocol") == "tcp");
    require_reconnect_report(json, 4, "tcp --reconnect");
    // The server saw each of them (and each slot's uncounted first one, before the clock).
    auto accepted = server.get().counters().connections_accepted - before;
    BOOST_TEST(static_cast<double>(accepted) >= json.number("connections_made") + 4,
               accepted << " accepted");

    auto text = client({"load", "--connect", at(server.tcp_port()), "--reconnect", "--connections",
                        "2", "--threads", "2", "--duration", "0.3"});
    BOOST_TEST(text.code == 0, text.err);
    BOOST_TEST(text.out.starts_with("load tcp " + at(server.tcp_port()) +
                                    ": 2 connections at a time, each closed after one 64 B echo "
                                    "and opened again, 2 threads\n"),
               text.out);
    BOOST_TEST(text.out.find(" connections/s\n") != std::string::npos, text.out);
    BOOST_TEST(text.out.find("\nconnect us: p50 ") != std::string::npos, text.out);
    BOOST_TEST(text.out.find("\nerrors 0, mismatches 0\n") != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(load_reconnect_against_an_upper_server_counts_every_mismatch) {
    running_server server(loopback_config(mode::upper));
    auto r = client({"load", "--connect", at(server.tcp_port()), "--reconnect", "--connections",
                     "2", "--duration", "0.3", "--json"});
    BOOST_TEST(r.code == 1);
    auto json = parse_json(r.out);
    // Random bytes hold letters: each echo differs, the uncounted first ones included.
    BOOST_TEST(json.number("mismatches") >= json.number("messages") + 2);
    BOOST_TEST(r.err.find("mismatched") != std::string::npos, r.err);
    auto right = client({"load", "--connect", at(server.tcp_port()), "--reconnect", "--expect",
                         "upper", "--duration", "0.3", "--json"});
    BOOST_TEST(right.code == 0, right.err);
}

BOOST_AUTO_TEST_CASE(load_reconnect_usage_errors_exit_64_naming_both_options) {
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{"--udp"}, "--reconnect needs TCP: it cannot be used with --udp"},
        {{"--pipeline", "2"},
         "--reconnect sends one message per connection: it cannot be used with --pipeline 2"},
        {{"--rate", "100"},
         "--reconnect cannot be used with --rate (each connection follows "
         "the last as soon as it is closed)"},
    };
    for (const auto& [extra, line] : cases) {
        std::vector<std::string> args{"load", "--reconnect"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = client(args);
        BOOST_TEST(r.code == 64, extra.front());
        BOOST_TEST(r.out == "");
        BOOST_TEST(r.err == "echo-client: " + line + "\n");
    }
    std::uint16_t port = 0;
    {
        running_server gone(loopback_config());
        port = gone.tcp_port();
    } // stopped: nobody listens there now
    // Each slot's first connection is made before the clock, as in the other load modes.
    auto refused = client({"load", "--reconnect", "--connect", at(port), "--duration", "0.2"});
    BOOST_TEST(refused.code == 69);
    BOOST_TEST(refused.out == "");
    BOOST_TEST(refused.err ==
               "echo-client: cannot connect to " + at(port) + ": Connection refused\n");
}

namespace {

/// In a network namespace of its own with loopback up, only 30 local ports (40000-40029) and
/// no reuse of ports in TIME_WAIT; runs a server there and --reconnect until the ports run
/// out. Runs in a child process. Empty when all was as it should be, else what was not.
std::string run_out_of_local_ports_in_a_private_namespace() {
    if (::unshare(CLONE_NEWNET) != 0) {
        return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    }
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq up{};
    std::strncpy(up.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &up) != 0) {
        return std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
    }
    up.ifr_flags |= IFF_UP;
    if (::ioctl(fd, SIOCSIFFLAGS, &up) != 0) {
        return std::string("SIOCSIFFLAGS lo up: ") + std::strerror(errno);
    }
    ::close(fd);
    // These files are this namespace's own: the host's settings stay as they are.
    for (auto [file, value] : {std::pair{"/proc/sys/net/ipv4/ip_local_port_range", "40000 40029"},
                               std::pair{"/proc/sys/net/ipv4/tcp_tw_reuse", "0"}}) {
        std::ofstream out(file);
        out << value << "\n";
        out.close();
        if (!out) {
            return std::string("cannot write ") + file;
        }
    }
    running_server server(loopback_config()); // port 0: it takes one of the 30 itself
    std::string problems;
    auto expect = [&](bool ok, const std::string& what) {
        if (!ok) {
            problems += (problems.empty() ? "" : "; ") + what;
        }
    };
    const std::string line_start = "echo-client: cannot open more connections to " +
                                   at(server.tcp_port()) + ": Cannot assign requested address (";
    const std::string named = "net.ipv4.ip_local_port_range 40000-40029";
    // The ports run out within the run: the report so far, then the line, exit 71.
    auto r =
        run_program(ECHO_CLIENT_PATH, {"load", "--connect", at(server.tcp_port()), "--reconnect",
                                       "--connections", "2", "--duration", "5", "--json"});
    expect(r.code == 71, "exit " + std::to_string(r.code) + ", not 71: " + r.err);
    expect(r.err.starts_with(line_start) && r.err.find(named) != std::string::npos &&
               r.err.find('\n') == r.err.size() - 1,
           "not the one line naming the port range: " + r.err);
    auto made = r.out.find("\"connections_made\":");
    expect(made != std::string::npos && r.out.find("\"errors\":0,") != std::string::npos &&
               r.out.find("\"mismatches\":0,") != std::string::npos,
           "no clean report before the line: " + r.out);
    if (made != std::string::npos) {
        auto count = std::stoul(r.out.substr(made + 19));
        expect(count > 0 && count < 30, "connections_made " + std::to_string(count));
    }
    // Every port is in TIME_WAIT now: the first connections fail, before any report.
    auto again = run_program(ECHO_CLIENT_PATH, {"load", "--connect", at(server.tcp_port()),
                                                "--reconnect", "--duration", "5"});
    expect(again.code == 71, "again: exit " + std::to_string(again.code) + ": " + again.err);
    expect(again.out.empty(), "again: a report: " + again.out);
    expect(again.err.starts_with(line_start), "again: " + again.err);
    return problems;
}

} // namespace

BOOST_AUTO_TEST_CASE(load_reconnect_out_of_local_ports_reports_then_names_the_range_and_exits_71,
                     *boost::unit_test::precondition(can_make_network_namespaces{})) {
    // A child process makes the namespace (this process's network stays as it is).
    auto report = run_in_child(run_out_of_local_ports_in_a_private_namespace);
    if (report.problems.rfind("unshare(CLONE_NEWNET): ", 0) == 0) {
        BOOST_TEST_MESSAGE("skipped: " << report.problems
                                       << " (a container that forbids namespaces)");
        return;
    }
    BOOST_TEST(report.problems == "");
    BOOST_TEST(report.exited_0);
}
