#pragma once
// The client's own failure: a check that did not pass (no reply, a mismatch, errors under load).

#include <stdexcept>

namespace asio_echo::client {

/// A failed check: main prints the message and exits 1 (exit_check_failed).
class check_failed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace asio_echo::client
