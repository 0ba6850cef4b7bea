// SPDX-License-Identifier: BSL-1.0
// The shipped unit files and config: the directives the deployment relies on (checked by a
// small parser, always), `systemd-analyze verify` and the `security --offline` exposure
// scores (where systemd-analyze exists), and the config file as the server reads it.
#define BOOST_TEST_MODULE unit_files
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
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
const std::string standalone_path = source_dir + "/systemd/echo-server-standalone.service";
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

/// Copies of the units whose ExecStart names the built binary (verify checks that it is
/// executable) in dir.
void stage_units(const temp_dir& dir) {
    BOOST_REQUIRE(read_file(service_path).find("ExecStart=/usr/bin/echo-server") !=
                  std::string::npos);
    for (const char* name : {"echo-server.service", "echo-server-standalone.service",
                             "echo-server.socket", "echo-server-metrics.socket"}) {
        stage_unit(source_dir, name, server_path, dir);
    }
}

/// x as systemd-analyze prints it. (Boost.Test logs a double with every digit, whatever the
/// stream's manipulators say.)
std::string one_decimal(double x) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << x;
    return text.str();
}

/// The overall exposure `systemd-analyze security --offline=yes` gives a staged service.
std::optional<double> exposure(const temp_dir& dir, const std::string& name) {
    child_process analyze("/bin/sh", {"-c",
                                      "cd \"$0\" && exec systemd-analyze security --offline=yes "
                                      "--no-pager \"./$1\"",
                                      dir.path(), name});
    auto code = analyze.wait_exit(60s);
    BOOST_REQUIRE_MESSAGE(code, "systemd-analyze security did not finish within 60 s");
    auto line = "Overall exposure level for " + name + ": ";
    auto at = analyze.out().find(line);
    if (at == std::string::npos) {
        BOOST_TEST_MESSAGE("security output: " << analyze.out() << analyze.err());
        return std::nullopt;
    }
    return std::stod(analyze.out().substr(at + line.size()));
}

/// The text from the first line starting with `from` up to the next line starting with one
/// of `to` (or the end).
std::string section(const std::string& text, const std::string& from,
                    const std::vector<std::string>& to) {
    auto begin = text.find("\n" + from);
    BOOST_REQUIRE_MESSAGE(begin != std::string::npos, "no section " << from);
    begin += 1;
    auto end = std::string::npos;
    for (const auto& stop : to) {
        end = std::min(end, text.find("\n" + stop, begin + from.size()));
    }
    return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

/// A man page as plain text: roff's "\-" as "-", font changes dropped.
std::string man_text(const std::string& page) {
    auto text = read_file(source_dir + "/man/" + page);
    text = std::regex_replace(text, std::regex("\\\\f[BIRP]"), "");
    return std::regex_replace(text, std::regex("\\\\-"), "-");
}

/// The options a --help text defines: the first column of its option lines.
std::set<std::string> help_options(const std::string& help) {
    std::set<std::string> result;
    std::regex option("^  (?:-[a-zA-Z] \\[ )?(--[a-z][a-z-]*)");
    std::istringstream in(help);
    for (std::string line; std::getline(in, line);) {
        std::smatch match;
        if (std::regex_search(line, match, option)) {
            result.insert(match[1].str());
        }
    }
    return result;
}

/// The options a man page's OPTIONS section defines: the tags of its .TP paragraphs.
std::set<std::string> man_options(const std::string& text) {
    std::set<std::string> result;
    std::istringstream in(section(text, ".SH OPTIONS", {".SH "}));
    std::regex option("--[a-z][a-z-]*");
    bool tag = false;
    for (std::string line; std::getline(in, line);) {
        if (tag) {
            for (std::sregex_iterator it(line.begin(), line.end(), option), end; it != end; ++it) {
                result.insert(it->str());
            }
        }
        tag = line == ".TP";
    }
    return result;
}

/// Every option as one line, for readable failures.
std::string listed(const std::set<std::string>& options) {
    std::string text;
    for (const auto& option : options) {
        text += option + " ";
    }
    return text;
}

/// The lines of the first ``` block (README) or .EX block (man page) in text.
std::vector<std::string> block_lines(const std::string& text, const std::string& open,
                                     const std::string& close) {
    auto begin = text.find(open);
    BOOST_REQUIRE_MESSAGE(begin != std::string::npos, "no " << open << " block");
    begin = text.find('\n', begin) + 1;
    auto end = text.find(close, begin);
    BOOST_REQUIRE(end != std::string::npos);
    std::vector<std::string> lines;
    std::istringstream in(text.substr(begin, end - begin));
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

} // namespace

BOOST_AUTO_TEST_CASE(man_page_and_readme_list_exactly_the_options_of_help) {
    auto help = run_program(server_path, {"--help"});
    BOOST_REQUIRE_EQUAL(help.code, 0);
    auto options = help_options(help.out);
    BOOST_REQUIRE(options.size() >= 20);
    auto man = man_options(man_text("echo-server.8"));
    BOOST_TEST(listed(man) == listed(options), "echo-server(8) OPTIONS vs --help");
    // The README's summary block lists the same options (the text and defaults are --help's).
    auto readme = section(read_file(source_dir + "/README.md"), "## Server options", {"### "});
    std::set<std::string> in_readme;
    std::regex option("--[a-z][a-z-]*");
    auto block = block_lines(readme, "```", "```");
    for (const auto& line : block) {
        for (std::sregex_iterator it(line.begin(), line.end(), option), end; it != end; ++it) {
            in_readme.insert(it->str());
        }
    }
    BOOST_TEST(listed(in_readme) == listed(options), "README's Server options vs --help");
    // A block that looks like --help's output must be it, word for word.
    if (!block.empty() && block.front().rfind("Usage: echo-server", 0) == 0) {
        std::string text;
        for (const auto& line : block) {
            text += line + "\n";
        }
        BOOST_TEST(text == help.out, "the README quotes --help: it must be its output");
    }
#ifdef ECHO_CLIENT_PATH
    std::set<std::string> client;
    for (auto args : {std::vector<std::string>{"--help"}, {"ping", "--help"}, {"load", "--help"}}) {
        auto text = run_program(ECHO_CLIENT_PATH, args);
        BOOST_REQUIRE_EQUAL(text.code, 0);
        auto more = help_options(text.out);
        client.insert(more.begin(), more.end());
    }
    BOOST_TEST(listed(man_options(man_text("echo-client.1"))) == listed(client),
               "echo-client(1) OPTIONS vs the --help of echo-client, ping and load");
#endif
}

BOOST_AUTO_TEST_CASE(man_page_hardening_list_names_every_sandbox_directive_of_the_unit) {
    // The unit's sandbox: from "# Identity and privilege" to "# Bounds".
    auto unit_text = section(read_file(service_path), "# Identity and privilege", {"# Bounds"});
    std::set<std::string> directives;
    std::istringstream in(unit_text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#' && line.find('=') != std::string::npos) {
            directives.insert(line.substr(0, line.find('=')));
        }
    }
    BOOST_REQUIRE(directives.size() >= 25);
    auto man = section(man_text("echo-server.8"), ".SS Hardening", {".SH "});
    std::set<std::string> named;
    std::regex directive("\\b([A-Z][a-z]+[A-Z][A-Za-z]*|[A-Z][A-Za-z]+(?==))");
    for (std::sregex_iterator it(man.begin(), man.end(), directive), end; it != end; ++it) {
        named.insert((*it)[1].str());
    }
    BOOST_TEST(listed(named) == listed(directives), "echo-server(8) Hardening vs the unit");
}

BOOST_AUTO_TEST_CASE(exit_status_64_covers_a_bad_notify_socket) {
    // The program exits 64 for NOTIFY_SOCKET=relative (server_process_test): the page agrees.
    auto status = section(man_text("echo-server.8"), ".SH EXIT STATUS", {".SH "});
    auto usage = section(status, ".B 64", {".TP"});
    BOOST_TEST(usage.find("NOTIFY_SOCKET") != std::string::npos, usage);
    auto os = section(status, ".B 71", {".TP", ".PP"});
    BOOST_TEST(os.find("notify") == std::string::npos, os);
}

namespace {} // namespace

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

// Both services run the same program the same way; they differ in where the sockets come
// from, and so in the network they may reach.
const std::vector<std::string> services{"echo-server.service", "echo-server-standalone.service"};

BOOST_DATA_TEST_CASE(service_is_a_notify_service_with_watchdog_reload_and_restart,
                     boost::unit_test::data::make(services), name) {
    auto u = parse_unit(read_file(source_dir + "/systemd/" + name));
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
}

BOOST_AUTO_TEST_CASE(the_socket_starts_the_service_and_the_standalone_one_excludes_both) {
    // Paired with echo-server.socket by name; started and stopped with it, never alone, and
    // not enabled by itself (enabling the socket is enough).
    auto service = parse_unit(read_file(service_path));
    BOOST_TEST(value(service, "Unit.Requires") == "echo-server.socket");
    BOOST_TEST(value(service, "Unit.After") == "echo-server.socket");
    BOOST_TEST(value(service, "Install.WantedBy") == "<unset>");
    // The standalone service binds the same ports itself: starting it stops the socket units
    // and the socket-activated service (and starting those stops it), and it is what
    // multi-user.target wants when enabled.
    auto standalone = parse_unit(read_file(standalone_path));
    BOOST_TEST(value(standalone, "Unit.Conflicts") ==
               "echo-server.socket echo-server.service echo-server-metrics.socket "
               "echo-server-proxy.socket echo-server-tls.socket echo-server-ws.socket "
               "echo-server-wss.socket");
    BOOST_TEST(value(standalone, "Unit.Requires") == "<unset>");
    BOOST_TEST(value(standalone, "Install.WantedBy") == "multi-user.target");
}

BOOST_DATA_TEST_CASE(service_runs_unprivileged_in_the_full_sandbox,
                     boost::unit_test::data::make(services), name) {
    auto u = parse_unit(read_file(source_dir + "/systemd/" + name));
    bool activated = name == "echo-server.service";
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
        // Passed sockets need neither a network nor an address family: the socket-activated
        // service keeps only AF_UNIX, for $NOTIFY_SOCKET.
        {"PrivateNetwork", activated ? "yes" : "<unset>"},
        {"RestrictAddressFamilies", activated ? "AF_UNIX" : "AF_INET AF_INET6 AF_UNIX"},
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

BOOST_AUTO_TEST_CASE(systemd_analyze_verifies_the_units,
                     *boost::unit_test::precondition(program_installed{"systemd-analyze"})) {
    temp_dir dir;
    stage_units(dir);
    // --man=no: the man page is not installed where the test runs.
    child_process verify("/bin/sh", {"-c",
                                     "cd \"$0\" && exec systemd-analyze verify --man=no "
                                     "./echo-server.socket ./echo-server.service "
                                     "./echo-server-standalone.service",
                                     dir.path()});
    auto code = verify.wait_exit(60s);
    BOOST_REQUIRE_MESSAGE(code, "systemd-analyze verify did not finish within 60 s");
    BOOST_TEST(*code == 0, "stdout: " << verify.out() << "\nstderr: " << verify.err());
    BOOST_TEST(verify.err() == "");
}

BOOST_AUTO_TEST_CASE(exposure_is_at_most_0_5_socket_activated_and_1_5_standalone,
                     *boost::unit_test::precondition(program_installed{"systemd-analyze"})) {
    temp_dir dir;
    stage_units(dir);
    // Socket-activated: no network of its own, no IP socket of its own.
    auto activated = exposure(dir, "echo-server.service");
    BOOST_REQUIRE(activated);
    BOOST_TEST_MESSAGE("exposure of echo-server.service: " << one_decimal(*activated));
    BOOST_TEST(*activated <= 0.5 + 1e-9);
    // Standalone: it binds, so it keeps the network and the IP families.
    auto standalone = exposure(dir, "echo-server-standalone.service");
    BOOST_REQUIRE(standalone);
    BOOST_TEST_MESSAGE("exposure of echo-server-standalone.service: " << one_decimal(*standalone));
    BOOST_TEST(*standalone <= 1.5 + 1e-9);
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
