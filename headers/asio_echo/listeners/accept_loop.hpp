// SPDX-License-Identifier: BSL-1.0
#pragma once
// What every accept loop shares, whatever it serves: where each accepted connection runs, and
// the back-off when accepting fails. Listeners include this, never one another.

#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace asio_echo {

/// Picks the executor each accepted connection will run on (round-robin over the pool).
template <class Executor>
using executor_picker = std::function<Executor()>;

/// What an accept loop does when accepting fails (EMFILE, ENFILE, ENOBUFS, ENOMEM,
/// ECONNABORTED): the listener is fine, the moment is not. The first failure of a burst is
/// logged, every retry waits 100 ms so that the loop never spins, and the first connection
/// accepted after a burst logs how many failures it ended; each of the two lines at most
/// once per 10 s (clients can cause the bursts).
class accept_backoff {
public:
    /// `prefix` starts the log lines ("" or "metrics: ").
    explicit accept_backoff(std::string prefix) : prefix_(std::move(prefix)) {}

    /// Logs the failure if it starts a burst, then waits on `pause` before the next try.
    boost::asio::awaitable<void> failed(const boost::system::error_code& ec,
                                        boost::asio::steady_timer& pause);

    /// A connection was accepted: ends the burst, if any.
    void accepted();

private:
    std::string prefix_;
    unsigned failures_ = 0;
};

} // namespace asio_echo
