// SPDX-License-Identifier: BSL-1.0
// The Prometheus exposition rendered from known counters: exact lines, valid syntax, the
// histogram's cumulative buckets, label escaping; and the syntax checker the process tests
// rely on, shown to reject what it must.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "asio_echo/metrics.hpp"
#include "exposition.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

/// Every counter a different value, so a swapped pair shows.
stats_snapshot known_counters() {
    stats_snapshot s;
    s.connections_accepted = 11;
    s.connections_active = 2;
    s.connections_limited = 3;
    s.connections_timed_out = 4;
    s.refused_denied = 12;
    s.refused_per_source = 13;
    s.proxy_ok = 15;
    s.proxy_malformed = 16;
    s.proxy_timeout = 17;
    s.proxy_untrusted = 18;
    s.tls_ok = 19;
    s.tls_failed = 20;
    s.tls_timeout = 21;
    s.tcp_bytes_in = 5000;
    s.tcp_bytes_out = 4999;
    s.datagrams_in = 60;
    s.datagrams_out = 55;
    s.udp_bytes_in = 7000;
    s.udp_bytes_out = 6500;
    s.dropped_guard = 1;
    s.dropped_rate = 2;
    s.dropped_oversize = 3;
    s.dropped_denied = 14;
    s.datagram_errors = 9;
    s.sessions_by_duration = {1, 2, 0, 3, 0, 0, 0, 0, 1};
    s.session_microseconds = 4'250'000;
    return s;
}

const metrics_info info{"1.2.3", 1700000000.5};

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(rendering_of_known_counters_is_valid_and_exact) {
    auto text = render_metrics(known_counters(), info);
    BOOST_TEST_MESSAGE(text);
    auto problems = exposition_problems(text);
    BOOST_TEST(problems.empty(), (problems.empty() ? "" : problems.front()));
    for (const char* line : {
             "# TYPE echo_connections_accepted_total counter",
             "echo_connections_accepted_total 11",
             "# TYPE echo_connections_active gauge",
             "echo_connections_active 2",
             "echo_connection_limit_reached_total 3",
             "echo_connections_timed_out_total 4",
             "echo_connections_refused_total{reason=\"denied\"} 12",
             "echo_connections_refused_total{reason=\"per_source\"} 13",
             "# TYPE echo_proxy_headers_total counter",
             "echo_proxy_headers_total{result=\"ok\"} 15",
             "echo_proxy_headers_total{result=\"malformed\"} 16",
             "echo_proxy_headers_total{result=\"timeout\"} 17",
             "echo_proxy_headers_total{result=\"untrusted\"} 18",
             "# TYPE echo_tls_handshakes_total counter",
             "echo_tls_handshakes_total{result=\"ok\"} 19",
             "echo_tls_handshakes_total{result=\"failed\"} 20",
             "echo_tls_handshakes_total{result=\"timeout\"} 21",
             "echo_bytes_received_total{protocol=\"tcp\"} 5000",
             "echo_bytes_received_total{protocol=\"udp\"} 7000",
             "echo_bytes_sent_total{protocol=\"tcp\"} 4999",
             "echo_bytes_sent_total{protocol=\"udp\"} 6500",
             "echo_datagrams_received_total 60",
             "echo_datagrams_sent_total 55",
             "echo_datagrams_dropped_total{reason=\"reflection_guard\"} 1",
             "echo_datagrams_dropped_total{reason=\"rate_limit\"} 2",
             "echo_datagrams_dropped_total{reason=\"oversize\"} 3",
             "echo_datagrams_dropped_total{reason=\"denied\"} 14",
             "echo_datagram_errors_total 9",
             "# TYPE echo_session_duration_seconds histogram",
             "echo_session_duration_seconds_bucket{le=\"0.001\"} 1",
             "echo_session_duration_seconds_bucket{le=\"0.01\"} 3",
             "echo_session_duration_seconds_bucket{le=\"0.1\"} 3",
             "echo_session_duration_seconds_bucket{le=\"1\"} 6",
             "echo_session_duration_seconds_bucket{le=\"10\"} 6",
             "echo_session_duration_seconds_bucket{le=\"3600\"} 6",
             "echo_session_duration_seconds_bucket{le=\"+Inf\"} 7",
             "echo_session_duration_seconds_sum 4.25",
             "echo_session_duration_seconds_count 7",
             "echo_build_info{version=\"1.2.3\"} 1",
             "# TYPE process_start_time_seconds gauge",
             "process_start_time_seconds 1700000000.5",
         }) {
        BOOST_TEST(has_line(text, line), "missing line: " << line);
    }
}

BOOST_AUTO_TEST_CASE(every_family_has_help_and_type_and_counters_end_in_total) {
    auto text = render_metrics(known_counters(), info);
    std::size_t families = 0;
    for (std::size_t at = text.find("# TYPE "); at != std::string::npos;
         at = text.find("# TYPE ", at + 1)) {
        auto line = text.substr(at + 7, text.find('\n', at) - at - 7);
        auto name = line.substr(0, line.find(' '));
        auto type = line.substr(line.find(' ') + 1);
        ++families;
        BOOST_TEST(text.find("# HELP " + name + " ") != std::string::npos, name);
        if (type == "counter") {
            BOOST_TEST(name.ends_with("_total"), name);
        } else {
            BOOST_TEST(!name.ends_with("_total"), name);
        }
        BOOST_TEST((name.starts_with("echo_") || name.starts_with("process_")), name);
    }
    BOOST_TEST(families == 18u);
}

BOOST_AUTO_TEST_CASE(zero_counters_render_zeros_not_gaps) {
    auto text = render_metrics(stats_snapshot{}, metrics_info{"0.1.0", 0});
    BOOST_TEST(exposition_problems(text).empty());
    BOOST_TEST(has_line(text, "echo_datagrams_dropped_total{reason=\"rate_limit\"} 0"));
    BOOST_TEST(has_line(text, "echo_session_duration_seconds_bucket{le=\"+Inf\"} 0"));
    BOOST_TEST(has_line(text, "echo_session_duration_seconds_sum 0"));
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
    auto text = render_metrics(stats_snapshot{}, metrics_info{"a\"b\\c\nd", 0});
    BOOST_TEST(has_line(text, "echo_build_info{version=\"a\\\"b\\\\c\\nd\"} 1"));
    BOOST_TEST(exposition_problems(text).empty());
}

BOOST_AUTO_TEST_CASE(session_durations_land_in_the_right_bucket) {
    stats counters;
    counters.session_ended(500us); // <= 0.001
    counters.session_ended(1ms);   // <= 0.001: bounds are inclusive
    counters.session_ended(50ms);  // <= 0.1
    counters.session_ended(2s);    // <= 10
    counters.session_ended(7200s); // +Inf
    auto s = counters.snapshot();
    BOOST_TEST(s.sessions_by_duration[0] == 2u);
    BOOST_TEST(s.sessions_by_duration[2] == 1u);
    BOOST_TEST(s.sessions_by_duration[4] == 1u);
    BOOST_TEST(s.sessions_by_duration[session_duration_buckets - 1] == 1u);
    BOOST_TEST(s.session_microseconds == 500u + 1000u + 50000u + 2000000u + 7200000000u);
    auto text = render_metrics(s, info);
    BOOST_TEST(has_line(text, "echo_session_duration_seconds_count 5"));
    BOOST_TEST(has_line(text, "echo_session_duration_seconds_sum 7202.0515"));
}

BOOST_AUTO_TEST_CASE(process_start_time_is_a_plausible_unix_time) {
    auto now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    BOOST_TEST(process_start_time_seconds() <= now);
    BOOST_TEST(process_start_time_seconds() > now - 3600);
}

BOOST_AUTO_TEST_CASE(content_type_is_the_0_0_4_text_format) {
    BOOST_TEST(std::string(metrics_content_type).starts_with("text/plain; version=0.0.4"));
}

BOOST_AUTO_TEST_CASE(syntax_checker_rejects_what_prometheus_would) {
    const char* valid =
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"\\\"\"} 3\n";
    BOOST_TEST(exposition_problems(valid).empty());
    for (const char* bad : {
             "a_total 3\n",                                        // no TYPE
             "# HELP a A.\n# TYPE a gauge\na 3",                   // no final newline
             "# HELP a A.\n# TYPE a gauge\na three\n",             // not a number
             "# HELP a A.\n# TYPE a gauge\na{x=1} 3\n",            // unquoted label
             "# HELP a A.\n# TYPE a gauge\na{x=\"1\" 3\n",         // unclosed labels
             "# HELP a A.\n# TYPE a gauge\na 3 4 5\n",             // extra fields
             "# HELP a A.\n# TYPE a meter\na 3\n",                 // unknown type
             "# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\na 3\n", // typed twice
             "# TYPE a gauge\na 3\n",                              // no HELP
             "# HELP a A.\n# TYPE a gauge\n\n",                    // empty line
             "# HELP a A.\n# TYPE a gauge\n1a 3\n",                // bad name
         }) {
        BOOST_TEST(!exposition_problems(bad).empty(), "accepted: " << bad);
    }
}

BOOST_AUTO_TEST_CASE(samples_are_read_by_name_and_labels) {
    auto text = render_metrics(known_counters(), info);
    BOOST_TEST(sample_value(text, "echo_bytes_sent_total{protocol=\"udp\"}").value_or(-1) == 6500);
    BOOST_TEST(sample_value(text, "echo_connections_active").value_or(-1) == 2);
    BOOST_TEST(!sample_value(text, "echo_nothing").has_value());
}
