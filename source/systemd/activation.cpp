// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/systemd/activation.hpp"

#include <cstdlib>
#include <string_view>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asio_echo/errors.hpp"

namespace asio_echo::systemd {

namespace {

constexpr int first_passed_fd = 3; // SD_LISTEN_FDS_START

std::vector<std::string> split_names(std::string_view names) {
    std::vector<std::string> result;
    while (!names.empty()) {
        auto colon = names.find(':');
        result.emplace_back(names.substr(0, colon));
        if (colon == std::string_view::npos) {
            break;
        }
        names.remove_prefix(colon + 1);
    }
    return result;
}

} // namespace

std::vector<passed_socket> take_passed_sockets() {
    const char* pid_text = std::getenv("LISTEN_PID");
    if (!pid_text) {
        return {}; // the common case touches no environment (other threads may read it)
    }
    const char* fds_text = std::getenv("LISTEN_FDS");
    const char* names_text = std::getenv("LISTEN_FDNAMES");
    std::string pid = pid_text ? pid_text : "";
    std::string fds = fds_text ? fds_text : "";
    std::string names = names_text ? names_text : "";
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (pid.empty() || fds.empty() || pid != std::to_string(::getpid())) {
        return {};
    }
    char* end = nullptr;
    auto count = std::strtol(fds.c_str(), &end, 10);
    if (!end || *end != '\0' || count < 0 || count > 1024) {
        throw usage_error("invalid LISTEN_FDS '" + fds + "'");
    }
    auto name_list = split_names(names);
    std::vector<passed_socket> result;
    for (int i = 0; i < count; ++i) {
        int fd = first_passed_fd + i;
        int type = 0;
        socklen_t length = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
            throw usage_error("LISTEN_FDS names descriptor " + std::to_string(fd) +
                              ", which is not a socket");
        }
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        auto index = static_cast<std::size_t>(i);
        result.push_back(
            {fd, type == SOCK_STREAM, index < name_list.size() ? name_list[index] : "unknown"});
    }
    return result;
}

} // namespace asio_echo::systemd
