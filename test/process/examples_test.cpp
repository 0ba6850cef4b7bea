// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE examples
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <string>

#include "child_process.hpp"
#include "net.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(reversing_server_sends_each_message_back_reversed) {
    child_process server(REVERSING_ECHO_SERVER_PATH, {"127.0.0.1:0"});
    auto line = server.wait_for_stderr_line("listening udp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    auto port = port_of(*line);
    auto tcp = plain_socket::tcp("127.0.0.1", port);
    tcp.send_all("hello");
    BOOST_TEST(tcp.receive_exactly(5) == "olleh");
    auto udp = plain_socket::udp("127.0.0.1", port);
    udp.send_all("stressed");
    BOOST_TEST(udp.receive_some().value() == "desserts");
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(5s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(example_config_file_is_accepted_by_echo_server) {
    // Port 0 on the command line keeps the test off the file's fixed port; everything else
    // (mode, threads, buffer size, io model, log level) comes from the example file.
    child_process server(ECHO_SERVER_PATH, {"--config", EXAMPLE_CONFIG, "--listen", "127.0.0.1:0"});
    auto line = server.wait_for_stderr_line("listening tcp 127.0.0.1:", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    auto tcp = plain_socket::tcp("127.0.0.1", port_of(*line));
    tcp.send_all("hello");
    BOOST_TEST(tcp.receive_exactly(5) == "hello");
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(5s).value_or(-1) == 0);
}
