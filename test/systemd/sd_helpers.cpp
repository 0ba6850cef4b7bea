// SPDX-License-Identifier: BSL-1.0
#include "sd_helpers.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/framework.hpp>
#include <boost/test/unit_test_log.hpp>

extern char** environ;

namespace asio_echo::test::sd {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

int milliseconds_until(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

//----------------------------------------------------------------------------------------------

temp_dir::temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/asio-echo-sd-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
        fail("mkdtemp " + pattern);
    }
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
        throw std::runtime_error("cannot write " + path);
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void stage_unit(const std::string& source_dir, const std::string& name, const std::string& server,
                const temp_dir& dir) {
    const std::string installed = "/usr/bin/echo-server";
    auto unit = read_file(source_dir + "/systemd/" + name);
    for (auto at = unit.find(installed); at != std::string::npos;
         at = unit.find(installed, at + server.size())) {
        unit.replace(at, installed.size(), server);
    }
    write_file(dir.path() + "/" + name, unit);
}

//----------------------------------------------------------------------------------------------

notify_listener::notify_listener(std::string address) : address_(std::move(address)) {
    sockaddr_un where{};
    where.sun_family = AF_UNIX;
    if (address_.empty() || address_.size() >= sizeof where.sun_path) {
        throw std::runtime_error("bad notify socket address '" + address_ + "'");
    }
    std::memcpy(where.sun_path, address_.data(), address_.size());
    if (address_.front() == '@') {
        where.sun_path[0] = '\0';
    } else {
        path_ = address_;
    }
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        fail("socket(AF_UNIX)");
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&where), length) != 0) {
        int saved = errno;
        ::close(fd_);
        errno = saved;
        fail("bind " + address_);
    }
}

notify_listener::~notify_listener() {
    ::close(fd_);
    if (!path_.empty()) {
        ::unlink(path_.c_str());
    }
}

std::optional<std::string> notify_listener::receive(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd ready{fd_, POLLIN, 0};
        int n = ::poll(&ready, 1, milliseconds_until(deadline));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;
        }
        char buffer[4096];
        auto got = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            fail("recv on notify socket");
        }
        std::string message(buffer, static_cast<std::size_t>(got));
        history_.emplace_back(std::chrono::steady_clock::now(), message);
        return message;
    }
}

std::optional<std::string> notify_listener::wait_for(const std::string& message,
                                                     std::chrono::milliseconds timeout,
                                                     bool prefix_match) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto got = receive(std::chrono::milliseconds(milliseconds_until(deadline)));
        if (!got) {
            return std::nullopt;
        }
        if (*got == message || (prefix_match && starts_with(*got, message))) {
            return got;
        }
    }
    return std::nullopt;
}

//----------------------------------------------------------------------------------------------

bound_socket::bound_socket(bool stream, const std::string& address) {
    bool v6 = address.find(':') != std::string::npos;
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        ::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr);
        length = sizeof(sockaddr_in6);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        ::inet_pton(AF_INET, address.c_str(), &in->sin_addr);
        length = sizeof(sockaddr_in);
    }
    fd = ::socket(storage.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket");
    }
    if (v6) {
        // "::" is dual-stack, as systemd's BindIPv6Only=both makes it; any other IPv6 only.
        int only = address == "::" ? 0 : 1;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
        (stream && ::listen(fd, 128) != 0)) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("bind/listen " + address + ":0");
    }
    length = sizeof storage;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
    port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

bound_socket::~bound_socket() {
    if (fd >= 0) {
        ::close(fd);
    }
}

//----------------------------------------------------------------------------------------------

child_process::started activated_child::start(const std::string& program,
                                              const std::vector<std::string>& args,
                                              const std::vector<int>& fds,
                                              const std::vector<std::string>& extra_env,
                                              bool set_listen_pid) {
    // Everything the child needs is prepared here: after fork only async-signal-safe calls.
    auto argv = argv_of(program, args);
    std::vector<std::string> added = extra_env;
    if (set_listen_pid) {
        // Room for the child's own pid, written after fork.
        added.push_back("LISTEN_PID=" + std::string(24, '\0'));
    }
    auto envp = environment_with(added, [](const std::string& entry) {
        return !starts_with(entry, "LISTEN_") && !starts_with(entry, "NOTIFY_SOCKET=") &&
               !starts_with(entry, "WATCHDOG_");
    });
    std::size_t pid_entry = envp.size() - 1; // the last entry, when set_listen_pid

    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
        fail("pipe");
    }
    int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dev_null < 0) {
        fail("open /dev/null");
    }

    pid_t pid = ::fork();
    if (pid < 0) {
        fail("fork");
    }
    if (pid == 0) {
        // Lift every descriptor out of the way first (a source may sit at 3 or 4 already),
        // then dup2 into place; dup2 clears close-on-exec on the copy only.
        constexpr int high = 100;
        int out_high = ::fcntl(out_pipe[1], F_DUPFD_CLOEXEC, high);
        int err_high = ::fcntl(err_pipe[1], F_DUPFD_CLOEXEC, high);
        int null_high = ::fcntl(dev_null, F_DUPFD_CLOEXEC, high);
        int lifted[64];
        std::size_t count = std::min<std::size_t>(fds.size(), 64);
        for (std::size_t i = 0; i < count; ++i) {
            lifted[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, high);
        }
        if (out_high < 0 || err_high < 0 || null_high < 0 || ::dup2(null_high, 0) < 0 ||
            ::dup2(out_high, 1) < 0 || ::dup2(err_high, 2) < 0) {
            ::_exit(126);
        }
        for (std::size_t i = 0; i < count; ++i) {
            if (lifted[i] < 0 || ::dup2(lifted[i], 3 + static_cast<int>(i)) < 0) {
                ::_exit(126);
            }
        }
        if (set_listen_pid) {
            // LISTEN_PID=<getpid()>, written by hand: snprintf is not async-signal-safe.
            char digits[24];
            int n = 0;
            for (auto pid = static_cast<unsigned long>(::getpid()); n == 0 || pid > 0; pid /= 10) {
                digits[n++] = static_cast<char>('0' + pid % 10);
            }
            char* out = envp.data()[pid_entry] + std::strlen("LISTEN_PID=");
            while (n > 0) {
                *out++ = digits[--n];
            }
            *out = '\0';
        }
        ::execve(argv.data()[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(dev_null);
    return {pid, out_pipe[0], err_pipe[0]};
}

//----------------------------------------------------------------------------------------------

std::optional<std::string> find_program(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return ::access(program.c_str(), X_OK) == 0 ? std::optional(program) : std::nullopt;
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        auto end = dirs.find(':', start);
        auto dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) {
            return dir + "/" + program;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return std::nullopt;
}

boost::test_tools::assertion_result
program_installed::operator()(boost::unit_test::test_unit_id id) const {
    boost::test_tools::assertion_result found(find_program(program).has_value());
    if (!found) {
        std::string why = program + " is not installed";
        found.message() << why;
        // Boost.Test reports a skip only at --log_level=test_suite; say why at message level.
        BOOST_TEST_MESSAGE(
            "skipped: "
            << boost::unit_test::framework::get(id, boost::unit_test::TUT_ANY).p_name.get() << ": "
            << why);
    }
    return found;
}

std::string sh_quoted(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

run_result run_shell(const std::string& script, std::chrono::milliseconds timeout) {
    child_process shell("/bin/sh", {"-c", script});
    auto code = shell.wait_exit(timeout);
    if (!code) {
        throw std::runtime_error("did not finish within " + std::to_string(timeout.count() / 1000) +
                                 " s: " + script);
    }
    return {*code, shell.out(), shell.err()};
}

std::optional<built_packages> find_built_packages(const std::string& dir) {
    std::vector<std::string> servers;
    std::vector<std::string> clients;
    if (std::filesystem::is_directory(dir)) {
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            auto name = entry.path().filename().string();
            if (entry.path().extension() != ".deb") {
                continue;
            }
            if (name.rfind("asio-echo-client_", 0) == 0) {
                clients.push_back(entry.path().string());
            } else if (name.rfind("asio-echo_", 0) == 0) {
                servers.push_back(entry.path().string());
            }
        }
    }
    if (servers.empty() && clients.empty()) {
        return std::nullopt;
    }
    if (servers.size() != 1 || clients.size() != 1) {
        throw std::runtime_error(dir + " holds " + std::to_string(servers.size()) +
                                 " asio-echo and " + std::to_string(clients.size()) +
                                 " asio-echo-client packages, not one of each");
    }
    return built_packages{servers.front(), clients.front()};
}

std::string deb_field(const std::string& deb, const std::string& name) {
    auto field = run_shell("exec dpkg-deb -f " + sh_quoted(deb) + " " + sh_quoted(name),
                           std::chrono::seconds(30));
    if (field.code != 0) {
        throw std::runtime_error("dpkg-deb -f " + deb + " " + name + ": " + field.err);
    }
    auto text = field.out;
    text.erase(text.find_last_not_of('\n') + 1);
    return text;
}

std::optional<std::string> port_in_use(std::uint16_t port) {
    for (bool stream : {true, false}) {
        const char* kind = stream ? "tcp" : "udp";
        int type = (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC;
        bool v6 = true;
        int fd = ::socket(AF_INET6, type, 0);
        if (fd < 0) {
            v6 = false;
            fd = ::socket(AF_INET, type, 0);
        }
        if (fd < 0) {
            return std::string(kind) + ": socket: " + std::strerror(errno);
        }
        int off = 0;
        int on = 1;
        if (v6) {
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        }
        if (stream) {
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        }
        sockaddr_storage storage{};
        socklen_t length = 0;
        if (v6) {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = in6addr_any;
            in6->sin6_port = htons(port);
            length = sizeof(sockaddr_in6);
        } else {
            auto* in = reinterpret_cast<sockaddr_in*>(&storage);
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(INADDR_ANY);
            in->sin_port = htons(port);
            length = sizeof(sockaddr_in);
        }
        int result = ::bind(fd, reinterpret_cast<sockaddr*>(&storage), length);
        int saved = errno;
        ::close(fd);
        if (result != 0) {
            return std::string(kind) + ": " + std::strerror(saved);
        }
    }
    return std::nullopt;
}

} // namespace asio_echo::test::sd
