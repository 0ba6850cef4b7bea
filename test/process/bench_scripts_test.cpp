// SPDX-License-Identifier: BSL-1.0
// The benchmark scripts answer --help with their usage and refuse an unknown argument, without
// building or measuring anything (before, `--help` started a benchmark of several minutes).
#define BOOST_TEST_MODULE bench_scripts
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

#include "child_process.hpp"

using namespace asio_echo::test;

namespace {

const char* const scripts[] = {
    "suite",        "thread-models",   "scrape-overhead",   "client_vs_loadgen",
    "tls-vs-nginx", "tls-idle-memory", "websocket-vs-peers"};

std::string script_path(const std::string& name) {
    return std::string(PROJECT_SOURCE_DIR) + "/bench/" + name;
}

} // namespace

BOOST_DATA_TEST_CASE(help_prints_the_usage_and_nothing_else, boost::unit_test::data::make(scripts),
                     name) {
    auto help = run_program(script_path(name), {"--help"});
    BOOST_TEST(help.code == 0, name << ": " << help.err);
    BOOST_TEST(help.out.find(std::string("bench/") + name) != std::string::npos,
               name << " --help does not show how to call it:\n"
                    << help.out);
    // Comment text only: no line of the script's code.
    for (const char* code : {"set -e", "#!/", "cmake "}) {
        BOOST_TEST(help.out.find(code) == std::string::npos, name << " --help prints " << code);
    }
    BOOST_TEST(help.err.empty(), name << " --help wrote to stderr: " << help.err);
}

BOOST_DATA_TEST_CASE(an_unknown_argument_is_a_usage_error, boost::unit_test::data::make(scripts),
                     name) {
    auto bad = run_program(script_path(name), {"--no-such-option"});
    BOOST_TEST(bad.code == 64, name << ": " << bad.out << bad.err);
    BOOST_TEST(bad.err.find("--no-such-option") != std::string::npos, name << ": " << bad.err);
}
