// SPDX-License-Identifier: BSL-1.0
#pragma once
// A WebSocket client for tests of the server's ws and wss endpoints, on Beast's client side
// (the server's side is Beast's too, but masking, framing and the close handshake are the
// RFC's, and the raw frames below check them apart from Beast). Every operation has a
// deadline: a missing reply fails the test instead of hanging it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/system/error_code.hpp>

namespace asio_echo::test {

/// One received message.
struct ws_message {
    std::string data;
    bool text = false;
};

class ws_peer {
public:
    struct options {
        std::string path = "/";                  ///< the request target of the upgrade
        std::string ca;                          ///< wss: the trust anchor; empty: plain ws
        bool deflate = false;                    ///< offer permessage-deflate
        std::chrono::milliseconds timeout{5000}; ///< for each operation
    };

    /// Connects to 127.0.0.1:port and upgrades (over TLS first when how.ca is set). Throws
    /// std::runtime_error naming the step that failed.
    ws_peer(std::uint16_t port, const options& how);
    ws_peer(std::uint16_t port) : ws_peer(port, options{}) {}
    ws_peer(const ws_peer&) = delete;
    ws_peer& operator=(const ws_peer&) = delete;
    ~ws_peer();

    /// Sends one message; throws on failure.
    void send(const std::string& data, bool text);

    /// Sends one message in frames of at most piece bytes.
    void send_fragmented(const std::string& data, bool text, std::size_t piece);

    /// Sends a ping with payload.
    void ping(const std::string& payload);

    /// The next message; throws on failure, a close, or the deadline.
    ws_message receive();

    /// Reads until the connection closes: the error that ended it (websocket::error::closed
    /// after a close frame) and, in close_code(), the code the server's close frame carried.
    boost::system::error_code receive_until_closed();
    unsigned close_code() const;

    /// Pongs seen so far (their payloads, concatenated with '|').
    const std::string& pongs() const;

    /// Starts the closing handshake with code; returns once the server answered (its code
    /// in close_code()).
    void close(unsigned code);

    /// True when permessage-deflate was negotiated.
    bool deflating() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Raw WebSocket bytes, to send what Beast's client never would: one client frame, masked.
std::string masked_frame(unsigned char first_byte, const std::string& payload);

/// The upgrade request for a raw socket.
std::string upgrade_request(const std::string& path = "/");

} // namespace asio_echo::test
