// SPDX-License-Identifier: BSL-1.0
#pragma once
// Helpers for the systemd tests: a temporary folder, the service manager's side of sd_notify
// (a bound AF_UNIX datagram socket), listening sockets on loopback port 0, and a child
// started the way systemd starts a socket-activated service (sockets as fds 3, 4, ... and
// LISTEN_PID equal to the child's own PID). Every wait has a deadline; nothing sleeps.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/tools/assertion_result.hpp>
#include <boost/test/tree/test_unit.hpp>

#include "child_process.hpp"

#include <sys/types.h>

namespace asio_echo::test::sd {

/// A fresh folder under $TMPDIR (else /tmp), removed with its contents at destruction.
/// Not thread safe.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    /// The folder's absolute path.
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// Writes text to a file (replacing it); throws on failure.
void write_file(const std::string& path, const std::string& text);

/// The whole file; throws when it cannot be read.
std::string read_file(const std::string& path);

/// Copies the unit systemd/<name> of source_dir into dir, with every /usr/bin/echo-server
/// replaced by server (systemd-analyze verify checks that ExecStart names an executable).
void stage_unit(const std::string& source_dir, const std::string& name, const std::string& server,
                const temp_dir& dir);

/// An AF_UNIX datagram socket bound where $NOTIFY_SOCKET will point: a path, or "@name" for
/// the abstract namespace. Keeps every datagram received, in order. Not thread safe.
class notify_listener {
public:
    explicit notify_listener(std::string address);
    ~notify_listener();
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;

    /// What NOTIFY_SOCKET must hold.
    const std::string& address() const { return address_; }

    /// One datagram, or nothing when the deadline passes first.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);

    /// Receives until a datagram equals `message` or, with prefix_match, starts with it;
    /// returns that datagram, or nothing at the deadline.
    std::optional<std::string> wait_for(const std::string& message,
                                        std::chrono::milliseconds timeout,
                                        bool prefix_match = false);

    /// Every datagram received so far, with its arrival time.
    const std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>>&
    history() const {
        return history_;
    }

private:
    int fd_ = -1;
    std::string address_;
    std::string path_; ///< the file to unlink, empty for abstract sockets
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> history_;
};

/// A listening TCP socket (SOCK_STREAM) or a bound UDP socket on address:0, close-on-exec.
/// An IPv6 address is IPv6-only, but "::", which is dual-stack (systemd's BindIPv6Only=both).
struct bound_socket {
    int fd = -1;
    std::uint16_t port = 0;
    bound_socket(bool stream, const std::string& address);
    ~bound_socket();
    bound_socket(const bound_socket&) = delete;
    bound_socket& operator=(const bound_socket&) = delete;
};

/// A child started as systemd starts a socket-activated service: fds[i] becomes descriptor
/// 3 + i, LISTEN_PID is set to the child's PID (when set_listen_pid), and extra_env is added
/// (LISTEN_FDS, LISTEN_FDNAMES, ...); LISTEN_* and NOTIFY_SOCKET of this process are not
/// inherited. stdin is /dev/null. Everything else (output, waits, signals, the kill by PID in
/// the destructor) is child_process's. Not thread safe.
class activated_child : public child_process {
public:
    activated_child(const std::string& program, const std::vector<std::string>& args,
                    const std::vector<int>& fds, const std::vector<std::string>& extra_env,
                    bool set_listen_pid = true)
        : child_process(start(program, args, fds, extra_env, set_listen_pid)) {}

private:
    static started start(const std::string& program, const std::vector<std::string>& args,
                         const std::vector<int>& fds, const std::vector<std::string>& extra_env,
                         bool set_listen_pid);
};

/// The path of an executable: program itself when it holds a '/', else the first match on
/// $PATH; nothing when there is none.
std::optional<std::string> find_program(const std::string& program);

/// A Boost.Test precondition: the case runs only where `program` is on $PATH, and is reported
/// as skipped, naming it, elsewhere.
///   BOOST_AUTO_TEST_CASE(name, *boost::unit_test::precondition(program_installed{"x"}))
struct program_installed {
    std::string program;
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const;
};

/// text quoted for sh: in single quotes, each ' written as '\''.
std::string sh_quoted(const std::string& text);

/// Runs a command line through /bin/sh -c to completion and returns {exit code, stdout,
/// stderr}; throws when it does not finish within timeout (the shell is then ended by PID).
run_result run_shell(const std::string& script, std::chrono::milliseconds timeout);

/// The binary packages dpkg-buildpackage made (scripts/build-deb, run by the CTest fixture
/// deb_build into the build tree's deb/ folder).
struct built_packages {
    std::string server; ///< asio-echo_<version>_<arch>.deb: echo-server, units, config
    std::string client; ///< asio-echo-client_<version>_<arch>.deb: echo-client
};

/// The packages in dir, or nothing when dir holds neither (deb_build skipped: no
/// dpkg-buildpackage here). Throws when only one of them is there, or more than one of a
/// name.
std::optional<built_packages> find_built_packages(const std::string& dir);

/// One control field of a .deb (`dpkg-deb -f`), without the trailing newline; throws when
/// dpkg-deb fails.
std::string deb_field(const std::string& deb, const std::string& name);

/// Why port cannot be taken on the wildcard address (TCP with SO_REUSEADDR, so connections
/// in TIME_WAIT do not count, then UDP; IPv6 with IPv4-mapped addresses, else IPv4), e.g.
/// "tcp: Address already in use"; nothing when both binds succeed.
std::optional<std::string> port_in_use(std::uint16_t port);

} // namespace asio_echo::test::sd
