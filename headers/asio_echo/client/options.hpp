// SPDX-License-Identifier: BSL-1.0
#pragma once
// echo-client's command line: the command (message, ping, load) and its options, parsed by
// Boost.Program_options into a plain value.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "asio_echo/endpoint.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo::client {

/// What echo-client does: send a message (or stdin), ping, or load.
enum class command { message, ping, load };

/// --tls and what goes with it. Plain value; unused unless enabled.
struct tls_options {
    bool enabled = false;                  ///< --tls: TLS over the TCP connection
    std::optional<std::string> ca_file;    ///< --tls-ca FILE; empty: the system's trust anchors
    std::optional<std::string> servername; ///< --servername NAME; empty: --connect's host
    bool insecure = false;                 ///< --insecure: the server's certificate is not verified
    std::optional<std::string> cert_file;  ///< --tls-cert FILE (mutual TLS), with key_file
    std::optional<std::string> key_file;   ///< --tls-key FILE
};

/// A ws:// or wss:// --connect. Plain value; unused unless enabled.
struct websocket_options {
    bool enabled = false;   ///< --connect ws://... or wss://...: WebSocket messages
    bool secure = false;    ///< wss://: over TLS (tls.enabled is set too)
    std::string path = "/"; ///< the URL's path (and query), the upgrade's target
    bool binary = false;    ///< --binary: one-shot sends a binary message (default text)
    bool deflate = false;   ///< --deflate: offer permessage-deflate
};

/// Everything echo-client needs to run. Plain value; fields a command does not use keep their
/// defaults.
struct options {
    command what = command::message;     ///< the first word: ping, load or neither
    endpoint connect{"127.0.0.1", 9999}; ///< --connect HOST:PORT
    bool udp = false;                    ///< --udp: datagrams instead of a TCP stream
    std::optional<double> timeout;       ///< --timeout SECONDS; see timeout_seconds()
    bool json = false;                   ///< --json: one JSON object on stdout
    mode expect = mode::echo;            ///< --expect: what a correct reply is
    bool verify = false;                 ///< --verify (message, interactive, stream)
    unsigned retries = 2;                ///< --retries: UDP message resends after a timeout
    std::vector<std::string> message;    ///< the MESSAGE words; empty: interactive/stream
    std::uint64_t count = 5;             ///< ping --count; 0: until Ctrl-C
    double interval = 1.0;               ///< ping --interval SECONDS
    std::size_t size = 64;               ///< ping/load --size BYTES
    unsigned connections = 10;           ///< load --connections
    double duration = 10.0;              ///< load --duration SECONDS
    unsigned pipeline = 1;               ///< load --pipeline: messages in flight per conn
    double rate = 0.0;                   ///< load --rate: messages/s in total; 0: unpaced
    unsigned threads = 1;                ///< load --threads: io_context threads
    double warmup = 0.0;                 ///< load --warmup SECONDS, not measured
    bool reconnect = false;              ///< load --reconnect: a new connection per message
    tls_options tls;                     ///< --tls, --tls-ca, --servername, --insecure, ...
    websocket_options websocket;         ///< --connect ws://HOST:PORT/PATH, wss://...

    /// The --timeout value, or its default: 1 s per UDP try, 5 s for TCP connect and replies.
    double timeout_seconds() const { return timeout.value_or(udp ? 1.0 : 5.0); }
};

/// "tcp", "tls", "udp", "ws" or "wss": the protocol as reports name it.
const char* protocol_name(const options& opts) noexcept;

/// Either options to run, or text to print before exiting 0 (--help, --version).
struct parse_result {
    std::optional<options> run; ///< set when echo-client should run
    std::string output;         ///< help or version text otherwise
};

/// Parses argv. Throws usage_error with a one-line message naming the bad option or value.
parse_result parse_options(int argc, const char* const argv[]);

} // namespace asio_echo::client
