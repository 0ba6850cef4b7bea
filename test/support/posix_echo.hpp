// SPDX-License-Identifier: BSL-1.0
#pragma once
// Echo servers for client tests that share nothing with echo-server: plain blocking POSIX
// sockets, one thread per connection. A client defect cannot hide behind a server defect of
// the same shape, and a test can have a server misbehave on purpose.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace asio_echo::test {

/// A socket bound to 127.0.0.1:0; throws on failure.
inline int bound_loopback(int type) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error("cannot bind a loopback test socket");
    }
    return fd;
}

inline std::uint16_t local_port_of(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

/// TCP on 127.0.0.1, port 0. echo: every byte back, half-close at EOF. silent: accepts, never
/// reads or answers (a stalled server). sink: reads everything, answers nothing. Stops and
/// joins on destruction.
class posix_tcp_echo {
public:
    enum class kind { echo, silent, sink };

    explicit posix_tcp_echo(kind k = kind::echo)
        : kind_(k), listener_(bound_loopback(SOCK_STREAM)) {
        ::listen(listener_, 64);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~posix_tcp_echo() {
        stopping_ = true;
        ::shutdown(listener_, SHUT_RDWR); // wakes accept()
        acceptor_.join();
        std::lock_guard lock(mutex_);
        for (int fd : connections_) {
            ::shutdown(fd, SHUT_RDWR); // wakes the echo threads' read()
        }
        for (auto& t : threads_) {
            t.join();
        }
        for (int fd : connections_) {
            ::close(fd);
        }
        ::close(listener_);
    }

    posix_tcp_echo(const posix_tcp_echo&) = delete;
    posix_tcp_echo& operator=(const posix_tcp_echo&) = delete;

    std::uint16_t port() const { return local_port_of(listener_); }

    /// Bytes read so far, by all connections. Thread safe.
    std::uint64_t bytes_in() const { return bytes_in_.load(); }

private:
    void accept_loop() {
        while (!stopping_) {
            int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) {
                    continue;
                }
                return;
            }
            std::lock_guard lock(mutex_);
            connections_.push_back(fd);
            if (kind_ != kind::silent) {
                threads_.emplace_back([this, fd] { serve(fd); });
            }
        }
    }

    void serve(int fd) {
        auto buffer = std::make_unique<char[]>(64 * 1024);
        for (;;) {
            auto n = ::read(fd, buffer.get(), 64 * 1024);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                ::shutdown(fd, SHUT_WR);
                return;
            }
            bytes_in_ += static_cast<std::uint64_t>(n);
            if (kind_ == kind::sink) {
                continue;
            }
            for (ssize_t done = 0; done < n;) {
                auto w = ::write(fd, buffer.get() + done, static_cast<std::size_t>(n - done));
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w <= 0) {
                    return;
                }
                done += w;
            }
        }
    }

    kind kind_;
    int listener_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<int> connections_;
    std::vector<std::thread> threads_;
};

/// UDP on 127.0.0.1, port 0: answers every datagram except each drop_every-th (0: none).
class posix_udp_echo {
public:
    explicit posix_udp_echo(unsigned drop_every = 0)
        : drop_every_(drop_every), socket_(bound_loopback(SOCK_DGRAM)) {
        timeval tick{0, 50'000}; // so the loop sees stopping_
        ::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        thread_ = std::thread([this] { loop(); });
    }

    ~posix_udp_echo() {
        stopping_ = true;
        thread_.join();
        ::close(socket_);
    }

    posix_udp_echo(const posix_udp_echo&) = delete;
    posix_udp_echo& operator=(const posix_udp_echo&) = delete;

    std::uint16_t port() const { return local_port_of(socket_); }

    /// Datagrams received so far. Thread safe.
    std::uint64_t received() const { return received_.load(); }

private:
    void loop() {
        auto buffer = std::make_unique<char[]>(65536);
        while (!stopping_) {
            sockaddr_in from{};
            socklen_t length = sizeof from;
            auto n = ::recvfrom(socket_, buffer.get(), 65536, 0, reinterpret_cast<sockaddr*>(&from),
                                &length);
            if (n < 0) {
                continue;
            }
            auto k = ++received_;
            if (drop_every_ == 0 || k % drop_every_ != 0) {
                ::sendto(socket_, buffer.get(), static_cast<std::size_t>(n), 0,
                         reinterpret_cast<sockaddr*>(&from), length);
            }
        }
    }

    unsigned drop_every_;
    int socket_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> received_{0};
    std::thread thread_;
};

} // namespace asio_echo::test
