// SPDX-License-Identifier: BSL-1.0
#pragma once
// Where the packages put each file on the system they are installed on, from the install
// directories the build passes to the package tests (CMAKE_INSTALL_BINDIR,
// CMAKE_INSTALL_MANDIR, ASIO_ECHO_CONFIG_DIR): debian/rules installs under the prefix /usr,
// absolute directories stay as they are, and the units go to /lib/systemd/system (bookworm's
// unit folder, which debian/rules names).

#include <string>
#include <vector>

namespace asio_echo::test::sd::packaged {

/// An install directory as the package has it: absolute, or under /usr.
inline std::string path(const std::string& directory) {
    return !directory.empty() && directory.front() == '/' ? directory : "/usr/" + directory;
}

inline const std::string bin_dir = path(CMAKE_INSTALL_BINDIR);
inline const std::string unit_dir = "/lib/systemd/system";
inline const std::string man_dir = path(CMAKE_INSTALL_MANDIR);
inline const std::string config_dir = ASIO_ECHO_CONFIG_DIR;
inline const std::string config = config_dir + "/echo-server.conf";

/// Every file a deployment needs from the two packages: the programs, the units, the config
/// (the conffile) and the man pages.
inline std::vector<std::string> files() {
    return {bin_dir + "/echo-server",           bin_dir + "/echo-client",
            unit_dir + "/echo-server.service",  unit_dir + "/echo-server-standalone.service",
            unit_dir + "/echo-server.socket",   config,
            man_dir + "/man8/echo-server.8.gz", man_dir + "/man1/echo-client.1.gz"};
}

} // namespace asio_echo::test::sd::packaged
