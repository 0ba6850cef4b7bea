// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/ws_stream.hpp"

#include <memory>
#include <optional>

#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/oneshot.hpp"
#include "asio_echo/client/stdio.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/client/websocket.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;

void run_ws_stream(const options& opts) {
    constexpr std::size_t chunk_size = 64 * 1024;
    asio::io_context io;
    run_blocking(io, [&]() -> asio::awaitable<void> {
        std::optional<tls_client> tls;
        if (opts.websocket.secure) {
            tls.emplace(opts.tls, opts.connect);
        }
        auto ws = co_await ws_connection::open(opts, tls ? &*tls : nullptr);
        stdio_channel in(io.get_executor(), STDIN_FILENO);
        stdio_channel out(io.get_executor(), STDOUT_FILENO);
        auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
        auto timeout = to_duration(opts.timeout_seconds());
        std::uint64_t offset = 0;
        for (;;) {
            auto [read_ec, n] = co_await in.read_some(asio::buffer(chunk.get(), chunk_size));
            if (read_ec == asio::error::eof) {
                break;
            }
            if (read_ec) {
                throw check_failed("cannot read stdin: " + read_ec.message());
            }
            std::string_view sent(chunk.get(), n);
            co_await ws.send(sent, false);
            auto echo = co_await ws.receive(timeout);
            if (auto ec = co_await out.write_all(asio::buffer(echo.data(), echo.size()))) {
                throw output_error("cannot write to stdout: " + ec.message());
            }
            if (opts.verify) {
                verify_reply(sent, echo, opts.expect, offset);
            }
            offset += n;
        }
        co_await ws.close(timeout);
    }());
}

} // namespace asio_echo::client
