// SPDX-License-Identifier: BSL-1.0
#pragma once
// The byte stream every TCP mode talks over: plain TCP, or TLS over it. One small interface,
// so a mode is written once for both.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

class tls_client;

/// A connected stream: an AsyncReadStream and AsyncWriteStream (asio::async_write works on it)
/// that reads and writes the TCP socket or the TLS stream over it. Use from one thread; at
/// most one read and one write in flight.
class transport {
public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;
    using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

    /// Plain TCP over socket.
    explicit transport(boost::asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}

    /// Puts TLS over the plain TCP socket and handshakes within timeout (tls_client::handshake),
    /// timing it. Throws unavailable_error. Call once, before any read or write.
    boost::asio::awaitable<void> start_tls(tls_client& tls,
                                           std::chrono::steady_clock::duration timeout);

    executor_type get_executor() { return socket().get_executor(); }

    /// The TCP socket underneath (remote_endpoint, cancel, close).
    boost::asio::ip::tcp::socket& socket() {
        if (auto* tls = std::get_if<tls_stream>(&stream_)) {
            return tls->next_layer();
        }
        return std::get<boost::asio::ip::tcp::socket>(stream_);
    }

    /// True over TLS.
    bool tls() const { return std::holds_alternative<tls_stream>(stream_); }

    /// How long the TLS handshake took (zero over plain TCP).
    std::chrono::nanoseconds handshake_time() const { return handshake_; }

    template <typename MutableBuffers, typename Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                std::visit([&](auto& s) { s.async_read_some(b, std::move(handler)); }, stream_);
            },
            token, buffers);
    }

    template <typename ConstBuffers, typename Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                std::visit([&](auto& s) { s.async_write_some(b, std::move(handler)); }, stream_);
            },
            token, buffers);
    }

    /// Ends the session once every reply is read, then closes, all bounded by timeout. TCP:
    /// shuts the sending side and waits for the server's EOF. TLS: sends close_notify and waits
    /// for the server's (async_shutdown). async_shutdown discards application data that arrives
    /// meanwhile, so it is never a half-close here: the modes count the bytes they sent and call
    /// this only when all of them came back.
    boost::asio::awaitable<void> close(std::chrono::steady_clock::duration timeout);

private:
    std::variant<boost::asio::ip::tcp::socket, tls_stream> stream_;
    std::chrono::nanoseconds handshake_{};
};

/// Connects to opts.connect within --timeout (connect_tcp) and, when tls is given, handshakes
/// within what is left of it. Throws unavailable_error naming the address (and OpenSSL's reason).
boost::asio::awaitable<transport> open_transport(const options& opts, tls_client* tls);

/// "cannot connect to NAME: TLS handshake failed: REASON" for a TLS error met before the
/// first reply byte (under TLS 1.3 a server rejects a client certificate after the client's
/// handshake completed), else nothing: the caller reports ec as its own failure.
std::optional<std::string> tls_rejection(const transport& stream,
                                         const boost::system::error_code& ec, bool any_received,
                                         const std::string& name);

/// True for an end of stream: EOF, or a TLS peer that closed without close_notify.
bool is_end_of_stream(const boost::system::error_code& ec);

} // namespace asio_echo::client
