// SPDX-License-Identifier: BSL-1.0
// echo-client's one-shot and stream modes, through the real binary, against an in-process
// server on loopback port 0.
#define BOOST_TEST_MODULE client_message
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "child_process.hpp"
#include "net.hpp"
#include "posix_echo.hpp"
#include "server_fixture.hpp"

using namespace asio_echo;
using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

/// A test writing a child's stdin must not die of SIGPIPE when the child exits first.
struct ignore_sigpipe {
    ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

std::string at(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

run_result client(std::vector<std::string> args) {
    return run_program(ECHO_CLIENT_PATH, args);
}

/// Runs echo-client with input on its stdin (run_with_input).
run_result client_with_input(const std::vector<std::string>& args, const std::string& input) {
    return run_with_input(ECHO_CLIENT_PATH, args, input);
}

std::string upper(std::string s) {
    to_upper_ascii(s);
    return s;
}

/// Flips one bit of the byte at stream offset `at` (counted over every chunk it sees).
transform flip_byte_at(std::uint64_t at) {
    auto seen = std::make_shared<std::atomic<std::uint64_t>>(0);
    return [seen, at](std::span<char> chunk) {
        auto start = seen->fetch_add(chunk.size());
        if (at >= start && at < start + chunk.size()) {
            chunk[at - start] = static_cast<char>(chunk[at - start] ^ 0x01);
        }
    };
}

} // namespace

BOOST_AUTO_TEST_CASE(one_shot_tcp_prints_the_echo_and_a_newline) {
    running_server server(loopback_config());
    auto r = client({"--connect", at(server.tcp_port()), "hello", "world"});
    BOOST_TEST(r.code == 0);
    BOOST_TEST(r.out == "hello world\n");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(one_shot_udp_prints_the_echo_and_a_newline) {
    running_server server(loopback_config());
    auto r = client({"--connect", at(server.udp_port()), "--udp", "hello", "world"});
    BOOST_TEST(r.code == 0);
    BOOST_TEST(r.out == "hello world\n");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(one_shot_against_an_upper_server_prints_upper_case) {
    running_server server(loopback_config(mode::upper));
    auto tcp = client({"--connect", at(server.tcp_port()), "hello", "world"});
    BOOST_TEST(tcp.code == 0);
    BOOST_TEST(tcp.out == "HELLO WORLD\n");
    auto udp = client({"--connect", at(server.udp_port()), "--udp", "hello", "world"});
    BOOST_TEST(udp.code == 0);
    BOOST_TEST(udp.out == "HELLO WORLD\n");
    auto checked = client(
        {"--connect", at(server.tcp_port()), "--verify", "--expect", "upper", "hello", "world"});
    BOOST_TEST(checked.code == 0);
    auto unchecked = client({"--connect", at(server.tcp_port()), "--verify", "hello", "world"});
    BOOST_TEST(unchecked.code == 1);
    BOOST_TEST(unchecked.err == "echo-client: mismatch at byte offset 0: expected 0x68 (echo), "
                                "got 0x48\n");
}

BOOST_AUTO_TEST_CASE(one_shot_tcp_reads_back_a_long_message_completely) {
    running_server server(loopback_config());
    // 25 words of 4000 bytes: 100 KB, more than one read returns (each argument stays below
    // the kernel's 128 KiB limit).
    std::vector<std::string> args = {"--connect", at(server.tcp_port())};
    std::string joined;
    for (int i = 0; i < 25; ++i) {
        args.emplace_back(4000, static_cast<char>('a' + i));
        joined += (i ? " " : "") + args.back();
    }
    auto r = client(args);
    BOOST_TEST(r.code == 0);
    BOOST_TEST(r.out.size() == joined.size() + 1);
    BOOST_TEST((r.out == joined + "\n"));
}

BOOST_AUTO_TEST_CASE(stream_of_8_mib_random_bytes_comes_back_identical) {
    running_server server(loopback_config());
    const std::uint64_t seed = 20240501;
    auto input = random_bytes(8 * 1024 * 1024, seed);
    auto r = client_with_input({"--connect", at(server.tcp_port())}, input);
    BOOST_TEST(r.code == 0, "seed " << seed << ", stderr: " << r.err);
    BOOST_TEST(r.out.size() == input.size());
    BOOST_TEST((r.out == input), "output differs; seed " << seed);
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(stream_against_an_upper_server_comes_back_upper_cased_and_verifies) {
    running_server server(loopback_config(mode::upper));
    const std::uint64_t seed = 77;
    auto input = random_bytes(8 * 1024 * 1024, seed);
    auto r = client_with_input(
        {"--connect", at(server.tcp_port()), "--verify", "--expect", "upper"}, input);
    BOOST_TEST(r.code == 0, "seed " << seed << ", stderr: " << r.err);
    BOOST_TEST((r.out == upper(input)), "output differs; seed " << seed);
}

BOOST_AUTO_TEST_CASE(stream_verify_names_the_offset_of_a_flipped_byte) {
    server_config config = loopback_config();
    running_server server(config, flip_byte_at(100'000));
    auto input = random_bytes(1024 * 1024, 5);
    auto r = client_with_input({"--connect", at(server.tcp_port()), "--verify"}, input);
    BOOST_TEST(r.code == 1);
    char expected = input[100'000];
    char got = static_cast<char>(expected ^ 0x01);
    char text[128];
    std::snprintf(text, sizeof text,
                  "echo-client: mismatch at byte offset 100000: expected 0x%02x (echo), got "
                  "0x%02x\n",
                  static_cast<unsigned char>(expected), static_cast<unsigned char>(got));
    BOOST_TEST(r.err == text);
    BOOST_TEST(r.out.size() <= 100'000u); // nothing past the mismatch is passed on
}

BOOST_AUTO_TEST_CASE(udp_without_an_answer_fails_after_timeout_and_retries) {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto port = silent.local_endpoint().port();
    auto start = std::chrono::steady_clock::now();
    auto r = client({"--connect", at(port), "--udp", "--timeout", "0.2", "--retries", "1", "hi"});
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.code == 1);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err ==
               "echo-client: no reply from " + at(port) + " (udp) after 2 tries of 0.2 s each\n");
    BOOST_TEST((took >= 400ms && took < 5s));
}

BOOST_AUTO_TEST_CASE(connection_refused_exits_69_naming_the_address) {
    std::uint16_t port = 0;
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor probe(io);
        probe.open(boost::asio::ip::tcp::v4());
        probe.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    } // closed: nobody listens there now
    auto r = client({"--connect", at(port), "hello"});
    BOOST_TEST(r.code == 69);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err == "echo-client: cannot connect to " + at(port) + ": Connection refused\n");
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_64_with_one_line) {
    const std::vector<std::vector<std::string>> cases = {
        {"--bogus"},
        {"--timeout", "abc", "x"},
        {"--connect", "127.0.0.1", "x"},
        {"--connect", "127.0.0.1:99999", "x"},
        {"--expect", "lower", "x"},
        {"load", "--connections", "0"},
        {"ping", "--interval", "-1"},
        {"ping", "stray"},
    };
    for (const auto& args : cases) {
        auto r = client(args);
        BOOST_TEST(r.code == 64, "args: " << args.front());
        BOOST_TEST(r.out == "");
        BOOST_TEST(r.err.rfind("echo-client: ", 0) == 0u, r.err);
        BOOST_TEST(r.err.find('\n') == r.err.size() - 1, "one line: " << r.err);
    }
}

BOOST_AUTO_TEST_CASE(help_and_version_exit_0) {
    auto help = client({"--help"});
    BOOST_TEST(help.code == 0);
    BOOST_TEST(help.out.find("Usage: echo-client") != std::string::npos);
    auto version = client({"--version"});
    BOOST_TEST(version.code == 0);
    BOOST_TEST(version.out.rfind("echo-client ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_write_to_stdout_is_exit_1_with_one_line) {
    running_server server(loopback_config());
    auto tcp = at(server.tcp_port());
    const std::vector<std::vector<std::string>> cases = {
        {"--connect", tcp, "hello"},
        {"--connect", tcp, "--json", "hello"},
        {"--connect", at(server.udp_port()), "--udp", "hello"},
        {"ping", "--connect", tcp, "--count", "1"},
        {"ping", "--connect", tcp, "--count", "1", "--json"},
        {"load", "--connect", tcp, "--connections", "1", "--duration", "0.1"},
        {"load", "--connect", tcp, "--connections", "1", "--duration", "0.1", "--json"},
        {"--help"},
        {"--version"},
    };
    for (const auto& args : cases) {
        std::vector<std::string> shell = {"-c", "exec \"$0\" \"$@\" >/dev/full", ECHO_CLIENT_PATH};
        shell.insert(shell.end(), args.begin(), args.end());
        auto r = run_program("/bin/sh", shell);
        std::string what;
        for (const auto& a : args) {
            what += a + " ";
        }
        BOOST_TEST(r.code == 1, what);
        BOOST_TEST(r.err == "echo-client: cannot write to stdout: No space left on device\n", what);
    }
}

BOOST_AUTO_TEST_CASE(stream_fails_after_timeout_when_the_server_stops_echoing) {
    posix_tcp_echo silent(posix_tcp_echo::kind::silent);
    // Input still open (a producer pausing) and input larger than the socket buffers (the
    // upload blocks): both owe replies, and neither may wait longer than --timeout for one.
    for (bool keep_open : {true, false}) {
        auto start = std::chrono::steady_clock::now();
        child_process child(ECHO_CLIENT_PATH, {"--connect", at(silent.port()), "--timeout", "0.5"},
                            {}, true);
        std::thread writer([&] {
            try {
                child.write_stdin(std::string(keep_open ? 1000 : 16 << 20, 'x'));
            } catch (const std::exception&) {
                // The child exited before reading everything.
            }
            if (!keep_open) {
                child.close_stdin();
            }
        });
        auto code = child.wait_exit(10s);
        auto took = std::chrono::steady_clock::now() - start;
        if (!code) {
            child.send_signal(SIGKILL);
        }
        writer.join();
        if (keep_open) {
            child.close_stdin();
        }
        BOOST_TEST_REQUIRE(code.has_value(), "keep_open " << keep_open << ": still running");
        BOOST_TEST(*code == 1);
        BOOST_TEST(
            child.err().rfind("echo-client: no reply from " + at(silent.port()) + " within 0.5 s",
                              0) == 0u,
            child.err());
        BOOST_TEST(child.err().find('\n') == child.err().size() - 1, child.err());
        BOOST_TEST((took >= 500ms && took < 3s));
    }
}
