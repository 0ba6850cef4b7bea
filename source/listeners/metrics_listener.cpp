// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/metrics_listener.hpp"

#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/metrics.hpp"

namespace asio_echo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using request = http::request<http::empty_body>;
using response = http::response<http::string_body>;

/// A Beast parse failure (bad syntax, header too large, a body on GET), as opposed to the
/// peer going away or the deadline passing.
bool is_bad_request(const boost::system::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

response plain(http::status status, unsigned version, std::string_view text) {
    response out{status, version};
    out.set(http::field::content_type, "text/plain; charset=utf-8");
    out.body() = text;
    return out;
}

response respond(const request& in, const metrics_env& env) {
    auto target = in.target();
    target = target.substr(0, target.find('?')); // a scraper may add parameters; none matter
    response out;
    if (target != "/metrics") {
        out = plain(http::status::not_found, in.version(), "only /metrics is served here\n");
    } else if (in.method() != http::verb::get && in.method() != http::verb::head) {
        out = plain(http::status::method_not_allowed, in.version(), "GET or HEAD only\n");
        out.set(http::field::allow, "GET, HEAD");
    } else {
        out = response{http::status::ok, in.version()};
        out.set(http::field::content_type, metrics_content_type);
        out.body() = env.render();
    }
    out.set(http::field::server, "echo-server");
    out.keep_alive(in.keep_alive());
    out.prepare_payload();
    if (in.method() == http::verb::head) {
        out.body().clear(); // Content-Length still tells the size a GET would get
    }
    return out;
}

/// After a bad request: answer 400, stop sending, and read (and drop) what the client still
/// sends for a moment, so closing does not reset the connection before the 400 is read.
asio::awaitable<void> refuse(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                             unsigned version) {
    auto out = plain(http::status::bad_request, version, "bad request\n");
    out.keep_alive(false);
    out.prepare_payload();
    stream.expires_after(metrics_io_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, out, nothrow);
    if (write_ec) {
        co_return;
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::seconds(1));
    for (std::size_t drained = 0; drained < (1u << 20);) {
        buffer.clear();
        auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(4096), nothrow);
        if (read_ec) {
            break;
        }
        drained += n;
    }
}

asio::awaitable<void> serve_scraper(tcp::socket socket, const metrics_env& env) {
    beast::tcp_stream stream(std::move(socket));
    socket_handle handle(stream.socket());
    if (!env.scrapes.add(handle)) {
        co_return; // the server is stopping
    }
    struct unregister {
        connection_set& set;
        session_handle& handle;
        ~unregister() { set.remove(handle); }
    } registered{env.scrapes, handle};

    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_metrics_request_bytes);
        parser.body_limit(0);
        // Waiting for a request: the connection may be closed to make room for a newcomer.
        handle.touch();
        handle.reading.store(true, std::memory_order_relaxed);
        if (buffer.size() == 0) {
            stream.expires_after(metrics_io_timeout);
            auto [first_ec, first] =
                co_await stream.async_read_some(buffer.prepare(max_metrics_request_bytes), nothrow);
            if (first_ec) {
                break; // closed, reset, idle too long or stopped
            }
            buffer.commit(first);
        }
        stream.expires_after(metrics_header_timeout);
        auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        handle.reading.store(false, std::memory_order_relaxed);
        // Only HTTP/1.x is spoken here; anything else is as malformed as a bad header.
        if (is_bad_request(read_ec) || (!read_ec && parser.get().version() / 10 != 1)) {
            co_await refuse(stream, buffer, parser.is_header_done() ? parser.get().version() : 11);
            break;
        }
        if (read_ec) {
            break; // closed, reset, timed out or stopped
        }
        auto out = respond(parser.get(), env);
        stream.expires_after(metrics_io_timeout);
        auto [write_ec, written] = co_await http::async_write(stream, out, nothrow);
        if (write_ec) {
            break;
        }
        if (!out.keep_alive()) {
            boost::system::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            break;
        }
    }
    boost::system::error_code ignored;
    stream.socket().close(ignored);
}

/// A scraper's failure is traffic's doing: one line per 10 s.
log_limiter scrape_failure_lines;

} // namespace

asio::awaitable<void> run_metrics_listener(tcp::acceptor& acceptor,
                                           executor_picker<asio::any_io_executor> pick,
                                           const metrics_env& env) {
    asio::steady_timer pause(acceptor.get_executor());
    accept_backoff backoff("metrics: ");
    while (acceptor.is_open()) {
        auto executor = pick();
        auto [ec, socket] = co_await acceptor.async_accept(executor, nothrow);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return; // stop() closed the acceptor
        }
        if (ec) {
            co_await backoff.failed(ec, pause);
            continue;
        }
        backoff.accepted();
        if (!env.scrapes.try_reserve() && !env.scrapes.reserve_by_closing_longest_idle()) {
            socket.close(ec); // every slot busy serving: turned away at once, not left waiting
            continue;
        }
        asio::co_spawn(executor, serve_scraper(std::move(socket), env),
                       log_failure{"metrics connection", &scrape_failure_lines});
    }
}

} // namespace asio_echo
