// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tls_session.hpp"

#include <chrono>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/post.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/deadline.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/listeners/registered_session.hpp"
#include "asio_echo/listeners/thread_buffer.hpp"
#include "asio_echo/listeners/tls_connection.hpp"
#include "asio_echo/listeners/tls_handshake.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"
#include "asio_echo/tls_credentials.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// Plaintext bytes read at most at once: one TLS record.
constexpr std::size_t record_size = 16 * 1024;

/// Records read in a row before a busy session lets the other sessions of its thread go
/// first.
constexpr int burst = 8;

constexpr asio::socket_base::wait_type wait_type_of(tls_wait wait) {
    return wait == tls_wait::writable ? asio::socket_base::wait_write
                                      : asio::socket_base::wait_read;
}

/// Calls step (the handshake's, the shutdown's) until it is done or fails, each time after
/// the socket is ready for what it waits for.
template <class Executor, class Step>
asio::awaitable<boost::system::error_code, Executor> until_done(tcp_socket_on<Executor>& socket,
                                                                Step step) {
    for (;;) {
        auto outcome = step();
        if (outcome.ec || outcome.wait == tls_wait::none) {
            co_return outcome.ec;
        }
        auto [ec] = co_await socket.async_wait(wait_type_of(outcome.wait), nothrow_in_place);
        if (ec) {
            co_return ec;
        }
    }
}

/// The handshake, raced against the deadline. False when it failed or timed out (counted,
/// logged).
template <class Executor>
asio::awaitable<bool, Executor> handshake(tls_connection& tls, tcp_socket_on<Executor>& socket,
                                          const session_env& env, session_handle& handle) {
    deadline_on<Executor> deadline(socket.get_executor(), env.tls_handshake_timeout);
    handle.reading.store(true, std::memory_order_relaxed);
    auto done =
        co_await before_deadline(until_done(socket, [&] { return tls.handshake(); }), deadline);
    handle.reading.store(false, std::memory_order_relaxed);
    if (!tls_handshake_outcome(env, !done, done ? *done : boost::system::error_code{},
                               tls.native_handle(), peer_of(socket))) {
        co_return false;
    }
    handle.touch();
    co_return true;
}

/// Reads what OpenSSL can decrypt into this thread's buffer and writes each chunk straight
/// back, up to `burst` records. Returns what to wait for before the next call: readable once
/// OpenSSL needs more from the socket or holds nothing more, writable when it must send
/// before it reads on, none after a full burst or when `rest` holds what the peer would not
/// take at once (for the session to write before it reads again); or the error (eof: the
/// peer's close_notify). Never waits: no coroutine frame needs to hold the buffer.
tls_step echo_available(tls_connection& tls, const session_env& env, session_handle& handle,
                        std::vector<char>& rest) {
    for (int round = 0; round < burst; ++round) {
        auto buffer = thread_buffer(record_size);
        auto got = tls.read(buffer);
        if (got.ec || got.wait != tls_wait::none) {
            return got;
        }
        handle.touch();
        bump(env.counters.tcp_bytes_in, got.bytes);
        auto chunk = buffer.first(got.bytes);
        apply_transform(env.reply, chunk);
        auto sent = tls.write(chunk);
        if (sent.ec) {
            return sent;
        }
        bump(env.counters.tcp_bytes_out, sent.bytes);
        if (sent.bytes < chunk.size()) {
            // OpenSSL keeps the sealed record until the socket takes it, and wants the same
            // bytes again then: our own copy, since the thread's buffer is shared.
            rest.assign(chunk.begin() + static_cast<std::ptrdiff_t>(sent.bytes), chunk.end());
            return {};
        }
        if (!tls.has_pending()) {
            // OpenSSL reads ahead as much as its buffer takes: it got no more than this
            // record, so the socket is most likely empty. Wait rather than try a read that
            // would find nothing (a system call per message).
            return {0, tls_wait::readable, {}};
        }
    }
    return {}; // more may be waiting: the other sessions of this thread go first
}

/// Writes all of rest, waiting as long as the peer needs, then frees it. Marked as a pending
/// write meanwhile, for the idle sweep and --write-timeout (as on TCP).
template <class Executor>
asio::awaitable<boost::system::error_code, Executor>
write_rest(tls_connection& tls, tcp_socket_on<Executor>& socket, std::vector<char>& rest,
           session_handle& handle, stats& counters) {
    handle.write_started();
    boost::system::error_code ec;
    std::size_t at = 0;
    while (!ec && at < rest.size()) {
        auto sent = tls.write(std::span<const char>(rest).subspan(at));
        ec = sent.ec;
        at += sent.bytes;
        bump(counters.tcp_bytes_out, sent.bytes);
        if (!ec && sent.wait != tls_wait::none) {
            std::tie(ec) = co_await socket.async_wait(wait_type_of(sent.wait), nothrow_in_place);
        }
    }
    handle.write_ended();
    rest.clear();
    rest.shrink_to_fit();
    co_return ec;
}

} // namespace

template <class Executor>
asio::awaitable<void, Executor> run_tls_session(tcp_socket_on<Executor> socket,
                                                const session_env& env) {
    registered_session handle(socket, env);
    if (!handle.added()) {
        co_return; // the server is stopping
    }
    // The context of now: a reload meanwhile changes the next sessions, not this one.
    auto context = env.tls->current();
    boost::system::error_code ec;
    socket.non_blocking(true, ec); // OpenSSL's reads and writes return instead of waiting
    tls_connection tls(context->native_handle(), socket.native_handle(), ec);
    if (ec || !co_await handshake(tls, socket, env, handle)) {
        co_return; // the socket closes after the session left the registry
    }
    std::vector<char> rest; // what the peer has not taken yet
    // What to wait for: none first, as the handshake may have read the first records too.
    auto next = tls_wait::none;
    while (!ec) {
        if (!rest.empty()) {
            // The peer reads slower than it sends: read nothing more until it has taken the
            // rest (backpressure).
            ec = co_await write_rest(tls, socket, rest, handle, env.counters);
            next = tls_wait::none;
            continue;
        }
        if (next == tls_wait::none && tls.has_pending()) {
            // OpenSSL holds more than the socket shows (read ahead): the other sessions of
            // this thread first, then on without waiting.
            co_await asio::post(socket.get_executor(), nothrow_in_place);
            if (!socket.is_open()) {
                break; // closed by stop() or the idle sweep meanwhile
            }
        } else {
            // Wait without holding a buffer (OpenSSL gave its own back), then echo what is
            // there.
            bool idle = next != tls_wait::writable;
            handle.reading.store(idle, std::memory_order_relaxed);
            std::tie(ec) = co_await socket.async_wait(wait_type_of(next), nothrow_in_place);
            handle.reading.store(false, std::memory_order_relaxed);
            if (ec) {
                break;
            }
        }
        auto step = echo_available(tls, env, handle, rest);
        ec = step.ec;
        next = step.wait;
    }
    if (ec == asio::error::eof) {
        // The client's close_notify: all it sent came back; say we are done too.
        handle.write_started();
        co_await until_done(socket, [&] { return tls.shutdown(); });
        handle.write_ended();
    }
    socket.close(ec);
}

template asio::awaitable<void, context_executor>
run_tls_session<context_executor>(tcp_socket_on<context_executor>, const session_env&);
template asio::awaitable<void, strand_executor>
run_tls_session<strand_executor>(tcp_socket_on<strand_executor>, const session_env&);

} // namespace asio_echo
