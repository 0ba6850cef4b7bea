// SPDX-License-Identifier: BSL-1.0
#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace asio_echo::test {

c_string_array::c_string_array(std::vector<std::string> strings) : strings_(std::move(strings)) {
    for (auto& s : strings_) {
        pointers_.push_back(s.data());
    }
    pointers_.push_back(nullptr);
}

c_string_array argv_of(const std::string& program, const std::vector<std::string>& args) {
    std::vector<std::string> text = args;
    text.insert(text.begin(), program);
    return c_string_array(std::move(text));
}

c_string_array environment_with(const std::vector<std::string>& extra,
                                bool (*keep)(const std::string& entry)) {
    std::vector<std::string> text;
    for (char** e = environ; *e; ++e) {
        std::string entry = *e;
        if (!keep || keep(entry)) {
            text.push_back(std::move(entry));
        }
    }
    text.insert(text.end(), extra.begin(), extra.end());
    return c_string_array(std::move(text));
}

namespace {

void check(int result, const char* what) {
    if (result != 0) {
        throw std::runtime_error(std::string(what) + ": " + std::strerror(result));
    }
}

} // namespace

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::vector<std::string>& extra_env, bool keep_stdin) {
    int out_pipe[2];
    int err_pipe[2];
    int in_pipe[2] = {-1, -1};
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        (keep_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0)) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (keep_stdin) {
        posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

    auto argv = argv_of(program, args);
    auto envp = environment_with(extra_env);
    int result = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (keep_stdin) {
        ::close(in_pipe[0]);
        in_fd_ = in_pipe[1];
    }
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    check(result, ("spawn " + program).c_str());
}

child_process::child_process(started child)
    : pid_(child.pid), out_fd_(child.out_fd), err_fd_(child.err_fd) {}

child_process::~child_process() {
    if (!exit_code_ && pid_ > 0) {
        // Only the child we started, by its PID.
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    for (int fd : {out_fd_, err_fd_, in_fd_}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

bool child_process::pump(std::chrono::steady_clock::time_point deadline) {
    // Reads whatever is available on stdout/stderr, waiting at most until the deadline.
    // Returns false when both are closed.
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) {
        return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int wait_ms = static_cast<int>(std::max<long long>(0, left.count()));
    int ready = ::poll(fds, 2, wait_ms);
    if (ready <= 0) {
        return true;
    }
    char buffer[65536];
    for (int i = 0; i < 2; ++i) {
        if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
            auto n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                (i == 0 ? out_ : err_).append(buffer, static_cast<std::size_t>(n));
            } else {
                ::close(fds[i].fd);
                (i == 0 ? out_fd_ : err_fd_) = -1;
            }
        }
    }
    return true;
}

std::optional<std::string> child_process::wait_for_stderr_line(const std::string& needle,
                                                               std::chrono::milliseconds timeout) {
    auto lines = wait_for_stderr_lines(needle, 1, timeout);
    if (lines.empty()) {
        return std::nullopt;
    }
    return lines.front();
}

std::vector<std::string> child_process::wait_for_stderr_lines(const std::string& needle,
                                                              std::size_t count,
                                                              std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Complete lines only, so a half-written line is never taken for a match.
        std::vector<std::string> found;
        std::size_t start = 0;
        for (auto end = err_.find('\n'); end != std::string::npos; end = err_.find('\n', start)) {
            auto line = err_.substr(start, end - start);
            if (line.find(needle) != std::string::npos) {
                found.push_back(line);
            }
            start = end + 1;
        }
        if (found.size() >= count || std::chrono::steady_clock::now() >= deadline || err_fd_ < 0) {
            return found;
        }
        pump(deadline);
    }
}

void child_process::write_stdin(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        auto n = ::write(in_fd_, data.data() + done, data.size() - done);
        if (n <= 0) {
            throw std::runtime_error(std::string("write to child: ") + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

void child_process::close_stdin() {
    if (in_fd_ >= 0) {
        ::close(in_fd_);
        in_fd_ = -1;
    }
}

void child_process::send_signal(int signal_number) {
    if (!exit_code_) {
        ::kill(pid_, signal_number);
    }
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_) {
        int status = 0;
        auto reaped = ::waitpid(pid_, &status, WNOHANG);
        if (reaped == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return std::nullopt;
        }
        if (out_fd_ < 0 && err_fd_ < 0) {
            // Nothing left to read: block in waitpid in short steps toward the deadline.
            pollfd none{-1, 0, 0};
            ::poll(&none, 0, 5);
        } else {
            pump(std::min(deadline, now + std::chrono::milliseconds(5)));
        }
    }
    // Collect what the child wrote before it exited (bounded: a grandchild could hold the pipes).
    auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while ((out_fd_ >= 0 || err_fd_ >= 0) && std::chrono::steady_clock::now() < drain_deadline) {
        pump(drain_deadline);
    }
    return exit_code_;
}

run_result run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env) {
    child_process child(program, args, extra_env);
    auto code = child.wait_exit(std::chrono::seconds(10));
    if (!code) {
        throw std::runtime_error(program + " did not exit within 10 s");
    }
    return {*code, child.out(), child.err()};
}

run_result run_with_input(const std::string& program, const std::vector<std::string>& args,
                          const std::string& input) {
    child_process child(program, args, {}, true);
    std::thread writer([&] {
        try {
            child.write_stdin(input);
        } catch (const std::exception&) {
            // The child exited before reading everything; its exit code tells why.
        }
        child.close_stdin();
    });
    auto code = child.wait_exit(std::chrono::seconds(30));
    if (!code) {
        child.send_signal(SIGKILL); // unblocks the writer (EPIPE); the destructor reaps
    }
    writer.join();
    if (!code) {
        throw std::runtime_error(program + " did not exit within 30 s");
    }
    return {*code, child.out(), child.err()};
}

} // namespace asio_echo::test
