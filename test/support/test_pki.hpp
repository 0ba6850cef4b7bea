// SPDX-License-Identifier: BSL-1.0
#pragma once
// Certificates made by the tests, never checked in: a CA, a server certificate for 127.0.0.1,
// ::1 and localhost, a client certificate, and keys that match nothing, written as PEM files
// into a folder. Made with OpenSSL's library (a minimal system has no openssl program).

#include <string>

namespace asio_echo::test {

/// A test CA and what it issued, in dir (which must exist). P-256 keys, SHA-256, valid from an
/// hour ago for 30 days.
class test_pki {
public:
    explicit test_pki(std::string dir);

    std::string ca_cert;     ///< the CA's certificate (trust anchor for both sides)
    std::string server_cert; ///< CN=echo-server, SAN IP:127.0.0.1, IP:::1, DNS:localhost
    std::string server_key;
    std::string client_cert; ///< CN=echo-client, extendedKeyUsage clientAuth
    std::string client_key;
    std::string wrong_key;     ///< a key that matches no certificate here
    std::string other_ca_cert; ///< another CA, which issued nothing here

    /// Issues another server certificate (with a new key) from the same CA, with common name
    /// cn, to cert and key: a rotation.
    void issue_server(const std::string& cert, const std::string& key, const std::string& cn) const;

    /// A self-signed server certificate and its key (no CA vouches for it).
    void self_signed(const std::string& cert, const std::string& key, const std::string& cn) const;

private:
    std::string dir_;
};

} // namespace asio_echo::test
