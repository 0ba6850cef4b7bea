// SPDX-License-Identifier: BSL-1.0
// Log lines under journald: when $JOURNAL_STREAM names stderr's device and inode, each line
// starts with its syslog priority "<N>" and has no time stamp; when it names something else,
// the lines are plain "level: message".
#define BOOST_TEST_MODULE journald
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <string>

#include "child_process.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

/// Starts the server through sh, which sets JOURNAL_STREAM to the "dev:ino" of the stderr
/// pipe the server inherits, exactly as systemd does for a unit logging to the journal.
std::vector<std::string> through_journal_shell(std::vector<std::string> server_args) {
    std::vector<std::string> args{
        "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec \"$0\" \"$@\"", server_path};
    args.insert(args.end(), server_args.begin(), server_args.end());
    return args;
}

} // namespace

BOOST_AUTO_TEST_CASE(matching_journal_stream_prefixes_each_line_with_its_priority) {
    child_process server("/bin/sh",
                         through_journal_shell({"--listen", "127.0.0.1:0", "--threads", "1"}));
    auto tcp = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    auto udp = server.wait_for_stderr_line("listening udp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(tcp && udp, "stderr: " << server.err());
    auto port = std::to_string(port_of(*tcp));
    // notice is priority 5; no time stamp (journald adds its own).
    BOOST_TEST(*tcp == "<5>listening tcp 127.0.0.1:" + port);
    BOOST_TEST(*udp == "<5>listening udp 127.0.0.1:" + port);
    server.send_signal(SIGTERM);
    BOOST_REQUIRE_EQUAL(server.wait_exit(30s).value_or(-1), 0);
    BOOST_TEST(server.err().find("<5>received SIGTERM, stopping\n") != std::string::npos,
               server.err());
    // Every line carries a priority.
    std::size_t start = 0;
    for (auto end = server.err().find('\n'); end != std::string::npos;
         end = server.err().find('\n', start)) {
        auto line = server.err().substr(start, end - start);
        BOOST_TEST((line.size() > 3 && line[0] == '<' && line[2] == '>'), line);
        start = end + 1;
    }
}

// The exits are given 30 s: what is checked here is the log's form; under TSan on two busy
// cores a start and a stop together once took over 10 s.
BOOST_AUTO_TEST_CASE(journal_stream_of_another_file_leaves_lines_unprefixed) {
    child_process server(server_path, {"--listen", "127.0.0.1:0", "--threads", "1"},
                         {"JOURNAL_STREAM=1:1"});
    auto tcp = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(tcp, "stderr: " << server.err());
    // stderr is a pipe, not a terminal: no time stamp either.
    BOOST_TEST(*tcp == "notice: listening tcp 127.0.0.1:" + std::to_string(port_of(*tcp)));
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(30s).value_or(-1) == 0);
}
