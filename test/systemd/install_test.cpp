// SPDX-License-Identifier: BSL-1.0
// `cmake --install` into a staging folder (DESTDIR + --prefix) puts each file where the
// deployment needs it, the installed service names the installed binary, and the man pages
// document every long option the programs' --help prints.
#define BOOST_TEST_MODULE install
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include <unistd.h>

#include "child_process.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string server_path = ECHO_SERVER_PATH;
const std::string source_dir = PROJECT_SOURCE_DIR;
const std::string binary_dir = PROJECT_BINARY_DIR;

/// dir joined with a relative path, or the absolute path itself (as CMake installs it).
std::string under(const std::string& prefix, const std::string& path) {
    return !path.empty() && path.front() == '/' ? path : prefix + "/" + path;
}

/// Every long option ("--name") in a --help text.
std::set<std::string> long_options(const std::string& help) {
    std::set<std::string> result;
    std::regex option("(^|[ \\[])(--[a-z][a-z-]*)");
    for (std::sregex_iterator it(help.begin(), help.end(), option), end; it != end; ++it) {
        result.insert((*it)[2].str());
    }
    return result;
}

/// A man page's text with roff escapes for '-' undone and font changes dropped, so that
/// "\-\-buffer\-size" reads "--buffer-size".
std::string man_text(const std::string& page) {
    auto text = read_file(source_dir + "/man/" + page);
    text = std::regex_replace(text, std::regex("\\\\f[BIRP]"), "");
    text = std::regex_replace(text, std::regex("\\\\-"), "-");
    return text;
}

/// Checks that every long option in help appears in the man page text, as a whole word.
void check_documented(const std::string& help, const std::string& page, const std::string& text) {
    auto options = long_options(help);
    BOOST_TEST(!options.empty(), "no options found in the help text for " << page);
    for (const auto& option : options) {
        std::regex word("(^|[^a-z-])" + option + "($|[^a-z-])");
        BOOST_TEST(std::regex_search(text, word), option << " is not documented in " << page);
    }
}

struct installed {
    temp_dir dir;
    std::string destdir = dir.path() + "/dest";
    std::string prefix = dir.path() + "/prefix";
    /// Where a file lands: DESTDIR + (absolute path, or prefix + relative path).
    std::string at(const std::string& path) const { return destdir + under(prefix, path); }

    installed() {
        child_process install(CMAKE_COMMAND, {"--install", binary_dir, "--prefix", prefix},
                              {"DESTDIR=" + destdir});
        auto code = install.wait_exit(60s);
        BOOST_REQUIRE_MESSAGE(code, "cmake --install did not finish within 60 s");
        BOOST_REQUIRE_MESSAGE(*code == 0,
                              "cmake --install failed: " << install.out() << install.err());
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(install_puts_binaries_units_config_and_man_pages_in_place) {
    installed staged;
    auto bin = staged.at(CMAKE_INSTALL_BINDIR);
    BOOST_TEST(::access((bin + "/echo-server").c_str(), X_OK) == 0, bin << "/echo-server");
#ifdef ECHO_CLIENT_PATH
    BOOST_TEST(::access((bin + "/echo-client").c_str(), X_OK) == 0, bin << "/echo-client");
#endif

    auto units = staged.at(ASIO_ECHO_SYSTEMD_UNIT_DIR);
    BOOST_TEST(read_file(units + "/echo-server.socket") ==
               read_file(source_dir + "/systemd/echo-server.socket"));
    // The services name the binary where this install put it (the prefix, without DESTDIR).
    auto exec = "\nExecStart=" + under(staged.prefix, CMAKE_INSTALL_BINDIR) +
                "/echo-server --config " + ASIO_ECHO_CONFIG_DIR + "/echo-server.conf\n";
    for (const char* name : {"echo-server.service", "echo-server-standalone.service"}) {
        auto service = read_file(units + "/" + name);
        BOOST_TEST(service.find(exec) != std::string::npos, name << ": no line" << exec << "in\n"
                                                                 << service);
        BOOST_TEST(service.find("/usr/bin/echo-server") == std::string::npos, name);
    }
    for (const char* socket :
         {"echo-server-metrics.socket", "echo-server-proxy.socket", "echo-server-tls.socket",
          "echo-server-ws.socket", "echo-server-wss.socket"}) {
        BOOST_TEST(read_file(units + "/" + socket) == read_file(source_dir + "/systemd/" + socket),
                   socket);
    }
    auto instances = read_file(units + "/echo-server@.service");
    auto instance_exec = "\nExecStart=" + under(staged.prefix, CMAKE_INSTALL_BINDIR) +
                         "/echo-server --config " + ASIO_ECHO_CONFIG_DIR +
                         "/%i.conf --reuse-port\n";
    BOOST_TEST(instances.find(instance_exec) != std::string::npos, "no line" << instance_exec
                                                                             << "in\n"
                                                                             << instances);

    BOOST_TEST(read_file(staged.destdir + ASIO_ECHO_CONFIG_DIR + "/echo-server.conf") ==
               read_file(source_dir + "/systemd/echo-server.conf"));

    auto man = staged.at(CMAKE_INSTALL_MANDIR);
    for (auto [section, page] :
         {std::pair{"8", "echo-server.8"}, std::pair{"1", "echo-client.1"}}) {
        auto gz = man + "/man" + section + "/" + page + ".gz";
        auto plain = man + "/man" + section + "/" + page;
        if (fs::exists(gz)) {
            auto unzip = run_program("/bin/sh", {"-c", "exec gzip -dc \"$0\"", gz});
            BOOST_TEST(unzip.code == 0);
            BOOST_TEST(unzip.out == read_file(source_dir + "/man/" + page), gz);
        } else {
            BOOST_TEST(read_file(plain) == read_file(source_dir + "/man/" + page), plain);
        }
    }

    // The installed binary runs.
    auto version = run_program(bin + "/echo-server", {"--version"});
    BOOST_TEST(version.code == 0);
    BOOST_TEST(version.out == std::string("echo-server ") + PROJECT_VERSION + "\n");
}

BOOST_AUTO_TEST_CASE(echo_server_man_page_documents_every_option_of_help) {
    auto help = run_program(server_path, {"--help"});
    BOOST_REQUIRE_EQUAL(help.code, 0);
    check_documented(help.out, "echo-server.8", man_text("echo-server.8"));
}

BOOST_AUTO_TEST_CASE(echo_client_man_page_documents_every_option_of_each_mode) {
#ifdef ECHO_CLIENT_PATH
    auto text = man_text("echo-client.1");
    for (std::vector<std::string> args :
         {std::vector<std::string>{"--help"}, std::vector<std::string>{"ping", "--help"},
          std::vector<std::string>{"load", "--help"}}) {
        auto help = run_program(ECHO_CLIENT_PATH, args);
        BOOST_REQUIRE_EQUAL(help.code, 0);
        check_documented(help.out, "echo-client.1", text);
    }
#else
    BOOST_TEST_MESSAGE("skipped: echo-client is not built in this tree");
#endif
}
