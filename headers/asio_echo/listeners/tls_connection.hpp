// SPDX-License-Identifier: BSL-1.0
#pragma once
// The server side of one TLS connection, driven by the socket's readiness: OpenSSL reads and
// writes the non-blocking socket itself (its socket BIO), and each step says what it waits
// for. It replaces Asio's ssl::stream on the server for memory: ssl::stream keeps two 17 KiB
// record buffers, zero-filled, and a BIO pair with two more, for as long as the connection
// lives, and its reads cannot be split into "wait" and "read", so its caller holds a read
// buffer while idle too (89 KiB per idle connection in bench/tls.results.md, nginx 39 KiB).
// Here nothing of that exists: with SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record
// buffers once a record is through, the caller waits with async_wait, then reads into its
// thread's buffer: 15 KiB per idle connection, nearly all of it OpenSSL's SSL object.

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

namespace asio_echo {

/// What a TLS step needs before it is called again.
enum class tls_wait {
    none,     ///< nothing: it is done (or failed)
    readable, ///< the socket to have bytes for OpenSSL
    writable, ///< the socket to take OpenSSL's bytes
};

/// The outcome of one step: plaintext bytes moved, or what to wait for, or the error that
/// ends the connection, as Asio's ssl::stream reports it: boost::asio::error::eof for the
/// peer's close_notify, ssl::error::stream_truncated for a TCP FIN without it, OpenSSL's
/// reason in boost::asio::error::get_ssl_category() otherwise.
struct tls_step {
    std::size_t bytes = 0;
    tls_wait wait = tls_wait::none;
    boost::system::error_code ec;
};

/// One server-side TLS connection over a non-blocking socket's descriptor, which it reads
/// and writes but neither owns nor closes. Its steps never block: each returns at once with
/// its tls_step. Writes go through write(2): the process must ignore SIGPIPE (server::start
/// does). Not thread safe: call from the socket's executor, and never once the socket is
/// closed (the descriptor may then be someone else's).
class tls_connection {
public:
    /// The server side of context over fd. ec is set when OpenSSL cannot make it (memory).
    tls_connection(SSL_CTX* context, int fd, boost::system::error_code& ec);

    /// The handshake, with the context's version, certificates and client verification.
    tls_step handshake();

    /// Decrypted bytes into `into`, at most one record's.
    tls_step read(std::span<char> into);

    /// Sends `from`. After a wait, call it again with the same bytes (they may have moved)
    /// until it reports them written.
    tls_step write(std::span<const char> from);

    /// Sends our close_notify (after the peer's: then done once it is sent).
    tls_step shutdown();

    /// True when OpenSSL holds bytes it has read from the socket and not handed out yet: the
    /// socket's readiness then says nothing, read() has more.
    bool has_pending() const;

    /// OpenSSL's connection (for its verification result).
    SSL* native_handle() const noexcept { return ssl_.get(); }

private:
    template <class Call>
    tls_step step(Call call);

    struct ssl_free {
        void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
    };
    std::unique_ptr<SSL, ssl_free> ssl_; ///< OpenSSL's connection and its socket BIO
};

} // namespace asio_echo
