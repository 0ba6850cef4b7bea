// SPDX-License-Identifier: BSL-1.0
#pragma once
// The client's WebSocket: a ws:// connection over TCP or a wss:// one over TLS, upgraded with
// Beast within the connect deadline, and whole messages sent and received over it.

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

class tls_client;

/// One connection upgraded to WebSocket. Use from the io_context's thread; at most one send
/// and one receive in flight.
class ws_connection {
public:
    using plain_stream = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
    using tls_stream =
        boost::beast::websocket::stream<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

    /// Connects to opts.connect within --timeout, handshakes TLS for wss:// (tls must be given
    /// then) and upgrades on opts.websocket.path in what is left of it. Throws unavailable_error
    /// "cannot connect to NAME: ...", naming the status line when the server answers the upgrade
    /// with anything but 101 ("WebSocket upgrade refused: HTTP/1.1 404 Not Found").
    static boost::asio::awaitable<ws_connection> open(const options& opts, tls_client* tls);

    /// "127.0.0.1:8080", the address connected to.
    const std::string& name() const { return name_; }

    /// How long the TLS handshake took (zero over ws://), and the upgrade after it.
    std::chrono::nanoseconds handshake_time() const { return handshake_; }
    std::chrono::nanoseconds upgrade_time() const { return upgrade_; }

    /// Sends one message (text or binary). Throws check_failed naming the reason.
    boost::asio::awaitable<void> send(std::span<const char> message, bool text);

    /// The next message, kept until the next receive() (text() tells its kind), within
    /// timeout. Throws check_failed on a timeout, or when the server closed (naming its code).
    boost::asio::awaitable<std::string_view> receive(std::chrono::steady_clock::duration timeout);
    bool text() const { return text_; }

    /// The closing handshake (code 1000), bounded by timeout; never throws.
    boost::asio::awaitable<void> close(std::chrono::steady_clock::duration timeout);

    /// An upgraded stream, for open().
    template <class Stream>
    ws_connection(Stream&& stream, std::string name)
        : stream_(std::move(stream)), name_(std::move(name)) {}

private:
    std::variant<plain_stream, tls_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::string name_;
    std::chrono::nanoseconds handshake_{};
    std::chrono::nanoseconds upgrade_{};
    bool text_ = false;
};

} // namespace asio_echo::client
