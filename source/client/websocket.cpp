// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/websocket.hpp"

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using namespace asio::experimental::awaitable_operators;
using std::chrono::steady_clock;

namespace {

std::chrono::nanoseconds since(steady_clock::time_point begin) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - begin);
}

/// "HTTP/1.1 404 Not Found", the status line of a refused upgrade.
std::string status_line(const websocket::response_type& response) {
    return "HTTP/" + std::to_string(response.version() / 10) + "." +
           std::to_string(response.version() % 10) + " " + std::to_string(response.result_int()) +
           " " + std::string(response.reason());
}

/// The upgrade on ws within what is left of the deadline: its time, or unavailable_error.
template <class Ws>
asio::awaitable<std::chrono::nanoseconds>
upgrade(Ws& ws, const options& opts, const std::string& name, steady_clock::time_point deadline) {
    websocket::response_type response;
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
        request.set(http::field::user_agent, std::string("echo-client/") + ASIO_ECHO_VERSION);
    }));
    ws.read_message_max(64 * 1024 * 1024);
    if (opts.websocket.deflate) {
        websocket::permessage_deflate deflate;
        deflate.client_enable = true;
        ws.set_option(deflate);
    }
    // The Host field names what --connect named (the server may be virtual-hosted).
    auto host = opts.connect.host.find(':') != std::string::npos
                    ? "[" + opts.connect.host + "]:" + std::to_string(opts.connect.port)
                    : opts.connect.host + ":" + std::to_string(opts.connect.port);
    asio::steady_timer timer(ws.get_executor(), deadline);
    auto begin = steady_clock::now();
    auto outcome = co_await (ws.async_handshake(response, host, opts.websocket.path, nothrow) ||
                             timer.async_wait(nothrow));
    if (outcome.index() == 1) {
        throw unavailable_error("cannot connect to " + name + ": no WebSocket upgrade within " +
                                std::to_string(opts.timeout_seconds()) + " s");
    }
    auto [ec] = std::get<0>(outcome);
    if (ec == websocket::error::upgrade_declined) {
        throw unavailable_error("cannot connect to " + name +
                                ": WebSocket upgrade refused: " + status_line(response));
    }
    if (ec) {
        throw unavailable_error("cannot connect to " + name +
                                ": WebSocket upgrade failed: " + ec.message());
    }
    co_return since(begin);
}

} // namespace

asio::awaitable<ws_connection> ws_connection::open(const options& opts, tls_client* tls) {
    auto timeout = to_duration(opts.timeout_seconds());
    auto deadline = steady_clock::now() + timeout;
    auto socket = co_await connect_tcp(opts.connect, timeout);
    auto remote = socket.remote_endpoint();
    auto name = format_endpoint(remote.address(), remote.port());
    if (!opts.websocket.secure) {
        plain_stream ws(std::move(socket));
        auto took = co_await upgrade(ws, opts, name, deadline);
        ws_connection connection(std::move(ws), name);
        connection.upgrade_ = took;
        co_return connection;
    }
    tls_stream ws(std::move(socket), tls->context());
    auto begin = steady_clock::now();
    auto left = std::max<steady_clock::duration>(deadline - begin, std::chrono::milliseconds(1));
    co_await tls->handshake(ws.next_layer(), name, left);
    auto handshake = since(begin);
    auto took = co_await upgrade(ws, opts, name, deadline);
    ws_connection connection(std::move(ws), name);
    connection.handshake_ = handshake;
    connection.upgrade_ = took;
    co_return connection;
}

asio::awaitable<void> ws_connection::send(std::span<const char> message, bool text) {
    auto [ec, n] = co_await std::visit(
        [&](auto& ws) {
            ws.text(text);
            return ws.async_write(asio::buffer(message.data(), message.size()), nothrow);
        },
        stream_);
    if (ec) {
        throw check_failed("cannot send to " + name_ + ": " + ec.message());
    }
}

asio::awaitable<std::string_view> ws_connection::receive(steady_clock::duration timeout) {
    buffer_.clear();
    auto executor = std::visit([](auto& ws) { return ws.get_executor(); }, stream_);
    asio::steady_timer timer(executor, timeout);
    auto outcome =
        co_await (std::visit([&](auto& ws) { return ws.async_read(buffer_, nothrow); }, stream_) ||
                  timer.async_wait(nothrow));
    if (outcome.index() == 1) {
        throw check_failed("no complete reply from " + name_ + " within " +
                           std::to_string(std::chrono::duration<double>(timeout).count()) + " s");
    }
    auto [ec, n] = std::get<0>(outcome);
    if (ec == websocket::error::closed) {
        auto reason = std::visit([](auto& ws) { return ws.reason(); }, stream_);
        throw check_failed("server " + name_ + " closed the WebSocket (code " +
                           std::to_string(reason.code) +
                           (reason.reason.empty()
                                ? ""
                                : ": " + std::string(reason.reason.data(), reason.reason.size())) +
                           ")");
    }
    if (ec) {
        throw check_failed("cannot read from " + name_ + ": " + ec.message());
    }
    text_ = std::visit([](auto& ws) { return ws.got_text(); }, stream_);
    auto data = buffer_.cdata();
    co_return std::string_view(static_cast<const char*>(data.data()), data.size());
}

asio::awaitable<void> ws_connection::close(steady_clock::duration timeout) {
    auto executor = std::visit([](auto& ws) { return ws.get_executor(); }, stream_);
    asio::steady_timer timer(executor, timeout);
    co_await (
        std::visit([](auto& ws) { return ws.async_close(websocket::close_code::normal, nothrow); },
                   stream_) ||
        timer.async_wait(nothrow));
}

} // namespace asio_echo::client
