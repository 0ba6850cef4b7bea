// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tls_connection.hpp"

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// The error that ended a step, named as Asio's ssl::stream names it, so that log lines and
/// counters read the same. `sys` is errno right after the call.
boost::system::error_code error_of(int ssl_error, int sys) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        return asio::error::eof; // the peer's close_notify
    }
    unsigned long first = ERR_get_error();
    ERR_clear_error();
    if (first != 0) {
        if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
            ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            return asio::ssl::error::stream_truncated; // a FIN without close_notify
        }
        if (ERR_GET_LIB(first) == ERR_LIB_SYS) {
            return {ERR_GET_REASON(first), boost::system::system_category()};
        }
        return {static_cast<int>(first), asio::error::get_ssl_category()};
    }
    if (ssl_error == SSL_ERROR_SYSCALL && sys != 0) {
        return {sys, boost::system::system_category()};
    }
    return asio::ssl::error::stream_truncated; // end of stream without a reason
}

} // namespace

tls_connection::tls_connection(SSL_CTX* context, int fd, boost::system::error_code& ec) {
    ERR_clear_error();
    ssl_.reset(SSL_new(context));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd) != 1) {
        auto code = ERR_get_error();
        ec = code != 0 ? boost::system::error_code(static_cast<int>(code),
                                                   asio::error::get_ssl_category())
                       : make_error_code(boost::system::errc::not_enough_memory);
        ssl_.reset();
        return;
    }
    // Record buffers only while a record passes through. A write that has to wait is
    // retried from the session's own copy of its bytes (moved from the thread's buffer).
    SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_ENABLE_PARTIAL_WRITE);
    // Read as much as the socket holds, not a record header and then its body: one read(2)
    // per message instead of two. has_pending() tells the session what was read ahead.
    SSL_set_read_ahead(ssl_.get(), 1);
    SSL_set_accept_state(ssl_.get());
}

template <class Call>
tls_step tls_connection::step(Call call) {
    ERR_clear_error(); // SSL_get_error reads the queue: only this call's errors in it
    errno = 0;
    std::size_t bytes = 0;
    int result = call(bytes);
    if (result > 0) {
        return {bytes, tls_wait::none, {}};
    }
    int sys = errno;
    switch (int error = SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
        return {0, tls_wait::readable, {}};
    case SSL_ERROR_WANT_WRITE:
        return {0, tls_wait::writable, {}};
    default:
        return {0, tls_wait::none, error_of(error, sys)};
    }
}

tls_step tls_connection::handshake() {
    return step([&](std::size_t&) { return SSL_do_handshake(ssl_.get()); });
}

tls_step tls_connection::read(std::span<char> into) {
    return step([&](std::size_t& bytes) {
        return SSL_read_ex(ssl_.get(), into.data(), into.size(), &bytes);
    });
}

tls_step tls_connection::write(std::span<const char> from) {
    if (from.empty()) {
        return {};
    }
    return step([&](std::size_t& bytes) {
        return SSL_write_ex(ssl_.get(), from.data(), from.size(), &bytes);
    });
}

tls_step tls_connection::shutdown() {
    return step([&](std::size_t&) {
        // 0: ours is sent and the peer's not seen; the session sends ours after the peer's,
        // so both mean done.
        int result = SSL_shutdown(ssl_.get());
        return result == 0 ? 1 : result;
    });
}

bool tls_connection::has_pending() const {
    return SSL_has_pending(ssl_.get()) == 1;
}

} // namespace asio_echo
