// SPDX-License-Identifier: BSL-1.0
#include "net.hpp"

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace asio_echo::test {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

socklen_t to_sockaddr(const std::string& address, std::uint16_t port, sockaddr_storage& storage) {
    auto ip = boost::asio::ip::make_address(address);
    storage = {};
    socklen_t length = 0;
    if (ip.is_v4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        auto bytes = ip.to_v4().to_bytes();
        std::memcpy(&in->sin_addr, bytes.data(), bytes.size());
        length = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        auto bytes = ip.to_v6().to_bytes();
        std::memcpy(&in6->sin6_addr, bytes.data(), bytes.size());
        length = sizeof(sockaddr_in6);
    }
    return length;
}

int connected(int type, const std::string& address, std::uint16_t port,
              const std::string* source = nullptr, std::uint16_t source_port = 0) {
    sockaddr_storage storage{};
    auto length = to_sockaddr(address, port, storage);
    int fd = ::socket(storage.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket");
    }
    if (source) {
        sockaddr_storage local{};
        auto local_length = to_sockaddr(*source, source_port, local);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&local), local_length) != 0) {
            int saved = errno;
            ::close(fd);
            errno = saved;
            fail("bind " + *source + ":" + std::to_string(source_port));
        }
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("connect to " + address + ":" + std::to_string(port));
    }
    return fd;
}

} // namespace

plain_socket::plain_socket(int fd) : fd_(fd) {
    set_timeout(std::chrono::seconds(10));
}

plain_socket::plain_socket(plain_socket&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

plain_socket& plain_socket::operator=(plain_socket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

plain_socket::~plain_socket() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

plain_socket plain_socket::tcp(const std::string& address, std::uint16_t port) {
    return plain_socket(connected(SOCK_STREAM, address, port));
}

plain_socket plain_socket::tcp_from(const std::string& source_address, const std::string& address,
                                    std::uint16_t port) {
    return plain_socket(connected(SOCK_STREAM, address, port, &source_address, 0));
}

plain_socket plain_socket::udp(const std::string& address, std::uint16_t port) {
    return plain_socket(connected(SOCK_DGRAM, address, port));
}

plain_socket plain_socket::udp_from(const std::string& source_address, std::uint16_t source_port,
                                    const std::string& address, std::uint16_t port) {
    return plain_socket(connected(SOCK_DGRAM, address, port, &source_address, source_port));
}

std::uint16_t plain_socket::local_port() const {
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    if (local.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    }
    return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
}

void plain_socket::set_timeout(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void plain_socket::send_all(const std::string& data) {
    std::size_t done = 0;
    do {
        auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            fail("send");
        }
        done += static_cast<std::size_t>(n);
    } while (done < data.size());
}

std::string plain_socket::receive_exactly(std::size_t n) {
    std::string data(n, '\0');
    std::size_t done = 0;
    while (done < n) {
        auto got = ::recv(fd_, data.data() + done, n - done, 0);
        if (got == 0) {
            throw std::runtime_error("EOF after " + std::to_string(done) + " of " +
                                     std::to_string(n) + " bytes");
        }
        if (got < 0) {
            fail("recv after " + std::to_string(done) + " of " + std::to_string(n) + " bytes");
        }
        done += static_cast<std::size_t>(got);
    }
    return data;
}

std::optional<std::string> plain_socket::receive_some(std::size_t max) {
    std::string data(max, '\0');
    auto got = ::recv(fd_, data.data(), max, 0);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return std::nullopt;
        }
        fail("recv");
    }
    data.resize(static_cast<std::size_t>(got));
    return data;
}

std::string plain_socket::receive_until_eof() {
    std::string all;
    char buffer[65536];
    for (;;) {
        auto got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got == 0) {
            return all;
        }
        if (got < 0) {
            fail("recv after " + std::to_string(all.size()) + " bytes");
        }
        all.append(buffer, static_cast<std::size_t>(got));
    }
}

std::string plain_socket::receive_until_closed() {
    std::string all;
    char buffer[65536];
    for (;;) {
        auto got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got == 0 || (got < 0 && errno == ECONNRESET)) {
            return all;
        }
        if (got < 0) {
            fail("recv after " + std::to_string(all.size()) + " bytes");
        }
        all.append(buffer, static_cast<std::size_t>(got));
    }
}

void plain_socket::shutdown_send() {
    if (::shutdown(fd_, SHUT_WR) != 0) {
        fail("shutdown");
    }
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 generator(seed);
    std::string data(n, '\0');
    for (auto& c : data) {
        c = static_cast<char>(generator() & 0xff);
    }
    return data;
}

std::string all_byte_values() {
    std::string data(256, '\0');
    for (std::size_t i = 0; i < 256; ++i) {
        data[i] = static_cast<char>(i);
    }
    return data;
}

bool ipv6_loopback_available() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&in6), sizeof in6) == 0;
    ::close(fd);
    return ok;
}

} // namespace asio_echo::test
