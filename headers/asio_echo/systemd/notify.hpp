// SPDX-License-Identifier: BSL-1.0
#pragma once
// The sd_notify protocol, written here rather than linking libsystemd: it is one datagram to
// the socket named by $NOTIFY_SOCKET (abstract when it starts with '@'), a few dozen lines,
// and keeps the binary free of a dependency that containers and other inits lack.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace asio_echo::systemd {

/// Sends state lines ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1") to the service
/// manager named at construction. Does nothing when there is none. Thread safe (each call is
/// one sendto on a socket opened once).
class notifier {
public:
    /// Reads $NOTIFY_SOCKET (and $WATCHDOG_USEC/$WATCHDOG_PID) from the environment.
    /// Throws std::system_error when the variable is set but the socket cannot be created.
    notifier();
    /// Uses socket_path (a filesystem path, or "@name" for an abstract socket; empty: none).
    explicit notifier(std::string socket_path);
    ~notifier();
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    /// True when a service manager listens.
    bool enabled() const noexcept { return fd_ >= 0; }

    /// Sends state (newline-separated assignments). Returns false when it could not be sent
    /// (or there is no manager). Thread safe.
    bool notify(std::string_view state) const noexcept;

    /// Half of $WATCHDOG_USEC (at least 1 ms) when the watchdog is enabled for this process:
    /// how often to send WATCHDOG=1.
    std::optional<std::chrono::microseconds> watchdog_interval() const noexcept {
        return watchdog_interval_;
    }

private:
    int fd_ = -1;         ///< datagram socket, -1 when disabled
    std::string address_; ///< sockaddr_un path bytes ('\0' first for abstract)
    std::optional<std::chrono::microseconds> watchdog_interval_; ///< from $WATCHDOG_USEC
};

} // namespace asio_echo::systemd
