// SPDX-License-Identifier: BSL-1.0
#pragma once
// A server's life after start(): signals (SIGINT and SIGTERM stop and drain, SIGHUP reloads),
// periodic housekeeping, and the stop: stop listening, drain the sessions, release the pool.
// The only room that knows signals.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "asio_echo/binding.hpp"
#include "asio_echo/config.hpp"
#include "asio_echo/connection_set.hpp"
#include "asio_echo/io_pool.hpp"
#include "asio_echo/service_status.hpp"

namespace asio_echo {

/// What a stop acts on. Owned by the server; outlives the lifecycle's work.
struct stop_env {
    const bound_sockets& sockets;                 ///< closed first
    connection_set& connections;                  ///< drained until the deadline
    connection_set& scrapes;                      ///< closed at once: nothing to finish
    const std::atomic<std::size_t>& accept_loops; ///< TCP accept loops still running
    service_status& status;                       ///< told STOPPING=1
    io_pool& pool;                                ///< released once all is closed
};

/// Signals, reload, housekeeping timers and the drain, all on one strand, so they never run
/// concurrently.
class lifecycle {
public:
    using executor = boost::asio::strand<boost::asio::io_context::executor_type>;

    /// config gives the drain timeout and what a reload re-reads.
    lifecycle(const server_config& config, executor housekeeping, stop_env env);
    lifecycle(const lifecycle&) = delete;
    lifecycle& operator=(const lifecycle&) = delete;

    /// Makes SIGINT and SIGTERM call stop() (a second one stop_now()), and SIGHUP reload().
    /// Throws std::system_error when the signals cannot be set up. Not thread safe.
    void handle_signals();

    /// Runs work every period on the strand until stop(); what names it in a failure line.
    /// Not thread safe; before the pool starts.
    void every(std::chrono::steady_clock::duration period, std::function<void()> work,
               const char* what);

    /// Runs work on every SIGHUP too, after the config is re-read, on the strand. Not thread
    /// safe; before the pool starts.
    void on_reload(std::function<void()> work) { reload_work_.push_back(std::move(work)); }

    /// Ignores SIGPIPE and waits for the signals handle_signals() set up. Not thread safe;
    /// before the pool starts.
    void start();

    /// Before the pool starts: the calling thread only waits from then on, so it blocks the
    /// signals, and the pool threads start with them blocked too (they inherit the mask).
    /// Not thread safe.
    void pool_starting();

    /// At the start of each pool thread, once it runs: takes the signals from here on.
    /// (A signal that reached a thread still being set up was lost under ThreadSanitizer;
    /// until a pool thread runs it stays pending for the process.) Thread safe.
    void pool_thread_started() const;

    /// After the pool's threads returned: unblocks the signals again. Not thread safe.
    void pool_joined();

    /// Graceful stop (see server::stop()). Idempotent. Thread safe.
    void stop();

    /// stop(), and close every connection now. Thread safe.
    void stop_now();

private:
    void wait_for_signal();
    void reload();
    boost::asio::awaitable<void> repeat(boost::asio::steady_timer& timer,
                                        std::chrono::steady_clock::duration period,
                                        std::function<void()> work);
    boost::asio::awaitable<void> drain();

    const server_config& config_;                      ///< drain timeout, reload arguments
    executor housekeeping_;                            ///< signals, drain and timers run here
    stop_env env_;                                     ///< what stop() acts on
    std::unique_ptr<boost::asio::signal_set> signals_; ///< SIGINT/SIGTERM/SIGHUP, when asked
    std::vector<std::function<void()>> reload_work_;   ///< on_reload()
    std::vector<std::unique_ptr<boost::asio::steady_timer>> timers_; ///< of every(), on the strand
    std::atomic<bool> stopping_{false};                              ///< stop() ran
};

} // namespace asio_echo
