// SPDX-License-Identifier: BSL-1.0
#pragma once
// The client's TLS: the ssl::context made from the --tls options, and the handshake within the
// connect deadline, whose failure names OpenSSL's reason.

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include "asio_echo/client/options.hpp"

namespace asio_echo::client {

/// The client's TLS settings: a context (TLS 1.2 at least, OpenSSL's default ciphers, the trust
/// anchors, an optional client certificate) and the name each server must prove. Make once;
/// handshake() may then run on any thread (OpenSSL's SSL_CTX is shared read-only).
class tls_client {
public:
    /// Loads what tls names; under --insecure prints the one warning line on stderr. Throws
    /// usage_error naming a file that cannot be read or a key that does not match.
    tls_client(const tls_options& tls, const endpoint& connect);

    /// The context every ssl::stream of this client is made with.
    boost::asio::ssl::context& context() { return context_; }

    /// Handshakes as a client over stream (its TCP socket just connected to name, "HOST:PORT")
    /// within timeout: sends SNI unless the server name is an IP address, verifies the chain and
    /// the name (ssl::host_name_verification) unless --insecure. Throws unavailable_error
    /// "cannot connect to NAME: TLS handshake failed: REASON". Run on the stream's executor.
    boost::asio::awaitable<void>
    handshake(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream,
              const std::string& name, std::chrono::steady_clock::duration timeout) const;

private:
    boost::asio::ssl::context context_;
    std::string servername_; ///< verified, and sent as SNI unless an IP address
    bool sni_ = true;
    bool verify_ = true;
};

/// True for an error the TLS layer raised (a protocol failure, an alert from the peer), not the
/// socket's; a truncation (the peer closed without close_notify) is not one.
bool is_tls_error(const boost::system::error_code& ec);

/// OpenSSL's reason for a TLS error ("tlsv13 alert certificate required"), else ec.message().
std::string tls_reason(const boost::system::error_code& ec);

} // namespace asio_echo::client
