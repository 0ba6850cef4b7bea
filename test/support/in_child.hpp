// SPDX-License-Identifier: BSL-1.0
#pragma once
// A check run in a forked child, for tests that change what only a process of its own should
// (a private network namespace): the child reports through a pipe and its exit status.

#include <functional>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

namespace asio_echo::test {

/// The precondition of tests that make a network namespace (unshare --net): root.
struct can_make_network_namespaces {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        boost::test_tools::assertion_result result(::geteuid() == 0);
        result.message() << "needs root, to make a network namespace (unshare --net)";
        return result;
    }
};

/// What a check run by run_in_child() reported.
struct child_report {
    std::string problems;  ///< what check() returned or threw; empty when all was well
    bool exited_0 = false; ///< the child exited with status 0
};

/// Runs check() in a forked child (this process stays as it is) and returns its report.
/// Throws std::runtime_error when the child cannot be made.
inline child_report run_in_child(const std::function<std::string()>& check) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    pid_t child = ::fork();
    if (child < 0) {
        throw std::runtime_error("fork failed");
    }
    if (child == 0) {
        ::close(report[0]);
        std::string problems;
        try {
            problems = check();
        } catch (const std::exception& e) {
            problems = e.what();
        }
        if (!problems.empty()) {
            [[maybe_unused]] auto n = ::write(report[1], problems.data(), problems.size());
        }
        ::_exit(problems.empty() ? 0 : 1);
    }
    ::close(report[1]);
    child_report result;
    char buffer[512];
    for (ssize_t n; (n = ::read(report[0], buffer, sizeof buffer)) > 0;) {
        result.problems.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(report[0]);
    int status = 0;
    if (::waitpid(child, &status, 0) != child) {
        throw std::runtime_error("waitpid failed");
    }
    result.exited_0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return result;
}

} // namespace asio_echo::test
