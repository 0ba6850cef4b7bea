// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tcp_session.hpp"

#include <span>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/asio/write.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/listeners/proxy_session.hpp"
#include "asio_echo/listeners/registered_session.hpp"
#include "asio_echo/listeners/thread_buffer.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// Reads in a row before a busy session goes back through the reactor, so that one
/// streaming peer cannot starve the other sessions of its thread.
constexpr int burst = 8;

/// Reads what the socket holds into this thread's buffer and writes each chunk straight
/// back, up to `burst` full buffers. Returns would_block once a short read emptied the
/// socket, or EOF, or an error. What the peer would not take at once is left in `rest`,
/// for the session to write before it reads again. Never waits: no coroutine frame needs
/// to hold the buffer.
template <class Socket>
boost::system::error_code echo_available(Socket& socket, const session_env& env,
                                         session_handle& handle, std::vector<char>& rest) {
    boost::system::error_code ec;
    for (int round = 0; round < burst; ++round) {
        auto buffer = thread_buffer(env.buffer_size);
        std::size_t n = socket.read_some(asio::buffer(buffer), ec);
        if (ec) {
            return ec;
        }
        handle.touch();
        bump(env.counters.tcp_bytes_in, n);
        auto chunk = buffer.first(n);
        apply_transform(env.reply, chunk);
        std::size_t written = socket.write_some(asio::buffer(chunk), ec);
        if (ec == asio::error::would_block) {
            written = 0;
        } else if (ec) {
            return ec;
        }
        bump(env.counters.tcp_bytes_out, written);
        if (written < n) {
            rest.assign(chunk.begin() + static_cast<std::ptrdiff_t>(written), chunk.end());
            return {};
        }
        if (n < buffer.size()) {
            return asio::error::would_block;
        }
    }
    return {}; // more may be waiting: the other sessions of this thread go first
}

/// Writes all of rest, waiting as long as the peer needs, then frees it. A coroutine of its
/// own, so that the frame of every session does not carry this rare step's state. Marked as
/// a pending write meanwhile: the idle sweep then asks the kernel whether the peer is still
/// taking bytes, and --write-timeout bounds how long it may take.
template <class Executor>
asio::awaitable<boost::system::error_code, Executor>
write_rest(tcp_socket_on<Executor>& socket, std::vector<char>& rest, session_handle& handle,
           stats& counters) {
    handle.write_started();
    auto [ec, written] = co_await asio::async_write(socket, asio::buffer(rest), nothrow_in_place);
    handle.write_ended();
    bump(counters.tcp_bytes_out, written);
    rest.clear();
    rest.shrink_to_fit();
    co_return ec;
}

/// The session of a kind. A template on it, so that a plain session's frame (what an idle
/// connection holds) carries nothing of the PROXY step.
template <tcp_kind Kind, class Executor>
asio::awaitable<void, Executor> echo_session(tcp_socket_on<Executor> socket,
                                             const session_env& env) {
    registered_session handle(socket, env);
    if (!handle.added()) {
        co_return; // the server is stopping
    }
    std::vector<char> rest; // what the peer has not taken yet
    // Behind a load balancer: the client is the one the header names, counted to the end.
    [[maybe_unused]] std::conditional_t<Kind == tcp_kind::proxied, admission, std::monostate>
        client;
    if constexpr (Kind == tcp_kind::proxied) {
        if (!co_await take_proxy_header(socket, env, handle, client, rest)) {
            co_return; // counted and logged; closed without an echo
        }
    }
    boost::system::error_code ec;
    socket.non_blocking(true, ec); // reads and writes return would_block instead of waiting
    while (!ec) {
        if (!rest.empty()) {
            // The peer reads slower than it sends: read nothing more until it has taken the
            // rest (backpressure).
            ec = co_await write_rest(socket, rest, handle, env.counters);
            continue;
        }
        // Wait for data without holding a buffer (reactor style), then echo what is there.
        handle.reading.store(true, std::memory_order_relaxed);
        std::tie(ec) = co_await socket.async_wait(asio::socket_base::wait_read, nothrow_in_place);
        handle.reading.store(false, std::memory_order_relaxed);
        if (!ec) {
            ec = echo_available(socket, env, handle, rest);
        }
        if (ec == asio::error::would_block) {
            ec = {};
        }
    }
    if (ec == asio::error::eof) {
        // Everything read was written: tell the peer we are done too.
        socket.shutdown(asio::socket_base::shutdown_send, ec);
    }
    socket.close(ec);
}

} // namespace

template <class Executor>
asio::awaitable<void, Executor> run_tcp_session(tcp_socket_on<Executor> socket,
                                                const session_env& env, tcp_kind kind) {
    if (kind == tcp_kind::proxied) {
        return echo_session<tcp_kind::proxied>(std::move(socket), env);
    }
    return echo_session<tcp_kind::plain>(std::move(socket), env);
}

template asio::awaitable<void, context_executor>
run_tcp_session<context_executor>(tcp_socket_on<context_executor>, const session_env&, tcp_kind);
template asio::awaitable<void, strand_executor>
run_tcp_session<strand_executor>(tcp_socket_on<strand_executor>, const session_env&, tcp_kind);

} // namespace asio_echo
