// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/interactive.hpp"

#include <memory>
#include <string>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/oneshot.hpp"
#include "asio_echo/client/output.hpp"
#include "asio_echo/client/stdio.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_line = 65507; // a UDP datagram's worth; TCP lines are cut there too

asio::awaitable<void> write_text(stdio_channel& channel, std::string_view text) {
    auto ec = co_await channel.write_all(asio::buffer(text.data(), text.size()));
    if (ec) {
        throw output_error(std::string("cannot write to ") +
                           (channel.fd() == STDOUT_FILENO ? "stdout" : "stderr") + ": " +
                           ec.message());
    }
}

asio::awaitable<void> line_loop(const options& opts, bool prompt) {
    auto executor = co_await asio::this_coro::executor;
    auto peer = co_await message_peer::open(opts);
    stdio_channel in(executor, STDIN_FILENO);
    stdio_channel out(executor, STDOUT_FILENO);
    stdio_channel err(executor, STDERR_FILENO);
    if (prompt) {
        co_await write_text(err, "connected to " + peer.name() +
                                     (opts.udp           ? " (udp)"
                                      : opts.tls.enabled ? " (tls)"
                                                         : " (tcp)") +
                                     "; Ctrl-D ends\n> ");
    }
    std::string pending; // read from stdin, not yet sent
    auto buffer = std::make_unique_for_overwrite<char[]>(max_line);
    std::uint64_t offset = 0;
    bool input_ended = false;
    while (!input_ended || !pending.empty()) {
        auto newline = pending.find('\n');
        if (newline == std::string::npos && !input_ended && pending.size() < max_line) {
            auto [ec, n] = co_await in.read_some(asio::buffer(buffer.get(), max_line));
            if (ec == asio::error::eof) {
                input_ended = true;
            } else if (ec) {
                throw check_failed("cannot read stdin: " + ec.message());
            } else {
                pending.append(buffer.get(), n);
            }
            continue;
        }
        // A whole line, the rest at the end of input, or a line too long to wait for.
        auto length =
            newline == std::string::npos ? std::min(pending.size(), max_line) : newline + 1;
        std::string line = pending.substr(0, length);
        pending.erase(0, length);
        auto reply = co_await peer.exchange(line);
        co_await write_text(out, reply);
        if (opts.verify) {
            verify_reply(line, reply, opts.expect, offset);
        }
        offset += line.size();
        if (prompt) {
            co_await write_text(err, "> ");
        }
    }
    if (prompt) {
        co_await write_text(err, "\n");
    }
    co_await peer.finish();
}

} // namespace

void run_lines(const options& opts, bool prompt) {
    asio::io_context io;
    run_blocking(io, line_loop(opts, prompt));
}

} // namespace asio_echo::client
