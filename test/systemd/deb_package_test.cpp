// SPDX-License-Identifier: BSL-1.0
// The Debian packages dpkg-buildpackage builds (the deb_build fixture runs scripts/build-deb):
// their names and versions (the changelog's, which is the project's), the fields an
// administrator reads, the maintainer scripts debhelper generates for the units, the files
// in each package, and lintian: no error and no warning.
#define BOOST_TEST_MODULE deb_package
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string source_dir = PROJECT_SOURCE_DIR;

/// The packages of the fixture; the test case is skipped (with the message) without them.
struct packages_fixture {
    packages_fixture() {
        auto found = find_built_packages(ASIO_ECHO_DEB_DIR);
        if (!found) {
            BOOST_TEST_MESSAGE("skipped: no packages in " << ASIO_ECHO_DEB_DIR
                                                          << " (deb_build skipped: no "
                                                             "dpkg-buildpackage here)");
            return;
        }
        debs = *found;
        arch = run_shell("exec dpkg --print-architecture", 10s).out;
        arch.erase(arch.find_last_not_of('\n') + 1);
    }
    built_packages debs;
    std::string arch;
};

/// The `dpkg-deb -c` listing of a package: one path per line, "./usr/bin/echo-server".
std::vector<std::string> contents(const std::string& deb) {
    auto listing = run_shell("exec dpkg-deb -c " + sh_quoted(deb), 30s);
    BOOST_REQUIRE_EQUAL(listing.code, 0);
    std::vector<std::string> paths;
    std::istringstream in(listing.out);
    for (std::string line; std::getline(in, line);) {
        auto at = line.find(" ./");
        if (at != std::string::npos) {
            auto path = line.substr(at + 1);
            path = path.substr(0, path.find(" -> ")); // a symbolic link's target
            paths.push_back(path);
        }
    }
    return paths;
}

bool holds(const std::vector<std::string>& paths, const std::string& path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

/// The control files of a package (conffiles, postinst, ...) extracted into dir.
std::string control_files(const std::string& deb, const temp_dir& dir, const std::string& name) {
    auto control = dir.path() + "/" + name;
    BOOST_REQUIRE_EQUAL(
        run_shell("exec dpkg-deb -e " + sh_quoted(deb) + " " + sh_quoted(control), 30s).code, 0);
    return control;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(the_packages_carry_the_changelogs_version_and_the_fields_they_need,
                        packages_fixture) {
    if (debs.server.empty()) {
        return;
    }
    // Named <package>_<version>_<arch>.deb, the version the changelog's, which is CMake's.
    auto changelog = read_file(source_dir + "/debian/changelog");
    BOOST_TEST(changelog.rfind(std::string("asio-echo (") + PROJECT_VERSION + ") ", 0) == 0u,
               "debian/changelog does not start with version " << PROJECT_VERSION);
    BOOST_TEST(fs::path(debs.server).filename().string() ==
               std::string("asio-echo_") + PROJECT_VERSION + "_" + arch + ".deb");
    BOOST_TEST(fs::path(debs.client).filename().string() ==
               std::string("asio-echo-client_") + PROJECT_VERSION + "_" + arch + ".deb");
    BOOST_TEST_MESSAGE("sizes: " << fs::path(debs.server).filename().string() << " "
                                 << fs::file_size(debs.server) << " bytes, "
                                 << fs::path(debs.client).filename().string() << " "
                                 << fs::file_size(debs.client) << " bytes");

    for (const auto& deb : {debs.server, debs.client}) {
        BOOST_TEST_CONTEXT(fs::path(deb).filename().string()) {
            BOOST_TEST(deb_field(deb, "Version") == PROJECT_VERSION);
            BOOST_TEST(deb_field(deb, "Section") == "net");
            // A project contact ("name <address>"), no placeholder of a local host.
            auto maintainer = deb_field(deb, "Maintainer");
            BOOST_TEST(
                std::regex_match(maintainer, std::regex(R"([^<>]+ <[^<>@ ]+@[^<>@ ]+\.[a-z]+>)")),
                maintainer);
            BOOST_TEST(maintainer.find("localhost") == std::string::npos, maintainer);
            // Depends: what dpkg-shlibdeps found; of Boost exactly the one library linked.
            auto depends = deb_field(deb, "Depends");
            BOOST_TEST_MESSAGE(fs::path(deb).filename().string() << " Depends: " << depends);
            BOOST_TEST(depends.find("libboost-program-options1.81.0") != std::string::npos,
                       depends);
            BOOST_TEST(depends.find("libstdc++6") != std::string::npos, depends);
            std::istringstream items(depends);
            for (std::string item; std::getline(items, item, ',');) {
                item.erase(0, item.find_first_not_of(' '));
                if (item.rfind("libboost", 0) == 0) {
                    BOOST_TEST(item.rfind("libboost-program-options1.81.0", 0) == 0u, item);
                }
            }
            // Every line of the description fits a terminal (lintian: 80 columns).
            std::istringstream description(deb_field(deb, "Description"));
            for (std::string line; std::getline(description, line);) {
                BOOST_TEST(line.size() <= 80u, line);
            }
        }
    }
    // Both from the one source package (dpkg leaves Source out where it is the package name).
    BOOST_TEST(deb_field(debs.client, "Source") == "asio-echo");
    BOOST_TEST(deb_field(debs.server, "Package") == "asio-echo");
    BOOST_TEST(deb_field(debs.client, "Package") == "asio-echo-client");
    // The client is useful alone; the server recommends it (to check what it serves).
    BOOST_TEST(deb_field(debs.server, "Recommends") == "asio-echo-client");
}

BOOST_FIXTURE_TEST_CASE(debhelper_handles_the_units_and_the_conffile, packages_fixture) {
    if (debs.server.empty()) {
        return;
    }
    temp_dir dir;
    auto control = control_files(debs.server, dir, "server");
    BOOST_TEST(read_file(control + "/conffiles") == "/etc/echo-server/echo-server.conf\n");
    std::string scripts;
    for (const char* script : {"postinst", "prerm", "postrm"}) {
        auto path = control + "/" + script;
        BOOST_REQUIRE_MESSAGE(fs::exists(path), script << " missing");
        BOOST_TEST(((fs::status(path).permissions() & fs::perms::owner_exec) != fs::perms::none),
                   script << " is not executable");
        auto syntax = run_shell("exec sh -n " + sh_quoted(path) + " 2>&1", 10s);
        BOOST_TEST(syntax.code == 0, script << ": " << syntax.out);
        scripts += read_file(path);
    }
    auto postinst = read_file(control + "/postinst");
    auto prerm = read_file(control + "/prerm");
    // Generated by dh_installsystemd: the socket enabled and started, the service not
    // started on install but restarted on upgrade when it runs.
    BOOST_TEST(postinst.find("deb-systemd-helper enable 'echo-server.socket'") != std::string::npos,
               postinst);
    BOOST_TEST(postinst.find("deb-systemd-invoke start 'echo-server.socket'") != std::string::npos,
               postinst);
    BOOST_TEST(postinst.find("deb-systemd-invoke try-restart 'echo-server.service'") !=
                   std::string::npos,
               postinst);
    for (const char* start : {"deb-systemd-invoke start 'echo-server.service'",
                              "deb-systemd-invoke $_dh_action 'echo-server.service'"}) {
        BOOST_TEST(postinst.find(start) == std::string::npos, postinst);
    }
    // Nothing is stopped before an upgrade (that would drop the socket's queue, and the
    // restart after it is enough for the service).
    if (fs::exists(control + "/preinst")) {
        BOOST_ERROR("a preinst:\n" << read_file(control + "/preinst"));
    }
    // The administrator's choices are kept: the optional units are enabled again only where
    // the administrator had enabled them (debhelper's debian-installed guard); only the
    // socket is enabled on a fresh install.
    for (const char* unit : {"echo-server-standalone.service", "echo-server-metrics.socket",
                             "echo-server-proxy.socket", "echo-server-tls.socket",
                             "echo-server-ws.socket", "echo-server-wss.socket"}) {
        BOOST_TEST(postinst.find(std::string("if deb-systemd-helper debian-installed '") + unit +
                                 "'; then") != std::string::npos,
                   unit);
    }
    std::size_t fresh_enables = 0;
    for (auto at = postinst.find("new installations run enable"); at != std::string::npos;
         at = postinst.find("new installations run enable", at + 1)) {
        ++fresh_enables;
    }
    BOOST_TEST(fresh_enables == 1u, postinst);
    // Stopped on removal: the socket (the service stops with it), and the optional units.
    BOOST_TEST(prerm.find("deb-systemd-invoke stop 'echo-server.socket'") != std::string::npos,
               prerm);
    BOOST_TEST(prerm.find("deb-systemd-invoke stop echo-server-standalone.service "
                          "echo-server-metrics.socket \\\n        echo-server-proxy.socket "
                          "echo-server-tls.socket echo-server-ws.socket \\\n        "
                          "echo-server-wss.socket") != std::string::npos,
               prerm);
    // Nothing hand-written calls systemctl but debhelper's daemon-reload.
    std::istringstream lines(scripts);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("systemctl") != std::string::npos) {
            BOOST_TEST(line.find("systemctl --system daemon-reload") != std::string::npos, line);
        }
    }
    // The client package has no maintainer scripts and no conffile.
    auto client = control_files(debs.client, dir, "client");
    for (const char* file : {"postinst", "prerm", "postrm", "conffiles"}) {
        BOOST_TEST(!fs::exists(client + "/" + file), file << " in asio-echo-client");
    }
}

BOOST_FIXTURE_TEST_CASE(each_package_holds_its_programs_units_config_and_man_pages,
                        packages_fixture) {
    if (debs.server.empty()) {
        return;
    }
    auto server = contents(debs.server);
    for (const char* file :
         {"./usr/bin/echo-server", "./lib/systemd/system/echo-server.service",
          "./lib/systemd/system/echo-server-standalone.service",
          "./lib/systemd/system/echo-server.socket", "./lib/systemd/system/echo-server@.service",
          "./lib/systemd/system/echo-server-metrics.socket",
          "./lib/systemd/system/echo-server-proxy.socket",
          "./lib/systemd/system/echo-server-tls.socket",
          "./lib/systemd/system/echo-server-ws.socket",
          "./lib/systemd/system/echo-server-wss.socket", "./etc/echo-server/echo-server.conf",
          "./usr/share/man/man8/echo-server.8.gz", "./usr/share/doc/asio-echo/copyright",
          "./usr/share/doc/asio-echo/changelog.gz"}) {
        BOOST_TEST(holds(server, file), file << " missing from asio-echo");
    }
    BOOST_TEST(!holds(server, "./usr/bin/echo-client"));
    auto client = contents(debs.client);
    for (const char* file : {"./usr/bin/echo-client", "./usr/share/man/man1/echo-client.1.gz",
                             "./usr/share/doc/asio-echo-client/copyright"}) {
        BOOST_TEST(holds(client, file), file << " missing from asio-echo-client");
    }
    BOOST_TEST(!holds(client, "./usr/bin/echo-server"));

    // The packaged service starts the packaged binary, which runs.
    temp_dir dir;
    auto root = dir.path() + "/root";
    for (const auto& deb : {debs.server, debs.client}) {
        BOOST_REQUIRE_EQUAL(
            run_shell("exec dpkg-deb -x " + sh_quoted(deb) + " " + sh_quoted(root), 30s).code, 0);
    }
    for (const char* unit : {"echo-server.service", "echo-server-standalone.service"}) {
        auto service = read_file(root + "/lib/systemd/system/" + unit);
        BOOST_TEST(service.find("\nExecStart=/usr/bin/echo-server --config "
                                "/etc/echo-server/echo-server.conf\n") != std::string::npos,
                   unit);
    }
    for (const char* program : {"echo-server", "echo-client"}) {
        auto version =
            run_shell("exec " + sh_quoted(root + "/usr/bin/" + program) + " --version", 10s);
        BOOST_TEST(version.code == 0, program);
        BOOST_TEST(version.out == std::string(program) + " " + PROJECT_VERSION + "\n");
    }
}

BOOST_FIXTURE_TEST_CASE(lintian_finds_no_error_and_no_warning, packages_fixture,
                        *boost::unit_test::precondition(program_installed{"lintian"})) {
    if (debs.server.empty()) {
        return;
    }
    // --fail-on error,warning: the exit status says it; the tags say what. Informational
    // tags (I:) are listed in the log, and the README says why each remains.
    auto lintian = run_shell("exec lintian --fail-on error,warning --display-info " +
                                 sh_quoted(debs.server) + " " + sh_quoted(debs.client) + " 2>&1",
                             240s);
    BOOST_TEST_MESSAGE("lintian:\n" << (lintian.out.empty() ? "(nothing)\n" : lintian.out));
    BOOST_TEST(lintian.code == 0, lintian.out);
    std::istringstream lines(lintian.out);
    for (std::string line; std::getline(lines, line);) {
        BOOST_TEST(line.rfind("E: ", 0) != 0u, line);
        BOOST_TEST(line.rfind("W: ", 0) != 0u, line);
    }
}
