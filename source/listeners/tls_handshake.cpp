// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tls_handshake.hpp"

#include <boost/asio/error.hpp>

namespace asio_echo {

namespace {

/// Lines traffic can trigger: one per 10 s each, however many connections cause them.
log_limiter handshake_failure_lines;
log_limiter handshake_timeout_lines;

} // namespace

bool tls_handshake_outcome(const session_env& env, bool timed_out,
                           const boost::system::error_code& ec, SSL* ssl, const std::string& peer) {
    if (timed_out) {
        bump(env.counters.tls_timeout);
        handshake_timeout_lines.log(log_level::warn, [&] {
            return "TLS handshake with " + peer + " not done within " +
                   seconds_text(env.tls_handshake_timeout) +
                   " (--tls-handshake-timeout); connection closed";
        });
        return false;
    }
    if (ec) {
        namespace error = boost::asio::error;
        if (ec != error::operation_aborted && ec != error::bad_descriptor) {
            bump(env.counters.tls_failed);
            handshake_failure_lines.log(log_level::warn, [&] {
                // OpenSSL's reason, with the verification result when a client certificate
                // was refused.
                auto reason = ec.message();
                long verified = SSL_get_verify_result(ssl);
                if (verified != X509_V_OK) {
                    reason += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
                }
                return "TLS handshake with " + peer + " failed: " + reason;
            });
        }
        return false;
    }
    bump(env.counters.tls_ok);
    return true;
}

} // namespace asio_echo
