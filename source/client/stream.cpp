// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/stream.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/stdio.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/client/transport.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;

namespace {

constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t verify_window = 4 * 1024 * 1024;

std::string byte_text(char c) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned char>(c));
    return text;
}

/// The state both directions share. Both coroutines run on one thread: no locking.
class duplex {
public:
    duplex(const options& opts, transport socket, std::string name)
        : opts_(opts), socket_(std::move(socket)), name_(std::move(name)),
          in_(socket_.get_executor(), STDIN_FILENO), out_(socket_.get_executor(), STDOUT_FILENO),
          space_freed_(socket_.get_executor()), idle_(socket_.get_executor()),
          reply_(make_transform(opts.expect)) {
        if (opts_.verify) {
            window_.resize(verify_window);
        }
        idle_.expires_at(asio::steady_timer::time_point::max());
    }

    /// Fails the stream when replies are owed and none came for --timeout. A watchdog, not a
    /// timer raced against the read: `read || timer` would drop a read that completed while
    /// the timer was re-armed.
    asio::awaitable<void> watchdog() {
        while (!finished_) {
            idle_.expires_at(deadline_);
            co_await idle_.async_wait(nothrow);
            if (!finished_ && clock::now() >= deadline_) {
                fail("no reply from " + name_ + " within " + timeout_text() +
                     (upload_done_ ? " after the end of input (" : " (") +
                     std::to_string(received_) + " of " + std::to_string(offered_) +
                     " bytes back)");
            }
        }
    }

    /// stdin -> socket until EOF, then half-close (TLS: download sends close_notify once every
    /// byte is back, as async_shutdown would discard echoes still to come).
    asio::awaitable<void> upload() {
        auto buffer = std::make_unique_for_overwrite<char[]>(chunk_size);
        for (;;) {
            std::size_t room = chunk_size;
            if (opts_.verify) {
                // Bounded memory: wait until the server returned enough of what is in flight.
                while (window_.size() - pending_ == 0) {
                    space_freed_.expires_at(asio::steady_timer::time_point::max());
                    co_await space_freed_.async_wait(nothrow);
                }
                room = std::min(room, window_.size() - pending_);
            }
            auto [read_ec, n] = co_await in_.read_some(asio::buffer(buffer.get(), room));
            if (read_ec == asio::error::eof) {
                break;
            }
            if (read_ec) {
                fail("cannot read stdin: " + read_ec.message());
            }
            if (opts_.verify) {
                remember({buffer.get(), n});
            }
            offered_ += n;
            if (deadline_ == clock::time_point::max()) {
                arm(); // replies are owed from now on
            }
            auto [write_ec, written] =
                co_await asio::async_write(socket_, asio::buffer(buffer.get(), n), nothrow);
            if (write_ec) {
                fail("cannot send to " + name_ + " after " + std::to_string(sent_) +
                     " bytes: " + write_ec.message());
            }
            sent_ += n;
        }
        boost::system::error_code ec;
        upload_done_ = true;
        if (!socket_.tls()) {
            socket_.socket().shutdown(tcp::socket::shutdown_send, ec);
        } else if (received_ == sent_) {
            socket_.socket().cancel(ec); // wake download, which waits for bytes that are all in
        }
        arm(); // from now on a silent server is a failure, even with every byte back (no EOF)
    }

    /// socket -> stdout until the server closes (TLS: until every byte is back, then the
    /// close_notify exchange).
    asio::awaitable<void> download() {
        auto buffer = std::make_unique_for_overwrite<char[]>(chunk_size);
        for (;;) {
            if (all_back()) {
                co_await socket_.close(to_duration(opts_.timeout_seconds()));
                break;
            }
            auto [read_ec, n] =
                co_await socket_.async_read_some(asio::buffer(buffer.get(), chunk_size), nothrow);
            if (read_ec == asio::error::operation_aborted && all_back()) {
                continue; // upload woke us: close_notify next
            }
            if (auto rejected = tls_rejection(socket_, read_ec, received_ > 0, name_)) {
                rejection_ = true;
                fail(*rejected);
            }
            if (is_end_of_stream(read_ec)) {
                break;
            }
            if (read_ec) {
                fail("cannot read from " + name_ + " after " + std::to_string(received_) +
                     " bytes: " + read_ec.message());
            }
            if (opts_.verify) {
                compare({buffer.get(), n});
            }
            received_ += n;
            auto write_ec = co_await out_.write_all(asio::buffer(buffer.get(), n));
            if (write_ec) {
                fail("cannot write to stdout: " + write_ec.message());
            }
            // The server's silence counts from here (a slow stdout is not its fault).
            if (received_ < offered_ || upload_done_) {
                arm();
            } else {
                deadline_ = clock::time_point::max(); // all back: nothing owed
            }
        }
        finished_ = true;
        idle_.cancel();
        if (!upload_done_) {
            fail("server " + name_ +
                 " closed the connection before the end of "
                 "input (" +
                 std::to_string(received_) + " bytes back of " + std::to_string(sent_) + " sent)");
        }
        if (received_ != sent_) {
            fail("server " + name_ + " returned " + std::to_string(received_) + " bytes of " +
                 std::to_string(sent_) + " sent");
        }
    }

    /// The first failure either direction met (the other direction then ends by cancellation).
    const std::optional<std::string>& failure() const { return failure_; }

    /// The failure is the server's refusal of the TLS session (exit 69, not 1).
    bool rejected() const { return rejection_; }

private:
    [[noreturn]] void fail(std::string message) {
        if (!failure_) {
            failure_ = message;
        }
        throw check_failed(message);
    }

    using clock = asio::steady_timer::clock_type;

    /// TLS: the input ended and every byte sent came back; nothing more is owed.
    bool all_back() const { return socket_.tls() && upload_done_ && received_ == sent_; }

    /// Replies are owed: the server has --timeout from now to send one.
    void arm() {
        bool was_idle = deadline_ == clock::time_point::max();
        deadline_ = clock::now() + to_duration(opts_.timeout_seconds());
        if (was_idle) {
            idle_.cancel(); // the watchdog sleeps until max: wake it to the new deadline
        }
    }

    std::string timeout_text() const {
        char text[32];
        std::snprintf(text, sizeof text, "%g s", opts_.timeout_seconds());
        return text;
    }

    /// Appends the expected reply to bytes just read from stdin to the window (a ring).
    void remember(std::span<char> bytes) {
        auto tail = (head_ + pending_) % window_.size();
        for (std::size_t done = 0; done < bytes.size();) {
            auto n = std::min(bytes.size() - done, window_.size() - tail);
            std::copy_n(bytes.data() + done, n, window_.data() + tail);
            apply_transform(reply_, {window_.data() + tail, n});
            done += n;
            tail = (tail + n) % window_.size();
        }
        pending_ += bytes.size();
    }

    /// Checks bytes just received against the front of the window and releases them.
    void compare(std::span<const char> bytes) {
        if (bytes.size() > pending_) {
            fail("mismatch at byte offset " + std::to_string(received_ + pending_) +
                 ": more bytes came back than were sent");
        }
        for (std::size_t done = 0; done < bytes.size();) {
            auto n = std::min(bytes.size() - done, window_.size() - head_);
            auto [expected, got] = std::mismatch(window_.data() + head_, window_.data() + head_ + n,
                                                 bytes.data() + done);
            if (got != bytes.data() + done + n) {
                auto offset =
                    received_ + done + static_cast<std::size_t>(got - (bytes.data() + done));
                fail("mismatch at byte offset " + std::to_string(offset) + ": expected " +
                     byte_text(*expected) + " (" + std::string(to_string(opts_.expect)) +
                     "), got " + byte_text(*got));
            }
            done += n;
            head_ = (head_ + n) % window_.size();
        }
        pending_ -= bytes.size();
        space_freed_.cancel();
    }

    const options& opts_;
    transport socket_;
    std::string name_;
    stdio_channel in_;
    stdio_channel out_;
    asio::steady_timer space_freed_; ///< download cancels it to wake a waiting upload
    asio::steady_timer idle_;        ///< the watchdog's: sleeps until deadline_
    clock::time_point deadline_ = clock::time_point::max(); ///< a reply is due by; max: none owed
    transform reply_;          ///< what a correct reply does to the bytes
    std::vector<char> window_; ///< --verify: expected bytes not yet received (a ring)
    std::size_t head_ = 0;     ///< first pending byte in window_
    std::size_t pending_ = 0;  ///< bytes in window_
    std::uint64_t sent_ = 0;
    std::uint64_t offered_ = 0; ///< bytes handed to the socket (sent_ once the write is done)
    std::uint64_t received_ = 0;
    bool upload_done_ = false;
    bool finished_ = false; ///< download saw the server's EOF
    std::optional<std::string> failure_;
    bool rejection_ = false;
};

} // namespace

void run_stream(const options& opts) {
    std::optional<tls_client> tls;
    if (opts.tls.enabled) {
        tls.emplace(opts.tls, opts.connect);
    }
    asio::io_context io;
    run_blocking(io, [&]() -> asio::awaitable<void> {
        auto socket = co_await open_transport(opts, tls ? &*tls : nullptr);
        auto remote = socket.socket().remote_endpoint();
        duplex both(opts, std::move(socket), format_endpoint(remote.address(), remote.port()));
        try {
            co_await (both.upload() && both.download() && both.watchdog());
        } catch (const std::exception&) {
            // One side failed and the other ended by the cancellation: report the cause.
            if (both.failure() && both.rejected()) {
                throw unavailable_error(*both.failure());
            }
            if (both.failure()) {
                throw check_failed(*both.failure());
            }
            throw;
        }
    }());
}

} // namespace asio_echo::client
