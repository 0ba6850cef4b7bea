// SPDX-License-Identifier: BSL-1.0
#pragma once
// Runs a program as a child process for out-of-process tests: captures stdout and stderr,
// waits for lines and exit with deadlines (never sleeps), and ends the child by its PID.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace asio_echo::test {

/// Strings kept alive with a null-terminated char* array over them, as exec and spawn take.
class c_string_array {
public:
    explicit c_string_array(std::vector<std::string> strings);
    c_string_array(const c_string_array&) = delete;
    c_string_array& operator=(const c_string_array&) = delete;
    char** data() { return pointers_.data(); }
    std::size_t size() const { return strings_.size(); }

private:
    std::vector<std::string> strings_;
    std::vector<char*> pointers_;
};

/// argv for program: itself, then args.
c_string_array argv_of(const std::string& program, const std::vector<std::string>& args);

/// This process's environment without the entries `keep` rejects, then extra.
c_string_array environment_with(const std::vector<std::string>& extra,
                                bool (*keep)(const std::string& entry) = nullptr);

/// One child process. Not thread safe.
class child_process {
public:
    /// Starts program with args (argv[0] is the program). extra_env entries "K=V" are added
    /// to the environment. stdin is /dev/null unless keep_stdin is set (then write_stdin()).
    child_process(const std::string& program, const std::vector<std::string>& args,
                  const std::vector<std::string>& extra_env = {}, bool keep_stdin = false);
    /// A child started elsewhere (say by fork, with descriptors arranged), and the read ends
    /// of the pipes on its stdout and stderr, owned from now on.
    struct started {
        pid_t pid;
        int out_fd;
        int err_fd;
    };
    explicit child_process(started child);

    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// The child's PID.
    pid_t pid() const { return pid_; }

    /// Waits until stderr holds a line containing needle; returns that line, or nothing when
    /// the deadline passes or the child closes stderr first.
    std::optional<std::string> wait_for_stderr_line(const std::string& needle,
                                                    std::chrono::milliseconds timeout);

    /// Waits until stderr holds count lines containing needle; returns all such lines seen
    /// (fewer than count when the deadline passes or stderr closes first).
    std::vector<std::string> wait_for_stderr_lines(const std::string& needle, std::size_t count,
                                                   std::chrono::milliseconds timeout);

    /// Writes to the child's stdin (keep_stdin must have been set); close_stdin() sends EOF.
    void write_stdin(const std::string& data);
    void close_stdin();

    /// Sends a signal to the child.
    void send_signal(int signal_number);

    /// Waits for the child to exit, collecting its output meanwhile. Returns its exit code
    /// (128 + N for death by signal N), or nothing when the deadline passes.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    /// Everything read so far from stdout / stderr.
    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

private:
    bool pump(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    int in_fd_ = -1;
    std::string out_;
    std::string err_;
    std::optional<int> exit_code_;
};

/// The port at the end of a "listening tcp 127.0.0.1:PORT" line.
inline std::uint16_t port_of(const std::string& line) {
    return static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

/// Runs a program to completion (10 s deadline) and returns {exit code, stdout, stderr}.
struct run_result {
    int code;
    std::string out;
    std::string err;
};
run_result run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env = {});

/// Runs a program to completion (30 s deadline, then SIGKILL and std::runtime_error) with input
/// on its stdin, written from a second thread while this one collects its output: a
/// full-duplex copy (echo-client's stream mode) needs both sides moving.
run_result run_with_input(const std::string& program, const std::vector<std::string>& args,
                          const std::string& input);

} // namespace asio_echo::test
