// SPDX-License-Identifier: BSL-1.0
#pragma once
// The client's own failures: a check that did not pass (no reply, a mismatch, errors or losses
// under load), output that could not be written, and a local OS limit.

#include <stdexcept>

namespace asio_echo::client {

/// A failed check: main prints the message and exits 1 (exit_check_failed).
class check_failed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// stdout could not be written: exit 1 too (the check's result never reached its reader).
class output_error : public check_failed {
public:
    using check_failed::check_failed;
};

/// A local OS resource ran out (the descriptor limit): main exits 71 (exit_os_error).
class os_failure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace asio_echo::client
