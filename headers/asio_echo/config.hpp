// SPDX-License-Identifier: BSL-1.0
#pragma once
// echo-server's options: command line and INI config file through Boost.Program_options.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asio_echo/cidr.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/limits.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

/// How threads and io_contexts are arranged (see the README's design notes for figures).
enum class io_model {
    per_thread, ///< one io_context per thread; one acceptor deals sockets round-robin (default)
    shared,     ///< one io_context run by every thread; sessions on strands
    reuse_port, ///< one io_context per thread, each with its own SO_REUSEPORT listeners
};

/// Parses per-thread|shared|reuse-port; throws usage_error otherwise.
io_model parse_io_model(const std::string& text);

/// "per-thread", "shared" or "reuse-port".
std::string_view to_string(io_model model) noexcept;

/// Writes to_string(model) (for logs and test names).
std::ostream& operator<<(std::ostream& out, io_model model);

/// The oldest TLS version a TLS endpoint accepts.
enum class tls_version { v1_2, v1_3 };

/// Everything echo-server needs to start. Plain value.
struct server_config {
    std::vector<endpoint> listen;          ///< TCP and UDP on the same port (port 0: one free
                                           ///< port that is free for both)
    std::vector<endpoint> tcp;             ///< TCP only
    std::vector<endpoint> udp;             ///< UDP only
    mode echo_mode = mode::echo;           ///< what is done to the bytes
    unsigned threads = 1;                  ///< io threads, at least 1
    io_model model = io_model::per_thread; ///< thread/io_context arrangement
    std::size_t buffer_size = 64 * 1024;   ///< TCP read buffer per io thread, bytes
    log_level level = log_level::info;     ///< log threshold
    std::size_t max_connections = 10000;   ///< TCP sessions at once; more wait in the backlog
    std::chrono::milliseconds idle_timeout{300000}; ///< close silent connections; 0 = never
    std::chrono::milliseconds write_timeout{60000}; ///< longest a pending write waits; 0 = never
    std::chrono::milliseconds drain_timeout{5000};  ///< graceful stop: time left to sessions
    std::vector<std::uint16_t> udp_drop_ports = udp_port_guard::default_ports(); ///< guard
    double udp_rate = 0;                         ///< datagrams/s per source; 0 = unlimited
    double udp_burst = 0;                        ///< bucket size; 0 = same as udp_rate
    std::chrono::milliseconds stats_interval{0}; ///< counters log line period; 0 = off
    std::optional<endpoint> metrics;             ///< GET /metrics served here; none = off
    bool reuse_port = false;    ///< SO_REUSEPORT on every listener: processes share a port
    std::vector<network> allow; ///< when not empty, only sources in one of these are served
    std::vector<network> deny;  ///< sources never served (deny wins over allow)
    std::size_t max_connections_per_source = 0; ///< TCP connections per client address; 0 = any
    std::vector<endpoint> accept_proxy;         ///< TCP behind a load balancer: PROXY header first
    std::vector<network>
        trusted_proxies; ///< when not empty, the only sources a header is taken from
    std::chrono::milliseconds proxy_header_timeout{5000}; ///< longest wait for a whole header
    std::vector<endpoint> tls;                            ///< echo over TLS
    std::optional<std::string> tls_cert;      ///< PEM certificate chain (required with tls)
    std::optional<std::string> tls_key;       ///< PEM private key (required with tls)
    std::optional<std::string> tls_client_ca; ///< PEM CAs: client certificates required
    tls_version tls_min_version = tls_version::v1_2;
    std::chrono::milliseconds tls_handshake_timeout{10000}; ///< longest a handshake may take
    std::vector<endpoint> websocket;                        ///< WebSocket echo (ws)
    std::vector<endpoint> websocket_tls;                    ///< WebSocket echo over TLS (wss)
    std::size_t websocket_max_message = 1024 * 1024;        ///< larger messages: close 1009
    bool websocket_deflate = false;                         ///< permessage-deflate when offered
    std::chrono::milliseconds websocket_handshake_timeout{10000}; ///< longest an upgrade takes
    std::optional<std::string> config_file; ///< the file the values came from, if any
    std::vector<std::string> arguments;     ///< the command line (without argv[0]): a reload
                                            ///< parses it again, so it keeps overriding the file

    friend bool operator==(const server_config&, const server_config&) = default;
};

/// The result of parsing: either a config to run, or text to print and exit 0 (--help,
/// --version).
struct parse_result {
    std::optional<server_config> config; ///< set when the server should run
    std::string output;                  ///< help or version text otherwise
};

/// Parses argv (and the --config file it names). The command line overrides the file; when
/// the command line names any endpoint (--listen, --tcp, --udp, --accept-proxy) the file's
/// endpoints are ignored. Throws usage_error with a one-line message on any bad input.
parse_result parse_server_config(int argc, const char* const argv[]);

/// The program's version, as --version prints it.
const char* version() noexcept;

} // namespace asio_echo
