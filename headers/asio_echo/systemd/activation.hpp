// SPDX-License-Identifier: BSL-1.0
#pragma once
// Socket activation: the listening sockets systemd passes (sd_listen_fds(3) protocol).

#include <string>
#include <vector>

namespace asio_echo::systemd {

/// One passed socket.
struct passed_socket {
    int fd;           ///< descriptor, 3 and up; close-on-exec set
    bool stream;      ///< SOCK_STREAM (TCP listener) or else SOCK_DGRAM (UDP)
    std::string name; ///< from $LISTEN_FDNAMES, "unknown" when absent
};

/// Takes the sockets passed when $LISTEN_PID is this process and $LISTEN_FDS is set, and
/// unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so children do not inherit them. Returns
/// nothing when the process was not socket-activated. Throws usage_error when the variables
/// are malformed or a descriptor is not a socket. Not thread safe (environment).
std::vector<passed_socket> take_passed_sockets();

} // namespace asio_echo::systemd
