// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the service manager hears (over systemd/notify): READY=1, STATUS= lines every 5 s,
// WATCHDOG=1 heartbeats while every io_context answers, RELOADING=1 and STOPPING=1. The only
// room that talks to it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "asio_echo/io_pool.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/systemd/notify.hpp"

namespace asio_echo {

/// Reports a server's state to the service manager; does nothing when there is none.
class service_status {
public:
    /// Where the reports run: a strand, so they never run concurrently with the rest of the
    /// server's housekeeping.
    using executor = boost::asio::strand<boost::asio::io_context::executor_type>;

    /// Reads $NOTIFY_SOCKET and $WATCHDOG_USEC. Throws std::system_error when the notify
    /// socket cannot be created, usage_error when the variable is malformed.
    service_status(const stats& counters, io_pool& pool, executor reports);
    service_status(const service_status&) = delete;
    service_status& operator=(const service_status&) = delete;

    /// Starts STATUS= every 5 s and, when the watchdog is on, WATCHDOG=1 at half its
    /// interval but only while every io_context of the pool runs its handlers; until
    /// stopping(). Not thread safe; call before the pool starts.
    void start();

    /// READY=1 with the first STATUS=: every listener listens. Thread safe.
    void ready() const;

    /// RELOADING=1 (with MONOTONIC_USEC): a reload begins. Thread safe.
    void reloading() const;

    /// READY=1 again: the reload is done. Thread safe.
    void reloaded() const;

    /// STOPPING=1 with the number of connections being drained; ends the reports.
    /// Thread safe.
    void stopping(std::size_t connections);

private:
    boost::asio::awaitable<void> report();
    std::string status_line() const;

    const stats& counters_;                              ///< what STATUS= sums up
    io_pool& pool_;                                      ///< the io_contexts the watchdog checks
    systemd::notifier notifier_;                         ///< the service manager, if any
    boost::asio::steady_timer timer_;                    ///< paces report(), on the strand
    std::vector<std::atomic<std::uint64_t>> heartbeats_; ///< last round each io_context ran
    std::atomic<bool> stopping_{false};                  ///< stopping() ran
};

} // namespace asio_echo
