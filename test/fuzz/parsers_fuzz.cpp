// SPDX-License-Identifier: BSL-1.0
// libFuzzer target over everything that reads untrusted text or bytes: endpoints, port lists,
// modes, log levels, networks, PROXY protocol headers, both programs' command lines, config
// files, and the transforms. Any crash,
// sanitizer report or exception other than usage_error is a finding.
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   build/fuzz/test/fuzz/parsers_fuzz -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "asio_echo/cidr.hpp"
#include "asio_echo/client/options.hpp"
#include "asio_echo/config.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/errors.hpp"
#include "asio_echo/limits.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/proxy_header.hpp"
#include "asio_echo/transform.hpp"

namespace {

using namespace asio_echo;

/// Splits on NUL into argv words (the first is the program name).
std::vector<std::string> words_of(std::string_view text) {
    std::vector<std::string> words = {"echo-server"};
    std::size_t at = 0;
    while (at <= text.size() && words.size() < 64) {
        auto end = text.find('\0', at);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        words.emplace_back(text.substr(at, end - at));
        at = end + 1;
    }
    return words;
}

template <typename Parse>
void parse_command_line(const std::vector<std::string>& words, Parse parse) {
    std::vector<const char*> argv;
    for (const auto& w : words) {
        argv.push_back(w.c_str());
    }
    try {
        parse(static_cast<int>(argv.size()), argv.data());
    } catch (const usage_error&) {
    }
}

/// A PROXY header: the outcome must be consistent with every shorter prefix (a complete or
/// malformed header was never "need more" later), and a complete one fits what was given.
void check_proxy_header(std::string_view input) {
    std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(input.data()),
                                         input.size());
    auto whole = proxy::parse(bytes);
    if (whole.result == proxy::outcome::complete &&
        (whole.value.length == 0 || whole.value.length > bytes.size() ||
         whole.value.length > proxy::max_header_length)) {
        __builtin_trap();
    }
    if (whole.result == proxy::outcome::malformed && whole.problem.empty()) {
        __builtin_trap();
    }
    // Once decided, more bytes change nothing: the prefix up to a complete header is complete.
    if (whole.result == proxy::outcome::complete) {
        auto again = proxy::parse(bytes.first(whole.value.length));
        if (again.result != proxy::outcome::complete || again.value.length != whole.value.length) {
            __builtin_trap();
        }
    }
}

/// A network: what we print we read back the same.
void check_network(std::string_view text) {
    auto net = parse_network(text);
    if (!(parse_network(format_network(net)) == net)) {
        __builtin_trap();
    }
}

void check_transform(std::string_view input) {
    std::string bytes(input);
    to_upper_ascii(bytes);
    if (bytes.size() != input.size()) {
        __builtin_trap();
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        char in = input[i];
        char expected = (in >= 'a' && in <= 'z') ? static_cast<char>(in - 32) : in;
        if (bytes[i] != expected) {
            __builtin_trap();
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    set_log_level(log_level::error);
    auto selector = data[0] % 9;
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        switch (selector) {
        case 0: {
            auto ep = parse_endpoint(text);
            // What we print we must read back the same.
            if (!(parse_endpoint(format_endpoint(ep)) == ep)) {
                __builtin_trap();
            }
            break;
        }
        case 1:
            udp_port_guard(parse_port_list(text));
            break;
        case 2:
            parse_mode(text);
            parse_log_level(text);
            break;
        case 3:
            parse_command_line(words_of(text), parse_server_config);
            break;
        case 4: {
            static const std::string path = "/tmp/asio-echo-fuzz-" + std::to_string(::getpid());
            std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
            parse_command_line({"echo-server", "--config", path}, parse_server_config);
            break;
        }
        case 5:
            check_transform(text);
            break;
        case 7:
            check_proxy_header(text);
            break;
        case 8:
            check_network(text);
            break;
        default:
            parse_command_line(words_of(text), client::parse_options);
            break;
        }
    } catch (const usage_error&) {
        // The documented outcome for bad input.
    }
    return 0;
}
