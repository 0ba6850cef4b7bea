// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tls_session.hpp"

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include "asio_echo/coro.hpp"
#include "asio_echo/deadline.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/listeners/registered_session.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"
#include "asio_echo/tls_credentials.hpp"

namespace asio_echo {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

/// Lines traffic can trigger: one per 10 s each, however many connections cause them.
log_limiter handshake_failure_lines;
log_limiter handshake_timeout_lines;

/// Plaintext bytes read at most at once: one TLS record.
constexpr std::size_t record_size = 16 * 1024;

template <class Socket>
std::string peer_of(const Socket& socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    return ec ? "?" : format_endpoint(remote.address(), remote.port());
}

/// OpenSSL's reason for a failed handshake, with the verification result when a client
/// certificate was refused.
template <class Stream>
std::string reason_of(const boost::system::error_code& ec, Stream& stream) {
    auto reason = ec.message();
    long verified = SSL_get_verify_result(stream.native_handle());
    if (verified != X509_V_OK) {
        reason += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
    }
    return reason;
}

/// The handshake, raced against the deadline. False when it failed or timed out (counted,
/// logged).
template <class Executor, class Stream>
asio::awaitable<bool, Executor> handshake(Stream& stream, tcp_socket_on<Executor>& socket,
                                          const session_env& env, session_handle& handle) {
    deadline_on<Executor> deadline(socket.get_executor(), env.tls_handshake_timeout);
    handle.reading.store(true, std::memory_order_relaxed);
    auto done = co_await before_deadline(
        stream.async_handshake(ssl::stream_base::server, racing<Executor>), deadline);
    handle.reading.store(false, std::memory_order_relaxed);
    if (!done) {
        bump(env.counters.tls_timeout);
        handshake_timeout_lines.log(log_level::warn, [&] {
            return "TLS handshake with " + peer_of(socket) + " not done within " +
                   seconds_text(env.tls_handshake_timeout) +
                   " (--tls-handshake-timeout); connection closed";
        });
        co_return false;
    }
    auto [ec] = *done;
    if (ec) {
        if (ec != asio::error::operation_aborted && ec != asio::error::bad_descriptor) {
            bump(env.counters.tls_failed);
            handshake_failure_lines.log(log_level::warn, [&] {
                return "TLS handshake with " + peer_of(socket) +
                       " failed: " + reason_of(ec, stream);
            });
        }
        co_return false;
    }
    bump(env.counters.tls_ok);
    handle.touch();
    co_return true;
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
    ssl::stream<tcp_socket_on<Executor>&> stream(socket, *context);
    if (!co_await handshake<Executor>(stream, socket, env, handle)) {
        co_return;
    }
    // Not zero-filled: a page of it is resident only once a message reached it.
    auto buffer = std::make_unique_for_overwrite<char[]>(record_size);
    boost::system::error_code ec;
    for (;;) {
        handle.reading.store(true, std::memory_order_relaxed);
        std::size_t n = 0;
        std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(buffer.get(), record_size),
                                                          nothrow_in_place);
        handle.reading.store(false, std::memory_order_relaxed);
        if (ec) {
            break;
        }
        handle.touch();
        bump(env.counters.tcp_bytes_in, n);
        auto chunk = std::span<char>(buffer.get(), n);
        apply_transform(env.reply, chunk);
        handle.write_started();
        auto [write_ec, written] =
            co_await asio::async_write(stream, asio::buffer(chunk), nothrow_in_place);
        handle.write_ended();
        bump(env.counters.tcp_bytes_out, written);
        if (write_ec) {
            ec = write_ec;
            break;
        }
    }
    if (ec == asio::error::eof) {
        // The client's close_notify: all it sent came back; say we are done too.
        handle.write_started();
        co_await stream.async_shutdown(nothrow_in_place);
        handle.write_ended();
    }
    socket.close(ec);
}

template asio::awaitable<void, context_executor>
run_tls_session<context_executor>(tcp_socket_on<context_executor>, const session_env&);
template asio::awaitable<void, strand_executor>
run_tls_session<strand_executor>(tcp_socket_on<strand_executor>, const session_env&);

} // namespace asio_echo
