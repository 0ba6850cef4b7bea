// SPDX-License-Identifier: BSL-1.0
#pragma once
// The server's TLS settings as an OpenSSL context (Asio's ssl::context): certificate, key,
// client CAs for mutual TLS, the oldest version accepted. Loaded at start, where a bad file is
// a usage error; loaded again on SIGHUP, where a bad file keeps the old context.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "asio_echo/config.hpp"

namespace asio_echo {

/// The files and versions a TLS context is made of. Plain value.
struct tls_settings {
    std::string cert;                     ///< PEM certificate chain, the server's own first
    std::string key;                      ///< PEM private key of the first certificate
    std::optional<std::string> client_ca; ///< PEM CAs; set: a client certificate is required
    tls_version min_version = tls_version::v1_2;

    /// The TLS settings of config, if it has a certificate.
    static std::optional<tls_settings> of(const server_config& config);
};

/// Makes a server context: TLS 1.2 or 1.3 (from min_version) with OpenSSL's default ciphers,
/// no compression, no renegotiation, buffers released while idle. Throws usage_error naming
/// the option, the file and the reason: unreadable, no certificate or key in it, a key that
/// does not match the certificate.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const tls_settings& settings);

/// The context new TLS sessions take; open sessions keep the one they started with (each
/// holds it). Thread safe.
class tls_credentials {
public:
    /// Loads settings; throws usage_error as make_server_context.
    explicit tls_credentials(tls_settings settings);

    /// The context for a new session.
    std::shared_ptr<boost::asio::ssl::context> current() const;

    /// Reads the files again. On success new sessions use them (a notice line says so);
    /// otherwise the old context stays and one error line names the file and the reason.
    /// Returns whether it succeeded.
    bool reload();

private:
    const tls_settings settings_;
    mutable std::mutex mutex_; ///< guards current_
    std::shared_ptr<boost::asio::ssl::context> current_;
};

} // namespace asio_echo
