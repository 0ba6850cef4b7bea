// SPDX-License-Identifier: BSL-1.0
#pragma once
// Start-up failures and the exit codes main maps them to (sysexits.h numbering).

#include <stdexcept>
#include <string>

#include "asio_echo/printable.hpp"

namespace asio_echo {

/// Exit codes of both programs; documented in the README and the man pages.
enum exit_code : int {
    exit_ok = 0,           ///< success, also after a signal and drain
    exit_check_failed = 1, ///< client: no reply, mismatch
    exit_usage = 64,       ///< bad option, endpoint, value or config file (EX_USAGE)
    exit_unavailable = 69, ///< cannot bind or listen; client cannot connect (EX_UNAVAILABLE)
    exit_os_error = 71,    ///< threads, signals or another OS call failed at start-up (EX_OSERR)
};

/// A bad command-line or config value. The message names the problem and the offending value;
/// it is kept printable(), so what() is one line whatever the value held.
class usage_error : public std::runtime_error {
public:
    explicit usage_error(const std::string& message) : std::runtime_error(printable(message)) {}
};

/// A listener could not be set up (resolve, open, bind, listen): exit 69.
/// The message names the protocol, the address and the reason (kept printable(), as above).
class unavailable_error : public std::runtime_error {
public:
    explicit unavailable_error(const std::string& message)
        : std::runtime_error(printable(message)) {}
};

} // namespace asio_echo
