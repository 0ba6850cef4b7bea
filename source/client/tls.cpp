// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/tls.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <variant>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using namespace asio::experimental::awaitable_operators;

namespace {

/// Fails with a line naming option and file when the file cannot be opened (OpenSSL's own
/// message for a missing file is only "system lib").
void require_readable(const char* option, const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) {
        throw usage_error(std::string("cannot read ") + option + " file '" + file +
                          "': " + std::strerror(errno));
    }
    std::fclose(f);
}

[[noreturn]] void bad_file(const char* option, const std::string& file,
                           const boost::system::error_code& ec) {
    throw usage_error(std::string("cannot load ") + option + " file '" + file +
                      "': " + tls_reason(ec));
}

bool is_address(const std::string& name) {
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    return !ec;
}

} // namespace

tls_client::tls_client(const tls_options& tls, const endpoint& connect)
    : context_(ssl::context::tls_client), servername_(tls.servername.value_or(connect.host)),
      sni_(!is_address(servername_)), verify_(!tls.insecure) {
    // TLS 1.2 at least; ciphers and groups stay OpenSSL's defaults.
    ::SSL_CTX_set_min_proto_version(context_.native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (tls.ca_file) {
        require_readable("--tls-ca", *tls.ca_file);
        context_.load_verify_file(*tls.ca_file, ec);
        if (ec) {
            bad_file("--tls-ca", *tls.ca_file, ec);
        }
    } else {
        context_.set_default_verify_paths(ec);
        if (ec) {
            throw usage_error("cannot load the system's trust anchors: " + tls_reason(ec));
        }
    }
    if (tls.cert_file) {
        require_readable("--tls-cert", *tls.cert_file);
        require_readable("--tls-key", *tls.key_file);
        context_.use_certificate_chain_file(*tls.cert_file, ec);
        if (ec) {
            bad_file("--tls-cert", *tls.cert_file, ec);
        }
        context_.use_private_key_file(*tls.key_file, ssl::context::pem, ec);
        if (ec) {
            bad_file("--tls-key", *tls.key_file, ec);
        }
        if (::SSL_CTX_check_private_key(context_.native_handle()) != 1) {
            ::ERR_clear_error();
            throw usage_error("--tls-key file '" + *tls.key_file +
                              "' is not the key of --tls-cert file '" + *tls.cert_file + "'");
        }
    }
    context_.set_verify_mode(verify_ ? ssl::verify_peer : ssl::verify_none);
    if (!verify_) {
        std::fputs("echo-client: warning: --insecure: the server's certificate is not verified\n",
                   stderr);
    }
}

asio::awaitable<void> tls_client::handshake(ssl::stream<asio::ip::tcp::socket>& stream,
                                            const std::string& name,
                                            std::chrono::steady_clock::duration timeout) const {
    auto* native = stream.native_handle();
    if (sni_ && ::SSL_set_tlsext_host_name(native, servername_.c_str()) != 1) {
        throw unavailable_error("cannot connect to " + name + ": cannot set the server name '" +
                                servername_ + "'");
    }
    if (verify_) {
        // Asio's check of the name (an IP address against the IP SANs); a mismatch is given
        // OpenSSL's own code, so the failure says why as a chain failure would.
        stream.set_verify_callback([check = ssl::host_name_verification(servername_),
                                    address = !sni_](bool preverified, ssl::verify_context& ctx) {
            if (!preverified) {
                return false;
            }
            auto* store = ctx.native_handle();
            if (::X509_STORE_CTX_get_error_depth(store) > 0 || check(preverified, ctx)) {
                return true;
            }
            ::X509_STORE_CTX_set_error(store, address ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                      : X509_V_ERR_HOSTNAME_MISMATCH);
            return false;
        });
    }
    asio::steady_timer deadline(stream.get_executor(), timeout);
    auto outcome = co_await (stream.async_handshake(ssl::stream_base::client, nothrow) ||
                             deadline.async_wait(nothrow));
    if (outcome.index() == 1) {
        char text[64];
        std::snprintf(text, sizeof text, "%g s", std::chrono::duration<double>(timeout).count());
        throw unavailable_error("cannot connect to " + name + ": TLS handshake timed out after " +
                                text);
    }
    auto [ec] = std::get<0>(outcome);
    if (!ec) {
        co_return;
    }
    std::string reason = tls_reason(ec);
    auto verified = ::SSL_get_verify_result(native);
    if (verify_ && verified != X509_V_OK) {
        reason = std::string("certificate verify failed (") +
                 ::X509_verify_cert_error_string(verified) + ")";
    } else if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        reason = "the server closed the connection";
    }
    throw unavailable_error("cannot connect to " + name + ": TLS handshake failed: " + reason);
}

bool is_tls_error(const boost::system::error_code& ec) {
    return ec.category() == asio::error::get_ssl_category();
}

std::string tls_reason(const boost::system::error_code& ec) {
    if (is_tls_error(ec)) {
        if (const char* reason =
                ::ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
            return reason;
        }
    }
    return ec.message();
}

} // namespace asio_echo::client
