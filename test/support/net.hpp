// SPDX-License-Identifier: BSL-1.0
#pragma once
// Plain blocking sockets for tests, each with a receive/send deadline, so a missing reply
// fails the test instead of hanging it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace asio_echo::test {

/// A connected TCP or UDP socket (loopback only in these tests). Not thread safe.
class plain_socket {
public:
    /// Connects a TCP socket to address:port; throws on failure.
    static plain_socket tcp(const std::string& address, std::uint16_t port);
    /// The same, connecting from source_address (any port): a client of another address.
    static plain_socket tcp_from(const std::string& source_address, const std::string& address,
                                 std::uint16_t port);
    /// A UDP socket connected to address:port (so it receives only that peer's datagrams).
    static plain_socket udp(const std::string& address, std::uint16_t port);
    /// The same, sending from source_address:source_port (port 0: any). Throws when the
    /// source cannot be bound (errno kept, e.g. EACCES for a privileged port).
    static plain_socket udp_from(const std::string& source_address, std::uint16_t source_port,
                                 const std::string& address, std::uint16_t port);

    /// The local port (after connect or bind).
    std::uint16_t local_port() const;

    plain_socket(plain_socket&& other) noexcept;
    plain_socket& operator=(plain_socket&& other) noexcept;
    ~plain_socket();

    /// Sets how long each send/receive may block (default 10 s).
    void set_timeout(std::chrono::milliseconds timeout);

    /// Sends every byte (TCP) or one datagram (UDP); throws on error or timeout.
    void send_all(const std::string& data);

    /// Receives exactly n bytes (TCP); throws on EOF, error or timeout.
    std::string receive_exactly(std::size_t n);

    /// Receives up to max bytes: one read or one datagram. Nothing on timeout; "" at EOF.
    std::optional<std::string> receive_some(std::size_t max = 65536);

    /// Receives until EOF; throws on error or timeout.
    std::string receive_until_eof();

    /// What the peer sends before it closes, with EOF or a reset ("" for a connection closed
    /// without an answer); throws on another error or a timeout.
    std::string receive_until_closed();

    /// Shuts down the sending side (TCP half-close).
    void shutdown_send();

    /// The descriptor, for poll() or socket options.
    int fd() const { return fd_; }

private:
    explicit plain_socket(int fd);
    int fd_;
};

/// Random bytes from a seeded generator (the seed goes in failure messages).
std::string random_bytes(std::size_t n, std::uint64_t seed);

/// Every byte value 0..255 once, in order.
std::string all_byte_values();

/// True when ::1 can be bound here (IPv6 tests skip with a message otherwise).
bool ipv6_loopback_available();

} // namespace asio_echo::test
