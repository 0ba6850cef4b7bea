// SPDX-License-Identifier: BSL-1.0
#pragma once
// Where the .deb puts each file on the system it is installed on, from the install
// directories the build passes to the package tests (CMAKE_INSTALL_BINDIR,
// ASIO_ECHO_SYSTEMD_UNIT_DIR, CMAKE_INSTALL_MANDIR, ASIO_ECHO_CONFIG_DIR): cpack installs
// under the prefix /usr, and absolute directories stay as they are.

#include <string>
#include <vector>

namespace asio_echo::test::sd::packaged {

/// An install directory as the package has it: absolute, or under /usr.
inline std::string path(const std::string& directory) {
    return !directory.empty() && directory.front() == '/' ? directory : "/usr/" + directory;
}

inline const std::string bin_dir = path(CMAKE_INSTALL_BINDIR);
inline const std::string unit_dir = path(ASIO_ECHO_SYSTEMD_UNIT_DIR);
inline const std::string man_dir = path(CMAKE_INSTALL_MANDIR);
inline const std::string config_dir = ASIO_ECHO_CONFIG_DIR;
inline const std::string config = config_dir + "/echo-server.conf";

/// Every file a deployment needs from the package: the programs, both units, the config
/// (the conffile) and the man pages.
inline std::vector<std::string> files() {
    return {bin_dir + "/echo-server",
            bin_dir + "/echo-client",
            unit_dir + "/echo-server.service",
            unit_dir + "/echo-server.socket",
            config,
            man_dir + "/man8/echo-server.8.gz",
            man_dir + "/man1/echo-client.1.gz"};
}

} // namespace asio_echo::test::sd::packaged
