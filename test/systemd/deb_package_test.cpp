// SPDX-License-Identifier: BSL-1.0
// `cpack -G DEB` builds asio-echo_<version>_<arch>.deb: its name, its Depends (the Boost
// runtime it links), the conffile, the files, and maintainer scripts that parse. Slow (the
// whole install plus dpkg-shlibdeps), so it is labelled `package` with a long timeout.
#define BOOST_TEST_MODULE deb_package
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "child_process.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string source_dir = PROJECT_SOURCE_DIR;
const std::string binary_dir = PROJECT_BINARY_DIR;

} // namespace

BOOST_AUTO_TEST_CASE(cpack_builds_a_versioned_deb_with_depends_conffile_and_scripts,
                     *boost::unit_test::precondition(program_installed{"dpkg-deb"})) {
    temp_dir dir;
    // asio-echo_<version>_<arch>.deb
    auto deb = build_deb(CMAKE_CPACK_COMMAND, binary_dir, dir.path());
    auto arch = run_shell("exec dpkg --print-architecture", 10s).out;
    arch.erase(arch.find_last_not_of("\n") + 1);
    BOOST_TEST(fs::path(deb).filename().string() ==
               std::string("asio-echo_") + PROJECT_VERSION + "_" + arch + ".deb");
    BOOST_TEST_MESSAGE(".deb size: " << fs::file_size(deb) << " bytes");

    auto field = [&](const std::string& name) { return deb_field(deb, name); };
    BOOST_TEST(field("Package") == "asio-echo");
    BOOST_TEST(field("Version") == PROJECT_VERSION);
    // A project contact ("name <address>"), no placeholder on a local host.
    auto maintainer = field("Maintainer");
    BOOST_TEST(std::regex_match(maintainer, std::regex(R"([^<>]+ <[^<>@ ]+@[^<>@ ]+\.[a-z]+>)")),
               maintainer);
    BOOST_TEST(maintainer.find("localhost") == std::string::npos, maintainer);
    auto depends = field("Depends");
    BOOST_TEST_MESSAGE("Depends: " << depends);
    BOOST_TEST(depends.find("libboost-program-options1.81.0") != std::string::npos, depends);
    // Exactly the Boost library linked: no other Boost runtime package.
    std::istringstream items(depends);
    std::string item;
    while (std::getline(items, item, ',')) {
        item.erase(0, item.find_first_not_of(' '));
        if (item.rfind("libboost", 0) == 0) {
            BOOST_TEST(item.rfind("libboost-program-options1.81.0", 0) == 0u, item);
        }
    }

    auto control = dir.path() + "/control";
    BOOST_REQUIRE_EQUAL(
        run_shell("exec dpkg-deb -e " + sh_quoted(deb) + " " + sh_quoted(control), 30s).code, 0);
    BOOST_TEST(read_file(control + "/conffiles") == "/etc/echo-server/echo-server.conf\n");
    for (const char* script : {"postinst", "prerm", "postrm"}) {
        auto path = control + "/" + script;
        BOOST_TEST(fs::exists(path), script);
        BOOST_TEST(read_file(path) == read_file(source_dir + "/packaging/deb/" + script), script);
        BOOST_TEST(((fs::status(path).permissions() & fs::perms::owner_exec) != fs::perms::none),
                   script << " is not executable");
        auto syntax = run_shell("exec sh -n " + sh_quoted(path) + " 2>&1", 10s);
        BOOST_TEST(syntax.code == 0, script << ": " << syntax.out);
    }

    auto listing = run_shell("exec dpkg-deb -c " + sh_quoted(deb), 30s);
    BOOST_REQUIRE_EQUAL(listing.code, 0);
    for (const char* file :
         {"./usr/bin/echo-server", "./usr/bin/echo-client",
          "./lib/systemd/system/echo-server.service", "./lib/systemd/system/echo-server.socket",
          "./lib/systemd/system/echo-server@.service",
          "./lib/systemd/system/echo-server-metrics.socket", "./etc/echo-server/echo-server.conf",
          "./usr/share/man/man8/echo-server.8.gz", "./usr/share/man/man1/echo-client.1.gz"}) {
        BOOST_TEST(listing.out.find(std::string(" ") + file + "\n") != std::string::npos,
                   file << " missing from:\n"
                        << listing.out);
    }

    // The packaged service starts the packaged binary.
    auto root = dir.path() + "/root";
    BOOST_REQUIRE_EQUAL(
        run_shell("exec dpkg-deb -x " + sh_quoted(deb) + " " + sh_quoted(root), 30s).code, 0);
    auto service = read_file(root + "/lib/systemd/system/echo-server.service");
    BOOST_TEST(service.find("\nExecStart=/usr/bin/echo-server --config "
                            "/etc/echo-server/echo-server.conf\n") != std::string::npos,
               service);
    auto version =
        run_shell("exec " + sh_quoted(root + "/usr/bin/echo-server") + " --version", 10s);
    BOOST_TEST(version.code == 0);
    BOOST_TEST(version.out == std::string("echo-server ") + PROJECT_VERSION + "\n");
}
