// SPDX-License-Identifier: BSL-1.0
#pragma once
// An echo server running in the test's own process on loopback port 0.

#include <cstdint>
#include <utility>

#include "asio_echo/server.hpp"

namespace asio_echo::test {

/// A config serving TCP and UDP on 127.0.0.1 with a free port.
inline server_config loopback_config(mode m = mode::echo, unsigned threads = 1) {
    server_config config;
    config.listen.push_back({"127.0.0.1", 0});
    config.echo_mode = m;
    config.threads = threads;
    config.level = log_level::warn;
    return config;
}

/// Starts on construction, stops and joins on destruction.
class running_server {
public:
    explicit running_server(server_config config) : server_(std::move(config)) { start(); }
    running_server(server_config config, transform reply)
        : server_(std::move(config), std::move(reply)) {
        start();
    }

    /// The real port of the i-th TCP / UDP endpoint.
    std::uint16_t tcp_port(std::size_t i = 0) const { return server_.tcp_endpoints().at(i).port(); }
    std::uint16_t udp_port(std::size_t i = 0) const { return server_.udp_endpoints().at(i).port(); }
    /// The real port of the i-th --tls endpoint.
    std::uint16_t tls_port(std::size_t i = 0) const { return server_.tls_endpoints().at(i).port(); }
    /// The real port of the i-th --accept-proxy endpoint.
    std::uint16_t proxy_port(std::size_t i = 0) const {
        return server_.proxy_endpoints().at(i).port();
    }

    asio_echo::server& get() { return server_; }

private:
    void start() {
        set_log_level(log_level::warn);
        server_.start();
    }

    asio_echo::server server_;
};

} // namespace asio_echo::test
