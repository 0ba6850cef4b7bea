// SPDX-License-Identifier: BSL-1.0
#pragma once
// One message out, its echo back: the one-shot mode, and the exchange the interactive mode
// repeats per line.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "asio_echo/client/options.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/client/transport.hpp"
#include "asio_echo/client/websocket.hpp"

namespace asio_echo::client {

/// A connection (TCP, TLS) or connected socket (UDP) to exchange whole messages over. Use from the
/// io_context's thread only.
class message_peer {
public:
    /// Connects as opts say (--connect, --udp, --tls..., --timeout, --retries). Throws
    /// unavailable_error when that fails.
    static boost::asio::awaitable<message_peer> open(const options& opts);

    /// Sends message and returns the reply: over TCP exactly message.size() bytes (read until
    /// all arrived), over WebSocket the next message (text unless --binary), over UDP the first
    /// datagram back, resending after each timeout up to
    /// --retries times. Throws check_failed when no complete reply comes in time or the server
    /// closes first.
    boost::asio::awaitable<std::string> exchange(std::string_view message);

    /// "127.0.0.1:9999", the address connected to.
    const std::string& name() const { return name_; }

    /// Half-closes a TCP connection (TLS: exchanges close_notify; every reply is in by then;
    /// WebSocket: the closing handshake) and waits (bounded) for the server to close. No-op on
    /// UDP.
    boost::asio::awaitable<void> finish();

private:
    message_peer() = default;
    boost::asio::awaitable<std::string> exchange_tcp(std::string_view message);
    boost::asio::awaitable<std::string> exchange_udp(std::string_view message);
    boost::asio::awaitable<std::string> exchange_ws(std::string_view message);

    std::unique_ptr<tls_client> tls_; ///< --tls: the context the stream was made with
    std::optional<transport> tcp_;    ///< TCP or TLS
    std::optional<boost::asio::ip::udp::socket> udp_;
    std::optional<ws_connection> ws_; ///< ws:// or wss://
    bool binary_ = false;             ///< --binary: WebSocket messages go out as binary
    std::string name_;
    std::chrono::steady_clock::duration timeout_{};
    unsigned retries_ = 0;
    bool received_any_ = false; ///< a reply byte came: a TLS error is no rejection any more
    double timeout_seconds_ = 0;
};

/// Throws check_failed naming the offset (base_offset + index) of the first byte where reply
/// differs from the transform expect of sent, or a length difference.
void verify_reply(std::string_view sent, std::string_view reply, mode expect,
                  std::uint64_t base_offset = 0);

/// One-shot mode: sends the MESSAGE words joined by spaces, prints the reply and a newline (or a
/// JSON object with --json). Throws as message_peer does, and check_failed under --verify.
void run_oneshot(const options& opts);

} // namespace asio_echo::client
