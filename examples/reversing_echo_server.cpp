// SPDX-License-Identifier: BSL-1.0
// Embeds the asio_echo library to run an echo server with a transform of its own: each chunk
// read is sent back reversed ("hello" -> "olleh"). Chunks are whatever one read returned, so
// a long stream is reversed piecewise; for line-sized messages that is the whole message.
//
//   reversing_echo_server [HOST:PORT]      (default 127.0.0.1:0: a free port, logged)

#include <algorithm>
#include <cstdio>
#include <exception>

#include "asio_echo/server.hpp"

int main(int argc, char* argv[]) {
    try {
        asio_echo::server_config config;
        config.listen.push_back(asio_echo::parse_endpoint(argc > 1 ? argv[1] : "127.0.0.1:0"));
        config.threads = 1;

        // Any callable over std::span<char> will do; it runs on the io thread, in place.
        auto reverse = [](std::span<char> chunk) { std::reverse(chunk.begin(), chunk.end()); };

        asio_echo::server server(config, reverse);
        server.handle_signals(); // SIGINT/SIGTERM stop it cleanly
        server.start();          // logs "listening tcp ..." and "listening udp ..."
        server.wait();
        return 0;
    } catch (const asio_echo::usage_error& e) {
        std::fprintf(stderr, "reversing_echo_server: %s\n", e.what());
        return asio_echo::exit_usage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "reversing_echo_server: %s\n", e.what());
        return asio_echo::exit_unavailable;
    }
}
