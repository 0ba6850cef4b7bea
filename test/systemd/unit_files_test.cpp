// The shipped unit files and config: the directives the deployment relies on (checked by a
// small parser, always), `systemd-analyze verify` and the `security --offline` exposure
// scores (where systemd-analyze exists), and the config file as the server reads it.
#define BOOST_TEST_MODULE unit_files
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <iomanip>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "net.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;
const std::string source_dir = PROJECT_SOURCE_DIR;
const std::string service_path = source_dir + "/systemd/echo-server.service";
const std::string socket_path = source_dir + "/systemd/echo-server.socket";
const std::string config_path = source_dir + "/systemd/echo-server.conf";

/// A unit file: "Section.Key" to every value assigned, in order (comments and blank lines
/// dropped, continuation lines joined).
using unit = std::multimap<std::string, std::string>;

unit parse_unit(const std::string& text) {
    unit result;
    std::istringstream in(text);
    std::string line;
    std::string section;
    std::string pending;
    while (std::getline(in, line)) {
        if (!pending.empty()) {
            line = pending + line;
            pending.clear();
        }
        if (!line.empty() && line.back() == '\\') {
            pending = line.substr(0, line.size() - 1) + " ";
            continue;
        }
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#' || line[first] == ';') {
            continue;
        }
        if (line[first] == '[') {
            section = line.substr(first + 1, line.find(']') - first - 1);
            continue;
        }
        auto equals = line.find('=');
        BOOST_REQUIRE_MESSAGE(equals != std::string::npos, "not an assignment: " << line);
        auto key = line.substr(first, equals - first);
        key.erase(key.find_last_not_of(" \t") + 1);
        auto value = line.substr(equals + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        result.emplace(section + "." + key, value);
    }
    return result;
}

std::vector<std::string> values(const unit& u, const std::string& key) {
    std::vector<std::string> result;
    auto [begin, end] = u.equal_range(key);
    for (auto it = begin; it != end; ++it) {
        result.push_back(it->second);
    }
    return result;
}

/// The single value of key (the last one, as systemd reads it); "<unset>" when absent.
std::string value(const unit& u, const std::string& key) {
    auto all = values(u, key);
    return all.empty() ? "<unset>" : all.back();
}

/// A copy of the service whose ExecStart names the built binary (verify checks that it is
/// executable), plus the socket, in dir; extra lines are appended to [Service].
void stage_units(const temp_dir& dir, const std::string& extra_service_lines = "") {
    BOOST_REQUIRE(read_file(service_path).find("ExecStart=/usr/bin/echo-server") !=
                  std::string::npos);
    stage_unit(source_dir, "echo-server.service", server_path, dir);
    stage_unit(source_dir, "echo-server.socket", server_path, dir);
    if (!extra_service_lines.empty()) {
        auto path = dir.path() + "/echo-server.service";
        auto service = read_file(path);
        auto install = service.find("\n[Install]");
        BOOST_REQUIRE(install != std::string::npos);
        service.insert(install, "\n" + extra_service_lines);
        write_file(path, service);
    }
}

/// x as systemd-analyze prints it. (Boost.Test logs a double with every digit, whatever the
/// stream's manipulators say.)
std::string one_decimal(double x) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << x;
    return text.str();
}

/// The overall exposure `systemd-analyze security --offline=yes` gives the staged service.
std::optional<double> exposure(const temp_dir& dir) {
    child_process analyze("/bin/sh", {"-c",
                                      "cd \"$0\" && exec systemd-analyze security --offline=yes "
                                      "--no-pager ./echo-server.service",
                                      dir.path()});
    auto code = analyze.wait_exit(60s);
    BOOST_REQUIRE_MESSAGE(code, "systemd-analyze security did not finish within 60 s");
    std::smatch match;
    static const std::regex overall("Overall exposure level for echo-server.service: ([0-9.]+)");
    if (!std::regex_search(analyze.out(), match, overall)) {
        BOOST_TEST_MESSAGE("security output: " << analyze.out() << analyze.err());
        return std::nullopt;
    }
    return std::stod(match[1].str());
}

} // namespace

BOOST_AUTO_TEST_CASE(socket_unit_listens_on_port_7_tcp_and_udp_ipv4_and_ipv6) {
    auto u = parse_unit(read_file(socket_path));
    BOOST_TEST(values(u, "Socket.ListenStream") == std::vector<std::string>{"[::]:7"},
               boost::test_tools::per_element());
    BOOST_TEST(values(u, "Socket.ListenDatagram") == std::vector<std::string>{"[::]:7"},
               boost::test_tools::per_element());
    BOOST_TEST(value(u, "Socket.BindIPv6Only") == "both");
    BOOST_TEST(value(u, "Socket.FileDescriptorName") == "echo");
    BOOST_TEST(value(u, "Socket.Accept") == "<unset>"); // one service for every connection
    BOOST_TEST(value(u, "Install.WantedBy") == "sockets.target");
}

BOOST_AUTO_TEST_CASE(service_is_a_notify_service_with_watchdog_reload_and_restart) {
    auto u = parse_unit(read_file(service_path));
    BOOST_TEST(value(u, "Service.Type") == "notify");
    BOOST_TEST(value(u, "Service.NotifyAccess") == "main");
    BOOST_TEST(value(u, "Service.ExecStart") ==
               "/usr/bin/echo-server --config /etc/echo-server/echo-server.conf");
    // No /bin/kill: procps is not on every system (a debootstrap minbase lacks it).
    BOOST_TEST(value(u, "Service.ExecReload") == "/bin/sh -c \"kill -HUP $$MAINPID\"");
    BOOST_TEST(value(u, "Service.Restart") == "on-failure");
    BOOST_TEST(value(u, "Service.RestartPreventExitStatus") == "64");
    BOOST_TEST(value(u, "Service.WatchdogSec") == "10s");
    BOOST_TEST(value(u, "Service.SyslogLevel") == "err");
    // Unit and socket pair by name (no Service= or Sockets= needed), and the service must
    // not require the socket: it also runs alone.
    BOOST_TEST(value(u, "Unit.Requires") == "<unset>");
    BOOST_TEST(value(u, "Unit.BindsTo") == "<unset>");
}

BOOST_AUTO_TEST_CASE(service_runs_unprivileged_in_the_full_sandbox) {
    auto u = parse_unit(read_file(service_path));
    const std::map<std::string, std::string> required{
        {"DynamicUser", "yes"},
        {"CapabilityBoundingSet", ""},
        {"AmbientCapabilities", ""},
        {"NoNewPrivileges", "yes"},
        {"PrivateUsers", "yes"},
        {"ProtectSystem", "strict"},
        {"ProtectHome", "yes"},
        {"PrivateTmp", "yes"},
        {"PrivateDevices", "yes"},
        {"PrivateMounts", "yes"},
        {"ProtectKernelTunables", "yes"},
        {"ProtectKernelModules", "yes"},
        {"ProtectKernelLogs", "yes"},
        {"ProtectControlGroups", "yes"},
        {"ProtectClock", "yes"},
        {"ProtectHostname", "yes"},
        {"ProtectProc", "invisible"},
        {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
        {"RestrictNamespaces", "yes"},
        {"RestrictRealtime", "yes"},
        {"RestrictSUIDSGID", "yes"},
        {"LockPersonality", "yes"},
        {"MemoryDenyWriteExecute", "yes"},
        {"SystemCallArchitectures", "native"},
        {"UMask", "0077"},
    };
    for (const auto& [key, expected] : required) {
        BOOST_TEST(value(u, "Service." + key) == expected, key);
    }
    BOOST_TEST(values(u, "Service.SystemCallFilter") ==
                   (std::vector<std::string>{"@system-service", "~@privileged @resources"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(systemd_analyze_verifies_both_units,
                     *boost::unit_test::precondition(program_installed{"systemd-analyze"})) {
    temp_dir dir;
    stage_units(dir);
    // --man=no: the man page is not installed where the test runs.
    child_process verify("/bin/sh", {"-c",
                                     "cd \"$0\" && exec systemd-analyze verify --man=no "
                                     "./echo-server.socket ./echo-server.service",
                                     dir.path()});
    auto code = verify.wait_exit(60s);
    BOOST_REQUIRE_MESSAGE(code, "systemd-analyze verify did not finish within 60 s");
    BOOST_TEST(*code == 0, "stdout: " << verify.out() << "\nstderr: " << verify.err());
    BOOST_TEST(verify.err() == "");
}

BOOST_AUTO_TEST_CASE(exposure_is_at_most_1_5_and_0_5_when_only_socket_activated,
                     *boost::unit_test::precondition(program_installed{"systemd-analyze"})) {
    // The shipped unit, which may also bind by itself.
    temp_dir standalone;
    stage_units(standalone);
    auto shipped = exposure(standalone);
    BOOST_REQUIRE(shipped);
    BOOST_TEST_MESSAGE("exposure of echo-server.service as shipped: " << one_decimal(*shipped));
    BOOST_TEST(*shipped <= 1.5);
    // With the socket-only drop-in echo-server(8) documents: no network of its own; the
    // passed sockets keep working.
    temp_dir socket_only;
    stage_units(socket_only, "PrivateNetwork=yes\nRestrictAddressFamilies=\n"
                             "RestrictAddressFamilies=AF_UNIX\n");
    auto tight = exposure(socket_only);
    BOOST_REQUIRE(tight);
    BOOST_TEST_MESSAGE("exposure with the socket-only drop-in: " << one_decimal(*tight));
    BOOST_TEST(*tight <= 0.5);
}

BOOST_AUTO_TEST_CASE(config_file_lists_every_option_with_its_default_and_is_valid) {
    auto config = read_file(config_path);
    // Each option of --help but help, version and config, as "#key = default".
    auto help = run_program(server_path, {"--help"});
    BOOST_REQUIRE_EQUAL(help.code, 0);
    std::regex option_with_default("--([a-z][a-z-]*)(?: \\])? [A-Z:]+ \\(=([^)]*)\\)");
    std::set<std::string> seen;
    for (std::sregex_iterator it(help.out.begin(), help.out.end(), option_with_default), end;
         it != end; ++it) {
        auto key = (*it)[1].str();
        auto line = "#" + key + " = " + (*it)[2].str() + "\n";
        BOOST_TEST(config.find(line) != std::string::npos, "missing in echo-server.conf: " << line);
        seen.insert(key);
    }
    std::regex any_option("--([a-z][a-z-]*)");
    for (std::sregex_iterator it(help.out.begin(), help.out.end(), any_option), end; it != end;
         ++it) {
        auto key = (*it)[1].str();
        if (key == "help" || key == "version" || key == "config" || seen.count(key)) {
            continue;
        }
        BOOST_TEST(config.find("#" + key + " = ") != std::string::npos,
                   "option --" << key << " missing in echo-server.conf");
    }

    // Everything commented out: the server reads it and runs on its built-in defaults (the
    // test overrides the endpoint to use port 0).
    child_process server(server_path,
                         {"--config", config_path, "--listen", "127.0.0.1:0", "--threads", "1"});
    auto line = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, "stderr: " << server.err());
    auto stream = plain_socket::tcp("127.0.0.1", port_of(*line));
    stream.send_all("conf");
    BOOST_TEST(stream.receive_exactly(4) == "conf");
    stream.shutdown_send();
    BOOST_TEST(stream.receive_until_eof().empty());
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}
