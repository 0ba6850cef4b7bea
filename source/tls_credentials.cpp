// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/tls_credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "asio_echo/errors.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"

namespace asio_echo {

namespace ssl = boost::asio::ssl;

namespace {

/// "--tls-cert 'server.pem'", for the messages.
std::string named(const char* option, const std::string& path) {
    return std::string("--") + option + " " + quote(path);
}

/// Refuses a file that cannot be opened, with the system's reason: OpenSSL's own message
/// for that ("system lib") says less.
void check_readable(const char* option, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw usage_error("cannot read " + named(option, path) + ": " + std::strerror(errno));
    }
}

[[noreturn]] void holds_no(const char* option, const std::string& path, const char* what,
                           const boost::system::error_code& ec) {
    throw usage_error(named(option, path) + " holds no " + what + " (" + ec.message() + ")");
}

} // namespace

std::optional<tls_settings> tls_settings::of(const server_config& config) {
    if (!config.tls_cert || !config.tls_key) {
        return std::nullopt;
    }
    return tls_settings{*config.tls_cert, *config.tls_key, config.tls_client_ca,
                        config.tls_min_version};
}

std::shared_ptr<ssl::context> make_server_context(const tls_settings& settings) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    SSL_CTX_set_min_proto_version(
        native, settings.min_version == tls_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // No compression (CRIME), no renegotiation (a client could make us do handshakes at will).
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE);
    // An idle connection gives OpenSSL's read and write buffers back.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

    boost::system::error_code ec;
    check_readable("tls-cert", settings.cert);
    context->use_certificate_chain_file(settings.cert, ec);
    if (ec) {
        holds_no("tls-cert", settings.cert, "certificate", ec);
    }
    check_readable("tls-key", settings.key);
    context->use_private_key_file(settings.key, ssl::context::pem, ec);
    bool mismatch =
        ec && ec.category() == boost::asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    if (ec && !mismatch) {
        holds_no("tls-key", settings.key, "private key", ec);
    }
    if (mismatch || SSL_CTX_check_private_key(native) != 1) {
        throw usage_error(named("tls-key", settings.key) + " does not match the certificate in " +
                          named("tls-cert", settings.cert));
    }
    if (settings.client_ca) {
        const auto& ca = *settings.client_ca;
        check_readable("tls-client-ca", ca);
        context->load_verify_file(ca, ec);
        if (ec) {
            holds_no("tls-client-ca", ca, "certificate", ec);
        }
        // Tell clients which CAs we take, so they pick the right certificate.
        SSL_CTX_set_client_CA_list(native, SSL_load_client_CA_file(ca.c_str()));
        context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    // Resumed sessions (tickets) need an id context once peers are verified.
    static constexpr unsigned char id[] = "asio-echo";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
    return context;
}

tls_credentials::tls_credentials(tls_settings settings)
    : settings_(std::move(settings)), current_(make_server_context(settings_)) {}

std::shared_ptr<ssl::context> tls_credentials::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

bool tls_credentials::reload() {
    try {
        auto fresh = make_server_context(settings_);
        {
            std::lock_guard lock(mutex_);
            current_ = std::move(fresh);
        }
        log(log_level::notice, "re-read the TLS certificate " + quote(settings_.cert) +
                                   " and key; new connections use them");
        return true;
    } catch (const std::exception& e) {
        log(log_level::error,
            std::string("TLS reload failed, keeping the old certificate: ") + e.what());
        return false;
    }
}

} // namespace asio_echo
