// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/websocket_session.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "asio_echo/config.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/deadline.hpp"
#include "asio_echo/listeners/registered_session.hpp"
#include "asio_echo/listeners/tls_handshake.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"
#include "asio_echo/tls_credentials.hpp"

namespace asio_echo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;

namespace {

/// Lines traffic can trigger: one per 10 s each, however many connections cause them.
log_limiter upgrade_failure_lines;
log_limiter upgrade_timeout_lines;

/// The most of an HTTP request read before the upgrade (header and body).
constexpr std::size_t request_limit = 16 * 1024;

/// What the read of a new message asks Beast for first (see echo_messages).
constexpr std::size_t first_read = 256;

/// The registry's view of a WebSocket session. Once the upgrade is done, ending it is a
/// closing handshake: going_away() (the drain) and a first close() (the idle sweep) start
/// Beast's close (1001) beside the read the session waits in, which then ends with the
/// peer's answer. A second close(), or one while a write waits for a slow peer, cuts the
/// connection.
template <class Socket>
class websocket_handle : public socket_handle<Socket> {
public:
    using socket_handle<Socket>::socket_handle;

    /// The upgrade is done: from now on the peer is told with goodbye().
    void opened(std::function<void()> goodbye) { goodbye_ = std::move(goodbye); }

    /// True once the close 1001 went out (or is queued behind a write).
    bool leaving() const noexcept { return leaving_; }

    void going_away() override {
        if (!goodbye_ || leaving_) {
            return;
        }
        leaving_ = true;
        this->touch(); // the peer has one more idle period to answer before it is cut off
        goodbye_();
    }

    void close() override {
        if (goodbye_ && !leaving_ && this->write_since.load(std::memory_order_relaxed) == 0) {
            going_away();
            return;
        }
        socket_handle<Socket>::close();
    }

private:
    std::function<void()> goodbye_;
    bool leaving_ = false;
};

/// "/" with or without a query: where the page is.
bool is_page_target(std::string_view target) {
    return target.substr(0, target.find('?')) == "/";
}

/// The answer to a request that is not an upgrade: the page, or a one-line refusal.
http::response<http::string_body> answer(const http::request<http::string_body>& request) {
    http::response<http::string_body> response;
    response.version(request.version());
    response.set(http::field::server, std::string("asio-echo/") + version());
    response.keep_alive(false);
    auto refuse = [&response](http::status status, std::string line) {
        response.result(status);
        response.set(http::field::content_type, "text/plain; charset=utf-8");
        response.body() = std::move(line) + "\n";
    };
    if (!is_page_target(request.target())) {
        refuse(http::status::not_found,
               "not found: the page is at /, and WebSocket upgrades are taken on any path");
    } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
        response.set(http::field::allow, "GET, HEAD");
        refuse(http::status::method_not_allowed,
               "method not allowed: GET / is the page, or an Upgrade: websocket request");
    } else {
        response.result(http::status::ok);
        response.set(http::field::content_type, "text/html; charset=utf-8");
        response.set(http::field::cache_control, "no-store");
        response.body() = std::string(websocket_page());
    }
    response.prepare_payload();
    if (request.method() == http::verb::head) {
        response.body().clear(); // Content-Length stays the page's
    }
    return response;
}

/// After a plain HTTP answer: tell the client that is all (a FIN; over TLS, close_notify
/// first, within what is left of the deadline).
template <class Executor>
asio::awaitable<void, Executor> finish_response(tcp_socket_on<Executor>& socket,
                                                deadline_on<Executor>&) {
    boost::system::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
    co_return;
}
template <class Executor>
asio::awaitable<void, Executor> finish_response(ssl::stream<tcp_socket_on<Executor>&>& stream,
                                                deadline_on<Executor>& deadline) {
    co_await before_deadline(stream.async_shutdown(racing<Executor>), deadline);
}

/// The close code each way a session can end is counted by (as websocket_close_codes).
unsigned close_code_of(const boost::system::error_code& ec, const websocket::close_reason& got) {
    if (ec == websocket::error::closed) {
        // Beast answered the peer's close frame with its code (1000 when it had none).
        return got.code == websocket::close_code::none
                   ? static_cast<unsigned>(websocket::close_code::normal)
                   : static_cast<unsigned>(got.code);
    }
    if (ec == websocket::error::message_too_big) {
        return websocket::close_code::too_big;
    }
    if (ec == websocket::error::bad_frame_payload) {
        return websocket::close_code::bad_payload;
    }
    if (ec == websocket::condition::protocol_violation) {
        return websocket::close_code::protocol_error;
    }
    return 1006; // reset, EOF or timeout without a close frame
}

/// Reads the request and upgrades it, or answers it, all within the upgrade deadline. True
/// when ws is open. A coroutine of its own, so that the request, its parser and buffer are
/// gone before the connection waits for messages. Stream is the socket or the TLS stream.
template <class Executor, class Stream, class Handle>
asio::awaitable<bool, Executor> upgrade(websocket::stream<Stream>& ws,
                                        tcp_socket_on<Executor>& socket, const session_env& env,
                                        Handle& handle) {
    deadline_on<Executor> deadline(socket.get_executor(), env.websocket.handshake_timeout);
    auto timed_out = [&] {
        upgrade_timeout_lines.log(log_level::warn, [&] {
            return "WebSocket upgrade from " + peer_of(socket) + " not done within " +
                   seconds_text(env.websocket.handshake_timeout) +
                   " (--websocket-handshake-timeout); connection closed";
        });
    };
    auto failed = [&](const boost::system::error_code& ec) {
        upgrade_failure_lines.log(log_level::warn, [&] {
            return "WebSocket upgrade from " + peer_of(socket) + " failed: " + ec.message();
        });
    };

    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(request_limit);
    parser.body_limit(request_limit);
    handle.reading.store(true, std::memory_order_relaxed);
    auto read = co_await before_deadline(
        http::async_read(ws.next_layer(), buffer, parser, racing<Executor>), deadline);
    handle.reading.store(false, std::memory_order_relaxed);
    if (!read) {
        timed_out();
        co_return false;
    }
    if (auto [ec, n] = *read; ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted) {
            failed(ec);
        }
        co_return false;
    }
    handle.touch();
    auto request = parser.release();
    if (!websocket::is_upgrade(request)) {
        auto response = answer(request);
        auto wrote = co_await before_deadline(
            http::async_write(ws.next_layer(), response, racing<Executor>), deadline);
        if (wrote && !std::get<0>(*wrote)) {
            co_await finish_response(ws.next_layer(), deadline);
        }
        co_return false;
    }

    ws.read_message_max(env.websocket.max_message);
    ws.auto_fragment(false); // each echo goes out as one frame
    ws.set_option(websocket::stream_base::timeout{
        env.websocket.handshake_timeout, // for the closing handshake too
        websocket::stream_base::none(),  // silence is the idle sweep's to judge
        false});
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::server, std::string("asio-echo/") + version());
    }));
    if (env.websocket.deflate) {
        websocket::permessage_deflate deflate;
        deflate.server_enable = true;
        ws.set_option(deflate);
    }
    // A ping is activity: the idle sweep must not close a client that keeps the line alive.
    ws.control_callback([&handle](websocket::frame_type, beast::string_view) { handle.touch(); });
    auto accepted = co_await before_deadline(ws.async_accept(request, racing<Executor>), deadline);
    if (!accepted) {
        timed_out();
        co_return false;
    }
    if (auto [ec] = *accepted; ec) {
        failed(ec); // Beast answered 400 and why
        co_return false;
    }
    deadline.cancel();
    handle.opened([&ws] {
        // Beside the pending read (or queued behind the write): Beast allows one of each.
        ws.async_close(websocket::close_code::going_away, [](boost::system::error_code) {});
    });
    handle.touch();
    co_return true;
}

} // namespace

namespace {

/// The session of one kind. A template on it, so that a ws connection's frame (what an idle
/// connection holds) carries nothing of TLS. Every message goes back as one message of its
/// kind, the transform applied, until the peer closes, an error, or the server asks the
/// session to leave (then close 1001). The message loop is this frame's, not a coroutine of
/// its own: an idle connection holds one frame less.
template <bool Secure, class Executor>
asio::awaitable<void, Executor> websocket_session(tcp_socket_on<Executor> socket,
                                                  const session_env& env) {
    using socket_type = tcp_socket_on<Executor>;
    using ws_type = std::conditional_t<Secure, websocket::stream<ssl::stream<socket_type&>>,
                                       websocket::stream<socket_type&>>;
    registered_session<socket_type, websocket_handle<socket_type>> handle(socket, env);
    if (!handle.added()) {
        co_return; // the server is stopping
    }
    // Closed when the frame ends, before the registry forgets the session: whoever sees the
    // connection count fall finds the connection closed.
    struct closer {
        socket_type& socket;
        ~closer() {
            boost::system::error_code ignored;
            socket.close(ignored);
        }
    } close_at_end{socket};
    // wss: the context of now (a reload meanwhile changes the next sessions, not this one).
    std::shared_ptr<ssl::context> context;
    auto make_stream = [&]() -> ws_type {
        if constexpr (Secure) {
            context = env.tls->current();
            return ws_type(socket, *context);
        } else {
            return ws_type(socket);
        }
    };
    ws_type ws = make_stream();
    if constexpr (Secure) {
        if (!co_await accept_tls<Executor>(ws.next_layer(), socket, env, handle)) {
            co_return;
        }
    }
    if (!co_await upgrade<Executor>(ws, socket, env, handle)) {
        co_return;
    }

    beast::flat_buffer message;
    boost::system::error_code ec;
    for (;;) {
        if (env.connections.draining()) {
            handle.going_away(); // accepted from the backlog after the others were told
        }
        // Not marked as reading once leaving: the drain waits for the peer's answer.
        handle.reading.store(!handle.leaving(), std::memory_order_relaxed);
        // First at most first_read bytes: Beast prepares the buffer before it waits, so an
        // idle connection holds that much, not its 1,536-byte default. A small message is
        // whole after it; the rest of a larger one follows.
        std::size_t n = 0;
        std::tie(ec, n) = co_await ws.async_read_some(message, first_read, nothrow_in_place);
        if (!ec && !ws.is_message_done()) {
            std::size_t rest = 0;
            std::tie(ec, rest) = co_await ws.async_read(message, nothrow_in_place);
            n += rest;
        }
        handle.reading.store(false, std::memory_order_relaxed);
        if (ec) {
            break;
        }
        handle.touch();
        bump(env.counters.websocket_bytes_in, n);
        auto payload = message.data();
        apply_transform(env.reply, std::span<char>(static_cast<char*>(payload.data()), n));
        ws.text(ws.got_text()); // text stays text, binary stays binary
        handle.write_started();
        auto [write_ec, written] = co_await ws.async_write(payload, nothrow_in_place);
        handle.write_ended();
        if (write_ec) {
            ec = write_ec;
            break;
        }
        bump(env.counters.websocket_bytes_out, written);
        bump(env.counters.websocket_messages); // last: a test that sees it sees the bytes too
        message.consume(message.size());
        if (message.capacity() > first_read) {
            message.shrink_to_fit(); // what waits for the next message is first_read bytes
        }
    }
    auto code = handle.leaving() ? static_cast<unsigned>(websocket::close_code::going_away)
                                 : close_code_of(ec, ws.reason());
    bump(env.counters.websocket_closes[websocket_close_index(code)]);
}

} // namespace

template <class Executor>
asio::awaitable<void, Executor> run_websocket_session(tcp_socket_on<Executor> socket,
                                                      const session_env& env, bool secure) {
    if (secure) {
        return websocket_session<true>(std::move(socket), env);
    }
    return websocket_session<false>(std::move(socket), env);
}

template asio::awaitable<void, context_executor>
run_websocket_session<context_executor>(tcp_socket_on<context_executor>, const session_env&, bool);
template asio::awaitable<void, strand_executor>
run_websocket_session<strand_executor>(tcp_socket_on<strand_executor>, const session_env&, bool);

} // namespace asio_echo
