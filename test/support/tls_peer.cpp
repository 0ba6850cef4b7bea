// SPDX-License-Identifier: BSL-1.0
#include "tls_peer.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

namespace asio_echo::test {
namespace {

std::string openssl_reason() {
    std::string all;
    while (auto code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        all += (all.empty() ? "" : "; ") + std::string(text);
    }
    return all.empty() ? "no OpenSSL error queued" : all;
}

} // namespace

tls_peer::tls_peer(std::uint16_t port, const options& how) {
    fd_ = ::socket(how.host.find(':') == std::string::npos ? AF_INET : AF_INET6,
                   SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval five{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (how.host.find(':') == std::string::npos) {
        auto* in = reinterpret_cast<sockaddr_in*>(&address);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        ::inet_pton(AF_INET, how.host.c_str(), &in->sin_addr);
        length = sizeof *in;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        ::inet_pton(AF_INET6, how.host.c_str(), &in6->sin6_addr);
        length = sizeof *in6;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) {
        ::close(fd_);
        throw std::runtime_error("tls_peer: TCP connect failed");
    }
    context_ = SSL_CTX_new(TLS_client_method());
    if (how.max_version) {
        SSL_CTX_set_max_proto_version(context_, how.max_version);
    }
    if (!how.ca.empty()) {
        SSL_CTX_load_verify_locations(context_, how.ca.c_str(), nullptr);
        SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    }
    if (!how.cert.empty()) {
        SSL_CTX_use_certificate_chain_file(context_, how.cert.c_str());
        SSL_CTX_use_PrivateKey_file(context_, how.key.c_str(), SSL_FILETYPE_PEM);
    }
    ssl_ = SSL_new(context_);
    if (!how.with_finished.empty()) {
        handshake_sending_with_finished(how.with_finished);
        return;
    }
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
        handshake_error_ = openssl_reason();
    }
}

void tls_peer::handshake_sending_with_finished(const std::string& words) {
    // OpenSSL writes into memory, sent only when it waits for the server: the last flight
    // and the words then leave in one send().
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in, out);
    auto flush = [&] {
        char* data = nullptr;
        long size = BIO_get_mem_data(out, &data);
        bool sent = size <= 0 || ::send(fd_, data, static_cast<std::size_t>(size), MSG_NOSIGNAL) ==
                                     static_cast<ssize_t>(size);
        (void)BIO_reset(out);
        return sent;
    };
    for (int flight = 0; flight < 20; ++flight) {
        int result = SSL_connect(ssl_);
        if (result == 1) {
            std::size_t written = 0;
            if (SSL_write_ex(ssl_, words.data(), words.size(), &written) != 1 || !flush()) {
                handshake_error_ = "could not send the words with the last flight";
            }
            SSL_set_fd(ssl_, fd_); // from here on OpenSSL uses the socket itself
            return;
        }
        if (SSL_get_error(ssl_, result) != SSL_ERROR_WANT_READ) {
            handshake_error_ = openssl_reason();
            return;
        }
        char buffer[16384];
        auto got = flush() ? ::recv(fd_, buffer, sizeof buffer, 0) : -1; // 5 s at most
        if (got <= 0) {
            handshake_error_ = "the server closed or went silent during the handshake";
            return;
        }
        BIO_write(in, buffer, static_cast<int>(got));
    }
    handshake_error_ = "the handshake did not end in 20 flights";
}

tls_peer::~tls_peer() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    ::close(fd_);
}

std::string tls_peer::server_common_name() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) {
        return "";
    }
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

void tls_peer::write_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        std::size_t written = 0;
        if (SSL_write_ex(ssl_, data.data() + done, data.size() - done, &written) != 1) {
            throw std::runtime_error("tls_peer: write failed after " + std::to_string(done) +
                                     " bytes: " + openssl_reason());
        }
        done += written;
    }
}

std::string tls_peer::read_exactly(std::size_t n) {
    std::string data(n, '\0');
    std::size_t done = 0;
    while (done < n) {
        std::size_t got = 0;
        if (SSL_read_ex(ssl_, data.data() + done, n - done, &got) != 1) {
            throw std::runtime_error("tls_peer: read failed after " + std::to_string(done) +
                                     " of " + std::to_string(n) + " bytes: " + openssl_reason());
        }
        done += got;
    }
    return data;
}

std::string tls_peer::echo_through_full_buffers(const std::string& data) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    // Small, but above loopback's MSS (64 KiB): smaller windows stall TCP for seconds.
    int small = 64 * 1024;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    int flags = ::fcntl(fd_, F_GETFL);
    ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    std::string back;
    std::size_t sent = 0;
    // Reads take less than writes give: the server's echo keeps waiting for us.
    const std::size_t write_size = 16384;
    char buffer[1024];
    while (back.size() < data.size()) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("tls_peer: echo not back within 30 s, " +
                                     std::to_string(back.size()) + " of " +
                                     std::to_string(data.size()) + " bytes");
        }
        bool want_write = false;
        if (sent < data.size()) {
            // After a block, OpenSSL wants the same bytes again: same start, same length.
            std::size_t length = std::min(data.size() - sent, write_size);
            std::size_t written = 0;
            if (SSL_write_ex(ssl_, data.data() + sent, length, &written) == 1) {
                sent += written;
                if (!writes_blocked_) {
                    continue; // no reading before the first block
                }
            } else if (SSL_get_error(ssl_, 0) == SSL_ERROR_WANT_WRITE) {
                writes_blocked_ = true;
                want_write = true;
            } else {
                throw std::runtime_error("tls_peer: write failed after " + std::to_string(sent) +
                                         " bytes: " + openssl_reason());
            }
        }
        std::size_t got = 0;
        if (SSL_read_ex(ssl_, buffer, sizeof buffer, &got) == 1) {
            back.append(buffer, got);
            continue;
        }
        if (SSL_get_error(ssl_, 0) != SSL_ERROR_WANT_READ) {
            throw std::runtime_error("tls_peer: read failed after " + std::to_string(back.size()) +
                                     " bytes: " + openssl_reason());
        }
        pollfd ready{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
        ::poll(&ready, 1, 100);
    }
    ::fcntl(fd_, F_SETFL, flags);
    return back;
}

void tls_peer::send_close_notify() {
    SSL_shutdown(ssl_); // 0: ours sent, theirs not yet received; reading goes on
}

std::string tls_peer::read_until_closed() {
    std::string all;
    char buffer[16384];
    for (;;) {
        std::size_t got = 0;
        if (SSL_read_ex(ssl_, buffer, sizeof buffer, &got) == 1) {
            all.append(buffer, got);
            continue;
        }
        closed_cleanly_ = SSL_get_error(ssl_, 0) == SSL_ERROR_ZERO_RETURN;
        ERR_clear_error();
        return all;
    }
}

void tls_peer::shutdown_tcp_send() {
    ::shutdown(fd_, SHUT_WR);
}

} // namespace asio_echo::test
