// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/systemd/notify.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "asio_echo/errors.hpp"

namespace asio_echo::systemd {

namespace {

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

} // namespace

notifier::notifier() : notifier(env_or_empty("NOTIFY_SOCKET")) {
    // The watchdog applies to us only when WATCHDOG_PID is unset or names this process.
    auto usec = env_or_empty("WATCHDOG_USEC");
    auto pid = env_or_empty("WATCHDOG_PID");
    // Digits only: strtoull alone would take "-5" for a huge number.
    bool digits = !usec.empty() && usec.find_first_not_of("0123456789") == std::string::npos;
    if (digits && (pid.empty() || pid == std::to_string(::getpid()))) {
        errno = 0;
        auto value = std::strtoull(usec.c_str(), nullptr, 10);
        if (errno == 0 && value > 0) {
            // At least 1 ms: a tiny WATCHDOG_USEC must not make the status loop spin.
            watchdog_interval_ =
                std::chrono::microseconds(std::max<unsigned long long>(value / 2, 1000));
        }
    }
}

notifier::notifier(std::string socket_path) {
    if (socket_path.empty()) {
        return;
    }
    if (socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        throw usage_error("NOTIFY_SOCKET path too long: '" + socket_path + "'");
    }
    if (socket_path.front() == '@') {
        socket_path.front() = '\0'; // abstract namespace
    } else if (socket_path.front() != '/') {
        throw usage_error("NOTIFY_SOCKET is neither a path nor '@name': '" + socket_path + "'");
    }
    address_ = std::move(socket_path);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw std::system_error(errno, std::system_category(), "cannot create notify socket");
    }
}

notifier::~notifier() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool notifier::notify(std::string_view state) const noexcept {
    if (fd_ < 0) {
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, address_.data(), address_.size());
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    auto sent = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&address), length);
    return sent == static_cast<ssize_t>(state.size());
}

} // namespace asio_echo::systemd
