// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/accept_loop.hpp"

#include <chrono>

#include "asio_echo/coro.hpp"
#include "asio_echo/log.hpp"

namespace asio_echo {

namespace {

/// Lines traffic can trigger: one per 10 s each for every accept loop together, however many
/// clients come.
log_limiter accept_failure_lines;
log_limiter accept_recovery_lines;

} // namespace

boost::asio::awaitable<void> accept_backoff::failed(const boost::system::error_code& ec,
                                                    boost::asio::steady_timer& pause) {
    if (failures_++ == 0) {
        accept_failure_lines.log(log_level::warn, [&] {
            return prefix_ + "accept failed: " + ec.message() + "; retrying";
        });
    }
    pause.expires_after(std::chrono::milliseconds(100));
    co_await pause.async_wait(nothrow);
}

void accept_backoff::accepted() {
    if (failures_ > 0) {
        accept_recovery_lines.log(log_level::notice, [&] {
            return prefix_ + "accepting again after " + std::to_string(failures_) + " failures";
        });
        failures_ = 0;
    }
}

} // namespace asio_echo
