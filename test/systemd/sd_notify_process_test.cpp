// SPDX-License-Identifier: BSL-1.0
// sd_notify from the real echo-server: the test plays the service manager with its own
// AF_UNIX datagram socket named by NOTIFY_SOCKET (a path, and an abstract name) and checks
// READY=1 (only once the ports accept), WATCHDOG=1 cadence, STATUS= figures after traffic,
// RELOADING=1/READY=1 around SIGHUP, STOPPING=1 and exit 0 on SIGTERM.
#define BOOST_TEST_MODULE sd_notify_process
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <unistd.h>

#include "child_process.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;
const std::string idle_status =
    "STATUS=0 active connections, 0 accepted, 0 datagrams, 0 bytes echoed";

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

/// A server on 127.0.0.1:0 reporting to manager; waits for READY=1 and returns the port.
struct notified_server {
    notified_server(notify_listener& manager, std::vector<std::string> args,
                    std::vector<std::string> env = {})
        : server(server_path, with_defaults(std::move(args)),
                 with_socket(manager, std::move(env))) {}

    static std::vector<std::string> with_defaults(std::vector<std::string> args) {
        args.insert(args.end(), {"--listen", "127.0.0.1:0", "--threads", "2"});
        return args;
    }
    static std::vector<std::string> with_socket(notify_listener& manager,
                                                std::vector<std::string> env) {
        env.push_back("NOTIFY_SOCKET=" + manager.address());
        return env;
    }

    child_process server;
};

} // namespace

BOOST_AUTO_TEST_CASE(ready_arrives_after_the_ports_accept_then_watchdog_then_stopping) {
    temp_dir dir;
    notify_listener manager(dir.path() + "/notify");
    notified_server s(manager, {}, {"WATCHDOG_USEC=200000"});

    auto ready = manager.wait_for("READY=1", 15s, true);
    BOOST_REQUIRE_MESSAGE(ready, "no READY=1; stderr: " << s.server.err());
    // The first report holds the idle figures.
    BOOST_TEST(*ready == "READY=1\n" + idle_status);
    // READY=1 is sent after the listening lines were written, so they are in the pipe now,
    // and the port accepts at this very moment.
    auto tcp_line = s.server.wait_for_stderr_line("listening tcp 127.0.0.1:", 2s);
    auto udp_line = s.server.wait_for_stderr_line("listening udp 127.0.0.1:", 2s);
    BOOST_REQUIRE_MESSAGE(tcp_line && udp_line, "stderr: " << s.server.err());
    auto stream = plain_socket::tcp("127.0.0.1", port_of(*tcp_line));
    stream.send_all("ready");
    BOOST_TEST(stream.receive_exactly(5) == "ready");
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());

    // WATCHDOG=1 every 100 ms (half of WATCHDOG_USEC): at least 5 within 3 s, and never a
    // gap of a whole WATCHDOG_USEC between two of them.
    std::vector<std::chrono::steady_clock::time_point> beats;
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (beats.size() < 6 && std::chrono::steady_clock::now() < deadline) {
        auto message = manager.receive(1s);
        if (message && *message == "WATCHDOG=1") {
            beats.push_back(std::chrono::steady_clock::now());
        }
    }
    BOOST_REQUIRE_MESSAGE(beats.size() >= 6u, "WATCHDOG=1 seen " << beats.size() << " times");
    for (std::size_t i = 1; i < beats.size(); ++i) {
        auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(beats[i] - beats[i - 1]);
        BOOST_TEST(gap.count() < 200, "gap " << gap.count() << " ms between WATCHDOG=1");
    }

    s.server.send_signal(SIGTERM);
    auto stopping = manager.wait_for("STOPPING=1", 5s, true);
    BOOST_REQUIRE_MESSAGE(stopping, "no STOPPING=1; stderr: " << s.server.err());
    BOOST_TEST(starts_with(*stopping, "STOPPING=1\nSTATUS="), *stopping);
    auto code = s.server.wait_exit(10s);
    BOOST_REQUIRE_MESSAGE(code, "still running 10 s after SIGTERM");
    BOOST_TEST(*code == 0, s.server.err());
}

BOOST_AUTO_TEST_CASE(abstract_notify_socket_gets_ready_and_stopping) {
    notify_listener manager("@asio-echo-sd-process-" + std::to_string(::getpid()));
    notified_server s(manager, {});
    auto ready = manager.wait_for("READY=1", 15s, true);
    BOOST_REQUIRE_MESSAGE(ready, "no READY=1; stderr: " << s.server.err());
    BOOST_TEST(*ready == "READY=1\n" + idle_status);
    s.server.send_signal(SIGTERM);
    BOOST_TEST(manager.wait_for("STOPPING=1", 5s, true).has_value());
    BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
    // No watchdog asked for, none sent.
    for (const auto& [when, message] : manager.history()) {
        BOOST_TEST(message != "WATCHDOG=1");
    }
}

BOOST_AUTO_TEST_CASE(sigterm_the_moment_ready_arrives_is_never_lost) {
    // The window a service manager hits when it stops a unit just started: the main thread
    // is on its way from READY=1 into wait(). Under TSan it lost the signal 4 runs in 100.
    for (int run = 0; run < 20; ++run) {
        notify_listener manager("@asio-echo-sd-term-" + std::to_string(::getpid()) + "-" +
                                std::to_string(run));
        notified_server s(manager, {});
        BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", 15s, true), s.server.err());
        s.server.send_signal(SIGTERM);
        BOOST_REQUIRE_MESSAGE(manager.wait_for("STOPPING=1", 5s, true),
                              "run " << run << ": no STOPPING=1; stderr: " << s.server.err());
        BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
    }
}

BOOST_AUTO_TEST_CASE(status_reports_the_figures_after_traffic) {
    // STATUS= is refreshed every 5 s: this test waits for the first refresh (about 5 s).
    temp_dir dir;
    notify_listener manager(dir.path() + "/notify");
    notified_server s(manager, {});
    BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", 15s, true), s.server.err());
    auto line = s.server.wait_for_stderr_line("listening tcp 127.0.0.1:", 2s);
    BOOST_REQUIRE(line);
    auto port = port_of(*line);
    {
        auto stream = plain_socket::tcp("127.0.0.1", port);
        stream.send_all("hello");
        BOOST_TEST(stream.receive_exactly(5) == "hello");
        stream.shutdown_send();
        BOOST_TEST(stream.receive_until_eof().empty());
    }
    auto datagram = plain_socket::udp("127.0.0.1", port);
    datagram.send_all("world!");
    BOOST_TEST(datagram.receive_some().value_or("<no reply>") == "world!");

    // The closed connection is no longer active once its session ended, which may be a
    // moment after EOF: accept the refresh that shows it, within two periods.
    const std::string expected =
        "STATUS=0 active connections, 1 accepted, 1 datagrams, 11 bytes echoed";
    auto status = manager.wait_for(expected, 12s);
    BOOST_TEST(
        status.has_value(), "STATUS seen: " << [&] {
            std::string all;
            for (const auto& [when, message] : manager.history()) {
                all += "[" + message + "] ";
            }
            return all;
        }());
    s.server.send_signal(SIGTERM);
    BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
}

BOOST_AUTO_TEST_CASE(sighup_rereads_the_log_level_between_reloading_and_ready) {
    temp_dir dir;
    auto config = dir.path() + "/echo-server.conf";
    write_file(config, "log-level = info\n");
    notify_listener manager(dir.path() + "/notify");
    notified_server s(manager, {"--config", config});
    BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", 15s, true), s.server.err());
    BOOST_REQUIRE(s.server.wait_for_stderr_line("listening udp 127.0.0.1:", 2s));

    // First reload, same level: the notice says what was re-read.
    s.server.send_signal(SIGHUP);
    auto reloading = manager.wait_for("RELOADING=1\nMONOTONIC_USEC=", 5s, true);
    BOOST_REQUIRE_MESSAGE(reloading, "no RELOADING=1; stderr: " << s.server.err());
    auto usec = reloading->substr(reloading->rfind('=') + 1);
    BOOST_TEST((!usec.empty() && usec.find_first_not_of("0123456789") == std::string::npos),
               "MONOTONIC_USEC=" << usec);
    BOOST_TEST(manager.wait_for("READY=1", 5s).has_value());
    BOOST_TEST(s.server.wait_for_stderr_line("received SIGHUP; re-read " + config, 5s).has_value(),
               s.server.err());

    // Second reload to "error": notices are quiet from then on, so SIGTERM's notice is not
    // printed.
    write_file(config, "log-level = error\n");
    s.server.send_signal(SIGHUP);
    BOOST_REQUIRE(manager.wait_for("RELOADING=1\nMONOTONIC_USEC=", 5s, true));
    BOOST_REQUIRE(manager.wait_for("READY=1", 5s));
    s.server.send_signal(SIGTERM);
    BOOST_REQUIRE(manager.wait_for("STOPPING=1", 5s, true));
    BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
    BOOST_TEST(s.server.err().find("received SIGTERM") == std::string::npos, s.server.err());
}

BOOST_AUTO_TEST_CASE(a_broken_config_on_sighup_keeps_serving_and_still_sends_ready) {
    temp_dir dir;
    auto config = dir.path() + "/echo-server.conf";
    write_file(config, "log-level = info\n");
    notify_listener manager(dir.path() + "/notify");
    notified_server s(manager, {"--config", config});
    BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", 15s, true), s.server.err());
    auto line = s.server.wait_for_stderr_line("listening tcp 127.0.0.1:", 2s);
    BOOST_REQUIRE(line);
    write_file(config, "log-level = loud\n");
    s.server.send_signal(SIGHUP);
    BOOST_REQUIRE(manager.wait_for("RELOADING=1\nMONOTONIC_USEC=", 5s, true));
    BOOST_TEST(manager.wait_for("READY=1", 5s).has_value());
    BOOST_TEST(
        s.server.wait_for_stderr_line("reload failed, keeping the old settings", 5s).has_value(),
        s.server.err());
    auto stream = plain_socket::tcp("127.0.0.1", port_of(*line));
    stream.send_all("still");
    BOOST_TEST(stream.receive_exactly(5) == "still");
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());
    s.server.send_signal(SIGTERM);
    BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
}

BOOST_DATA_TEST_CASE(sighup_keeps_the_command_line_over_the_file,
                     boost::unit_test::data::make({"", "error"}), level) {
    // The file sets a stats line every 10 ms and no level; the command line may set one.
    temp_dir dir;
    auto config = dir.path() + "/echo-server.conf";
    write_file(config, "stats-interval = 0.01\n");
    notify_listener manager(dir.path() + "/notify");
    std::vector<std::string> args = {"--config", config};
    if (*level != '\0') {
        args.insert(args.end(), {"--log-level", level});
    }
    notified_server s(manager, args);
    BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", 15s, true), s.server.err());
    s.server.send_signal(SIGHUP);
    BOOST_REQUIRE(manager.wait_for("RELOADING=1\nMONOTONIC_USEC=", 5s, true));
    BOOST_REQUIRE(manager.wait_for("READY=1", 5s));
    auto before = s.server.err().size();
    // 50 intervals: at the default level (the control) stats lines come; at error, none.
    auto stats = s.server.wait_for_stderr_line(": stats ", 500ms);
    if (*level == '\0') {
        BOOST_TEST(stats.has_value(), s.server.err());
    } else {
        BOOST_TEST(!stats.has_value(), "after the reload: " << s.server.err().substr(before));
    }
    s.server.send_signal(SIGTERM);
    BOOST_TEST(s.server.wait_exit(10s).value_or(-1) == 0, s.server.err());
}
