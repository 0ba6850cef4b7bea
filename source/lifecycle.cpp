// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/lifecycle.hpp"

#include <algorithm>
#include <csignal>
#include <exception>
#include <string>

#include <pthread.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/log.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

/// Blocks or unblocks SIGINT, SIGTERM and SIGHUP in the calling thread only.
void set_stop_signals_blocked(bool blocked) {
    sigset_t set;
    sigemptyset(&set);
    for (int number : {SIGINT, SIGTERM, SIGHUP}) {
        sigaddset(&set, number);
    }
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

} // namespace

lifecycle::lifecycle(const server_config& config, executor housekeeping, stop_env env)
    : config_(config), housekeeping_(std::move(housekeeping)), env_(env) {}

void lifecycle::handle_signals() {
    signals_ = std::make_unique<asio::signal_set>(housekeeping_, SIGINT, SIGTERM, SIGHUP);
}

void lifecycle::start() {
    // A peer that resets while we write must end its session, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    if (signals_) {
        wait_for_signal();
    }
}

void lifecycle::pool_starting() {
    if (signals_) {
        // From here the caller only waits: leave the signals to the pool threads, which
        // take them in epoll_wait or between handlers. (Under ThreadSanitizer a SIGTERM
        // caught by this thread on its way into wait() was lost, 4 runs in 100.)
        set_stop_signals_blocked(true);
    }
}

void lifecycle::pool_thread_started() const {
    if (signals_) {
        set_stop_signals_blocked(false);
    }
}

void lifecycle::pool_joined() {
    if (signals_) {
        set_stop_signals_blocked(false);
    }
}

void lifecycle::wait_for_signal() {
    signals_->async_wait([this](const error_code& ec, int number) {
        if (ec) {
            return; // cancelled by the drain
        }
        if (number == SIGHUP) {
            reload();
            wait_for_signal();
            return;
        }
        auto name = std::string(number == SIGINT ? "SIGINT" : "SIGTERM");
        if (stopping_) {
            log(log_level::notice, "received " + name + " again, closing every connection now");
            stop_now();
            return;
        }
        log(log_level::notice, "received " + name + ", stopping");
        // Arm first: a second signal ends the drain at once, and stop() may finish the drain
        // (and cancel this wait) before it returns when no connection is open.
        wait_for_signal();
        stop();
    });
}

void lifecycle::reload() {
    env_.status.reloading();
    if (!config_.config_file) {
        log(log_level::notice, "received SIGHUP; no config file to re-read");
    } else {
        // Only the log level changes at run time; endpoints and threads need a restart.
        try {
            // The whole command line again: it overrides the file now as it did at start.
            std::vector<const char*> argv{"echo-server"};
            for (const auto& argument : config_.arguments) {
                argv.push_back(argument.c_str());
            }
            auto fresh = parse_server_config(static_cast<int>(argv.size()), argv.data());
            if (fresh.config) {
                set_log_level(fresh.config->level);
                log(log_level::notice, "received SIGHUP; re-read " + *config_.config_file);
            }
        } catch (const std::exception& e) {
            log(log_level::error,
                std::string("reload failed, keeping the old settings: ") + e.what());
        }
    }
    for (const auto& work : reload_work_) {
        work(); // TLS certificates: each logs its own outcome
    }
    env_.status.reloaded();
}

void lifecycle::every(std::chrono::steady_clock::duration period, std::function<void()> work,
                      const char* what) {
    timers_.push_back(std::make_unique<asio::steady_timer>(housekeeping_));
    asio::co_spawn(housekeeping_, repeat(*timers_.back(), period, std::move(work)),
                   log_failure{what});
}

asio::awaitable<void> lifecycle::repeat(asio::steady_timer& timer,
                                        std::chrono::steady_clock::duration period,
                                        std::function<void()> work) {
    while (!stopping_) {
        timer.expires_after(period);
        co_await timer.async_wait(nothrow);
        if (stopping_) {
            break;
        }
        work();
    }
}

void lifecycle::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    // Our own listeners first accept what waits in their backlog (clients that connected and
    // sent); the drain serves those too.
    env_.connections.begin_drain();
    env_.connections.announce_going_away(); // WebSocket peers hear close 1001 now
    env_.sockets.stop_listening();
    env_.scrapes.close_all(); // scrapers have nothing to finish
    env_.status.stopping(env_.connections.size());
    asio::post(housekeeping_, [this] {
        for (auto& timer : timers_) {
            timer->cancel();
        }
    });
    asio::co_spawn(housekeeping_, drain(), log_failure{"drain"});
}

void lifecycle::stop_now() {
    stop();
    env_.connections.close_all();
}

asio::awaitable<void> lifecycle::drain() {
    using namespace std::chrono;
    auto& connections = env_.connections;
    auto deadline = steady_clock::now() + config_.drain_timeout;
    // A session waiting to read that heard nothing for this long has nothing in flight.
    auto grace = std::min<steady_clock::duration>(seconds(1), config_.drain_timeout);
    asio::steady_timer timer(housekeeping_);
    if (connections.size() > 0) {
        log(log_level::notice, "draining " + std::to_string(connections.size()) +
                                   " connection(s) for up to " +
                                   std::to_string(config_.drain_timeout.count()) + " ms");
    }
    auto busy = [this, &connections] {
        return connections.size() > 0 || env_.accept_loops.load(std::memory_order_acquire) > 0;
    };
    while (busy() && steady_clock::now() < deadline) {
        connections.close_idle(grace, true, nullptr);
        timer.expires_after(
            std::min<steady_clock::duration>(milliseconds(50), deadline - steady_clock::now()));
        co_await timer.async_wait(nothrow);
    }
    if (connections.size() > 0) {
        log(log_level::notice,
            "drain timeout: closing " + std::to_string(connections.size()) + " connection(s)");
    }
    env_.sockets.close_tcp(); // clients still arriving when the deadline passed
    connections.close_all();
    if (signals_) {
        error_code ignored;
        signals_->cancel(ignored); // safe: the signal set lives on this strand too
    }
    env_.pool.release();
}

} // namespace asio_echo
