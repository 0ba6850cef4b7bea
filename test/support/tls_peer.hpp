// SPDX-License-Identifier: BSL-1.0
#pragma once
// A blocking TLS client on OpenSSL itself, for tests of the server's TLS endpoint: a peer
// nobody here wrote the TLS of, that can half-close with close_notify alone, offer chosen
// versions and present a client certificate.

#include <cstdint>
#include <optional>
#include <string>

#include <openssl/ssl.h>

namespace asio_echo::test {

class tls_peer {
public:
    struct options {
        std::string ca;                 ///< trust anchor file; empty: verify nothing
        std::string cert;               ///< client certificate file, for mutual TLS
        std::string key;                ///< its key
        int max_version = 0;            ///< TLS1_2_VERSION to refuse 1.3; 0: any
        std::string host = "127.0.0.1"; ///< connects to host:port
        /// Written right after the handshake and sent in the same segment as its last flight
        /// (TLS 1.3: the client's Finished), so that the server reads both at once.
        std::string with_finished = {};
    };

    /// Connects over TCP (reads and writes time out after 5 s) and handshakes. Throws
    /// std::runtime_error when TCP fails; a failed handshake is handshake_error() instead.
    tls_peer(std::uint16_t port, const options& how);
    tls_peer(const tls_peer&) = delete;
    tls_peer& operator=(const tls_peer&) = delete;
    ~tls_peer();

    /// Empty when the handshake succeeded, else OpenSSL's reason.
    const std::string& handshake_error() const { return handshake_error_; }

    /// The common name of the server's certificate.
    std::string server_common_name() const;

    /// Negotiated version: "TLSv1.2", "TLSv1.3".
    std::string version() const { return SSL_get_version(ssl_); }

    /// Writes every byte; throws on failure.
    void write_all(const std::string& data);

    /// Reads exactly n bytes; throws on failure or a close before.
    std::string read_exactly(std::size_t n);

    /// Writes data and reads its echo, through a 64 KiB receive buffer and reading at most
    /// 1 KiB per write of 16 KiB (none before a write first blocks), so that the echo keeps
    /// waiting for us. Returns what came back, and in writes_blocked() whether a write
    /// blocked. Throws on a failure or when 30 s pass.
    std::string echo_through_full_buffers(const std::string& data);
    bool writes_blocked() const { return writes_blocked_; }

    /// Sends close_notify (TLS's half-close) and nothing else: reading goes on.
    void send_close_notify();

    /// Reads until the server's close_notify, a TCP close or an error: what came, and in
    /// closed_cleanly() whether it ended with close_notify.
    std::string read_until_closed();
    bool closed_cleanly() const { return closed_cleanly_; }

    /// Half-closes TCP under TLS (FIN without close_notify).
    void shutdown_tcp_send();

private:
    void handshake_sending_with_finished(const std::string& words);

    int fd_ = -1;
    SSL_CTX* context_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string handshake_error_;
    bool closed_cleanly_ = false;
    bool writes_blocked_ = false;
};

} // namespace asio_echo::test
