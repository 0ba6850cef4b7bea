// SPDX-License-Identifier: BSL-1.0
// The packages (asio-echo, asio-echo-client, built by dpkg-buildpackage) installed for real
// on this host, as root: `dpkg -i` (the maintainer scripts must be harmless when systemd is
// not running), `dpkg -L` lists what the deployment needs, the installed binaries run and
// echo, `dpkg -r` removes all but the conffile, `dpkg -P` that too. Skipped with a message
// when not root, without dpkg, or when either package is already on this host (a copy
// someone installed is not ours to replace or purge). A guard purges them whatever happens,
// so the host is left as it was found.
#define BOOST_TEST_MODULE deb_install
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "child_process.hpp"
#include "package_layout.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> packages{"asio-echo", "asio-echo-client"};
const std::string both = "asio-echo asio-echo-client";

const std::string& bin_dir = packaged::bin_dir;
const std::string& config = packaged::config;

/// dpkg's status of a package on this host ("install ok installed", "deinstall ok
/// config-files", ...), or "" when dpkg knows no such package.
std::string package_status(const std::string& package) {
    auto query = run_shell("exec dpkg-query -W -f='${Status}' " + package + " 2>/dev/null", 30s);
    return query.code == 0 ? query.out : "";
}

bool on_host(const std::string& status) {
    return !status.empty() && status.find("not-installed") == std::string::npos;
}

/// Runs dpkg with its output (stdout and stderr) in one text.
run_result dpkg(const std::string& arguments) {
    return run_shell("exec dpkg " + arguments + " 2>&1", 120s);
}

/// Purges the packages at destruction if they are on the host then: whatever failed in
/// between, the host ends as the test found it (the test skips when one was there before).
struct purge_guard {
    purge_guard() = default;
    purge_guard(const purge_guard&) = delete;
    purge_guard& operator=(const purge_guard&) = delete;
    ~purge_guard() {
        try {
            for (const auto& package : packages) {
                if (on_host(package_status(package))) {
                    auto purge = dpkg("--purge " + package);
                    BOOST_TEST_MESSAGE("cleanup: dpkg --purge " << package << " exited "
                                                                << purge.code << "\n"
                                                                << purge.out);
                }
            }
        } catch (const std::exception& e) {
            BOOST_TEST_MESSAGE("cleanup failed: " << e.what());
        }
    }
};

/// The lines of dpkg's output that complain (an error, a failure, a warning): the
/// maintainer scripts must stay quiet, with or without a running systemd.
std::string complaints(const std::string& output) {
    std::string found;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
        std::string lower;
        for (char c : line) {
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        for (const char* word : {"error", "fail", "warning"}) {
            if (lower.find(word) != std::string::npos) {
                found += line + "\n";
                break;
            }
        }
    }
    return found;
}

/// What this host runs as PID 1, for the messages.
std::string pid_1() {
    try {
        auto comm = read_file("/proc/1/comm");
        return comm.substr(0, comm.find('\n'));
    } catch (const std::exception&) {
        return "unknown";
    }
}

/// Skips (with a message) unless this host can take the package.
bool host_can_take_the_package() {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: dpkg -i needs root");
        return false;
    }
    for (const char* tool : {"dpkg", "dpkg-deb", "dpkg-query"}) {
        if (!find_program(tool)) {
            BOOST_TEST_MESSAGE("skipped: " << tool << " is not installed");
            return false;
        }
    }
    for (const auto& package : packages) {
        if (auto status = package_status(package); on_host(status)) {
            auto version = run_shell("exec dpkg-query -W -f='${Version}' " + package, 30s).out;
            BOOST_TEST_MESSAGE("skipped: " << package << " " << version
                                           << " is already on this host (" << status
                                           << "); the test neither replaces nor purges it");
            return false;
        }
    }
    return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(dpkg_installs_runs_removes_and_purges_the_package) {
    if (!host_can_take_the_package()) {
        return;
    }
    auto debs = find_built_packages(ASIO_ECHO_DEB_DIR);
    if (!debs) {
        BOOST_TEST_MESSAGE("skipped: no packages in " ASIO_ECHO_DEB_DIR
                           " (deb_build skipped: no dpkg-buildpackage here)");
        return;
    }
    auto deb = sh_quoted(debs->server) + " " + sh_quoted(debs->client);
    BOOST_TEST_MESSAGE("installing "
                       << debs->server << " and " << debs->client << "; PID 1 is " << pid_1()
                       << ", systemd "
                       << (fs::exists("/run/systemd/system") ? "running" : "not running"));
    purge_guard guard;

    // Install: the maintainer scripts succeed with or without a running systemd.
    auto install = dpkg("-i " + deb);
    BOOST_REQUIRE_MESSAGE(install.code == 0, "dpkg -i failed:\n" << install.out);
    BOOST_TEST(complaints(install.out).empty(), "dpkg -i:\n" << install.out);
    for (const auto& package : packages) {
        BOOST_TEST(package_status(package) == "install ok installed", package);
    }

    auto listed = dpkg("-L " + both);
    BOOST_REQUIRE_EQUAL(listed.code, 0);
    for (const auto& file : packaged::files()) {
        BOOST_TEST(listed.out.find(file + "\n") != std::string::npos,
                   file << " missing from dpkg -L:\n"
                        << listed.out);
        BOOST_TEST(fs::exists(file), file << " is listed but not on disk");
    }
    // The postinst enables the socket (symlinks only: it needs no running systemd).
    auto systemctl = find_program("systemctl");
    if (systemctl) {
        auto enabled = run_shell("exec systemctl is-enabled echo-server.socket 2>&1", 30s);
        BOOST_TEST(enabled.out == "enabled\n", "systemctl is-enabled: " << enabled.out);
    }

    // The installed programs run.
    auto server_version = run_program(bin_dir + "/echo-server", {"--version"});
    BOOST_TEST(server_version.code == 0);
    BOOST_TEST(server_version.out == std::string("echo-server ") + PROJECT_VERSION + "\n");
    auto client_version = run_program(bin_dir + "/echo-client", {"--version"});
    BOOST_TEST(client_version.code == 0);
    BOOST_TEST(client_version.out == std::string("echo-client ") + PROJECT_VERSION + "\n");

    // The installed server, with the installed config, echoes to the installed client.
    {
        child_process server(bin_dir + "/echo-server",
                             {"--config", config, "--listen", "127.0.0.1:0"});
        auto tcp = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
        auto udp = server.wait_for_stderr_line("listening udp 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(tcp && udp, "no listening lines:\n" << server.err());
        auto endpoint = [](const std::string& line) {
            return "127.0.0.1:" + std::to_string(port_of(line));
        };
        auto over_tcp = run_program(bin_dir + "/echo-client",
                                    {"--connect", endpoint(*tcp), "installed", "tcp"});
        BOOST_TEST(over_tcp.code == 0, over_tcp.err);
        BOOST_TEST(over_tcp.out == "installed tcp\n");
        auto over_udp = run_program(bin_dir + "/echo-client",
                                    {"--connect", endpoint(*udp), "--udp", "installed", "udp"});
        BOOST_TEST(over_udp.code == 0, over_udp.err);
        BOOST_TEST(over_udp.out == "installed udp\n");
        server.send_signal(SIGTERM);
        BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
    }

    // Remove: every file goes but the conffile, and the socket is no longer enabled.
    auto remove = dpkg("-r " + both);
    BOOST_REQUIRE_MESSAGE(remove.code == 0, "dpkg -r failed:\n" << remove.out);
    BOOST_TEST(complaints(remove.out).empty(), "dpkg -r:\n" << remove.out);
    BOOST_TEST(package_status("asio-echo") == "deinstall ok config-files");
    // The client has no conffile: removing it leaves nothing.
    BOOST_TEST(!on_host(package_status("asio-echo-client")), package_status("asio-echo-client"));
    for (const auto& file : packaged::files()) {
        BOOST_TEST(fs::exists(file) == (file == config), file);
    }
    if (systemctl) {
        auto enabled = run_shell("exec systemctl is-enabled echo-server.socket 2>&1", 30s);
        BOOST_TEST(enabled.code != 0, "still enabled after dpkg -r: " << enabled.out);
        BOOST_TEST(!fs::exists("/etc/systemd/system/sockets.target.wants/echo-server.socket"));
    }

    // Reinstall after removal: the socket that was enabled is enabled again, as a fresh
    // install would; then remove once more.
    auto reinstall = dpkg("-i " + deb);
    BOOST_REQUIRE_MESSAGE(reinstall.code == 0, "dpkg -i again failed:\n" << reinstall.out);
    BOOST_TEST(complaints(reinstall.out).empty(), "dpkg -i again:\n" << reinstall.out);
    for (const auto& package : packages) {
        BOOST_TEST(package_status(package) == "install ok installed", package);
    }
    if (systemctl) {
        auto enabled = run_shell("exec systemctl is-enabled echo-server.socket 2>&1", 30s);
        BOOST_TEST(enabled.out == "enabled\n", "after reinstall: " << enabled.out);
    }
    auto remove_again = dpkg("-r " + both);
    BOOST_REQUIRE_MESSAGE(remove_again.code == 0, "dpkg -r again failed:\n" << remove_again.out);

    // Purge: the conffile and its folder go too.
    auto purge = dpkg("-P asio-echo"); // the client left nothing to purge
    BOOST_REQUIRE_MESSAGE(purge.code == 0, "dpkg -P failed:\n" << purge.out);
    BOOST_TEST(complaints(purge.out).empty(), "dpkg -P:\n" << purge.out);
    for (const auto& package : packages) {
        BOOST_TEST(!on_host(package_status(package)), package << ": " << package_status(package));
    }
    BOOST_TEST(!fs::exists(config));
    BOOST_TEST(!fs::exists(packaged::config_dir));
    BOOST_TEST(!fs::exists("/var/lib/asio-echo"));
}
