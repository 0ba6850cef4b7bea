// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/transport.hpp"

#include <algorithm>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/coro.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using std::chrono::steady_clock;

asio::awaitable<void> transport::start_tls(tls_client& tls, steady_clock::duration timeout) {
    auto remote = socket().remote_endpoint();
    auto name = format_endpoint(remote.address(), remote.port());
    stream_ = tls_stream(std::move(std::get<asio::ip::tcp::socket>(stream_)), tls.context());
    auto begin = steady_clock::now();
    co_await tls.handshake(std::get<tls_stream>(stream_), name, timeout);
    handshake_ = std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - begin);
}

asio::awaitable<void> transport::close(steady_clock::duration timeout) {
    asio::steady_timer deadline(get_executor(), timeout);
    boost::system::error_code ec;
    if (auto* tls = std::get_if<tls_stream>(&stream_)) {
        co_await (tls->async_shutdown(nothrow) || deadline.async_wait(nothrow));
    } else {
        auto& tcp = socket();
        tcp.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        // Wait for the server's close, so it never sees a reset; bounded by the timeout.
        char rest[512];
        for (int reads = 0; reads < 64; ++reads) {
            auto outcome = co_await (tcp.async_read_some(asio::buffer(rest), nothrow) ||
                                     deadline.async_wait(nothrow));
            if (outcome.index() == 1 || std::get<0>(std::get<0>(outcome))) {
                break;
            }
        }
    }
    socket().close(ec);
}

asio::awaitable<transport> open_transport(const options& opts, tls_client* tls) {
    auto timeout = to_duration(opts.timeout_seconds());
    auto deadline = steady_clock::now() + timeout;
    transport stream(co_await connect_tcp(opts.connect, timeout));
    if (tls != nullptr) {
        // The handshake gets what is left of the connect deadline.
        auto left = std::max<steady_clock::duration>(deadline - steady_clock::now(),
                                                     std::chrono::milliseconds(1));
        co_await stream.start_tls(*tls, left);
    }
    co_return stream;
}

std::optional<std::string> tls_rejection(const transport& stream,
                                         const boost::system::error_code& ec, bool any_received,
                                         const std::string& name) {
    if (!stream.tls() || any_received || !is_tls_error(ec)) {
        return std::nullopt;
    }
    return "cannot connect to " + name + ": TLS handshake failed: " + tls_reason(ec);
}

bool is_end_of_stream(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

} // namespace asio_echo::client
