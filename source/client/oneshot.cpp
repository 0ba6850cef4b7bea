// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/oneshot.hpp"

#include <cstdio>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/output.hpp"
#include "asio_echo/client/report.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

std::string byte_text(char c) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned char>(c));
    return text;
}

} // namespace

asio::awaitable<message_peer> message_peer::open(const options& opts) {
    message_peer peer;
    peer.timeout_seconds_ = opts.timeout_seconds();
    peer.timeout_ = to_duration(peer.timeout_seconds_);
    peer.retries_ = opts.retries;
    if (opts.udp) {
        peer.udp_.emplace(co_await connect_udp(opts.connect, peer.timeout_));
        auto remote = peer.udp_->remote_endpoint();
        peer.name_ = format_endpoint(remote.address(), remote.port());
    } else if (opts.websocket.enabled) {
        if (opts.websocket.secure) {
            peer.tls_ = std::make_unique<tls_client>(opts.tls, opts.connect);
        }
        peer.ws_.emplace(co_await ws_connection::open(opts, peer.tls_.get()));
        peer.name_ = peer.ws_->name();
        peer.binary_ = opts.websocket.binary;
    } else {
        if (opts.tls.enabled) {
            peer.tls_ = std::make_unique<tls_client>(opts.tls, opts.connect);
        }
        peer.tcp_.emplace(co_await open_transport(opts, peer.tls_.get()));
        auto remote = peer.tcp_->socket().remote_endpoint();
        peer.name_ = format_endpoint(remote.address(), remote.port());
    }
    co_return peer;
}

asio::awaitable<std::string> message_peer::exchange(std::string_view message) {
    if (tcp_) {
        co_return co_await exchange_tcp(message);
    }
    if (ws_) {
        co_return co_await exchange_ws(message);
    }
    co_return co_await exchange_udp(message);
}

asio::awaitable<std::string> message_peer::exchange_ws(std::string_view message) {
    co_await ws_->send(message, !binary_);
    co_return std::string(co_await ws_->receive(timeout_));
}

asio::awaitable<std::string> message_peer::exchange_tcp(std::string_view message) {
    auto [write_ec, written] =
        co_await asio::async_write(*tcp_, asio::buffer(message.data(), message.size()), nothrow);
    if (write_ec) {
        throw check_failed("cannot send to " + name_ + ": " + write_ec.message());
    }
    std::string reply(message.size(), '\0');
    std::size_t received = 0;
    asio::steady_timer deadline(tcp_->get_executor(), timeout_);
    // Read until every byte came back: one read may return only part of a long echo.
    while (received < reply.size()) {
        auto outcome = co_await (
            tcp_->async_read_some(asio::buffer(reply.data() + received, reply.size() - received),
                                  nothrow) ||
            deadline.async_wait(nothrow));
        if (outcome.index() == 1) {
            throw check_failed("no complete reply from " + name_ + " within " +
                               seconds_text(timeout_seconds_) + " (" + std::to_string(received) +
                               " of " + std::to_string(reply.size()) + " bytes)");
        }
        auto [ec, n] = std::get<0>(outcome);
        received += n;
        received_any_ = received_any_ || n > 0;
        if (auto rejected = tls_rejection(*tcp_, ec, received_any_, name_)) {
            throw unavailable_error(*rejected);
        }
        if (is_end_of_stream(ec)) {
            throw check_failed("server " + name_ + " closed the connection after " +
                               std::to_string(received) + " of " + std::to_string(reply.size()) +
                               " bytes");
        }
        if (ec) {
            throw check_failed("cannot read from " + name_ + ": " + ec.message());
        }
    }
    co_return reply;
}

asio::awaitable<std::string> message_peer::exchange_udp(std::string_view message) {
    std::string reply(65536, '\0');
    asio::steady_timer deadline(udp_->get_executor());
    for (unsigned attempt = 0; attempt <= retries_; ++attempt) {
        auto [send_ec, sent] =
            co_await udp_->async_send(asio::buffer(message.data(), message.size()), nothrow);
        if (send_ec) {
            throw check_failed("cannot send to " + name_ + ": " + send_ec.message());
        }
        deadline.expires_after(timeout_);
        auto outcome = co_await (udp_->async_receive(asio::buffer(reply), nothrow) ||
                                 deadline.async_wait(nothrow));
        if (outcome.index() == 1) {
            continue; // lost on the way out or back: try again
        }
        auto [ec, n] = std::get<0>(outcome);
        if (ec) {
            // A connected UDP socket learns of an ICMP "port unreachable" this way.
            throw check_failed("no reply from " + name_ + ": " + ec.message());
        }
        reply.resize(n);
        co_return reply;
    }
    throw check_failed("no reply from " + name_ + " (udp) after " + std::to_string(retries_ + 1) +
                       (retries_ == 0 ? " try" : " tries") + " of " +
                       seconds_text(timeout_seconds_) + " each");
}

asio::awaitable<void> message_peer::finish() {
    if (ws_) {
        co_await ws_->close(timeout_);
    }
    if (!tcp_) {
        co_return;
    }
    // exchange() read every reply byte: close_notify (async_shutdown) cannot drop one.
    co_await tcp_->close(timeout_);
}

void verify_reply(std::string_view sent, std::string_view reply, mode expect,
                  std::uint64_t base_offset) {
    std::string expected(sent);
    apply_transform(make_transform(expect), expected);
    auto common = std::min(expected.size(), reply.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (expected[i] != reply[i]) {
            throw check_failed("mismatch at byte offset " + std::to_string(base_offset + i) +
                               ": expected " + byte_text(expected[i]) + " (" +
                               std::string(to_string(expect)) + "), got " + byte_text(reply[i]));
        }
    }
    if (expected.size() != reply.size()) {
        throw check_failed("mismatch at byte offset " + std::to_string(base_offset + common) +
                           ": expected " + std::to_string(expected.size()) + " bytes, got " +
                           std::to_string(reply.size()));
    }
}

void run_oneshot(const options& opts) {
    std::string message;
    for (const auto& word : opts.message) {
        if (!message.empty()) {
            message += ' ';
        }
        message += word;
    }
    asio::io_context io;
    std::string reply;
    std::chrono::steady_clock::duration rtt{};
    std::string target;
    run_blocking(io, [&]() -> asio::awaitable<void> {
        auto peer = co_await message_peer::open(opts);
        target = peer.name();
        auto start = std::chrono::steady_clock::now();
        reply = co_await peer.exchange(message);
        rtt = std::chrono::steady_clock::now() - start;
        co_await peer.finish();
    }());
    if (opts.json) {
        json_object object;
        object.add("mode", "message")
            .add("protocol", protocol_name(opts))
            .add("target", target)
            .add("bytes", static_cast<std::uint64_t>(reply.size()))
            .add("rtt_us", std::chrono::duration<double, std::micro>(rtt).count())
            .add("reply", reply);
        write_out(object.str() + "\n");
    } else {
        write_out(reply + "\n");
    }
    if (opts.verify) {
        verify_reply(message, reply, opts.expect);
    }
}

} // namespace asio_echo::client
