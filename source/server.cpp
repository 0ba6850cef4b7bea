// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/server.hpp"

#include <chrono>
#include <csignal>

#include <pthread.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/listeners/tcp_listener.hpp"
#include "asio_echo/listeners/udp_responder.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/metrics.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using asio::ip::tcp;
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

server::server(server_config config) : server(config, make_transform(config.echo_mode)) {}

server::server(server_config config, transform reply)
    : config_(std::move(config)), connections_(config_.max_connections),
      guard_(config_.udp_drop_ports), env_{std::move(reply), config_.buffer_size, counters_,
                                           connections_},
      udp_env_{env_.reply, counters_, guard_, config_.udp_rate, config_.udp_burst},
      scrapes_(max_metrics_connections),
      metrics_env_{[this] {
                       return render_metrics(counters_.snapshot(),
                                             {version(), process_start_time_seconds()});
                   },
                   scrapes_},
      pool_(config_.model == io_model::shared ? 1 : config_.threads,
            config_.model == io_model::shared ? config_.threads : 1),
      housekeeping_(asio::make_strand(pool_.context(0))), status_(counters_, pool_, housekeeping_) {
}

server::~server() {
    stop();
    wait();
}

void server::handle_signals() {
    signals_ = std::make_unique<asio::signal_set>(housekeeping_, SIGINT, SIGTERM, SIGHUP);
}

void server::wait_for_signal() {
    signals_->async_wait([this](const error_code& ec, int number) {
        if (ec) {
            return; // cancelled by stop()
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

void server::reload() {
    status_.reloading();
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
    status_.reloaded();
}

template <class Executor>
void server::spawn_accept_loop(tcp::acceptor& acceptor, executor_picker<Executor> pick) {
    accept_loops_.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(acceptor.get_executor(), run_accept_loop(acceptor, std::move(pick), env_),
                   [this](std::exception_ptr e) {
                       log_failure{"accept loop"}(e);
                       accept_loops_.fetch_sub(1, std::memory_order_release);
                   });
}

void server::start() {
    // A peer that resets while we write must end its session, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    sockets_ = bind_endpoints(config_, pool_);
    // Our own UDP ports, as bound (port 0 resolved, systemd's sockets included), join the
    // guard before any datagram loop reads it.
    for (const auto& ep : sockets_.udp_endpoints) {
        guard_.add_own_port(ep.port());
    }

    for (auto& acceptor : sockets_.tcp) {
        if (pool_.shared()) {
            // Several threads run the one io_context: each connection gets its own strand.
            executor_picker<strand_executor> pick = [this] {
                return asio::make_strand(pool_.next_context().get_executor());
            };
            spawn_accept_loop(*acceptor, std::move(pick));
            continue;
        }
        executor_picker<context_executor> pick = [this] {
            return pool_.next_context().get_executor();
        };
        if (config_.model == io_model::reuse_port) {
            // Each listener feeds its own io_context: nothing crosses threads.
            auto own = *acceptor->get_executor().target<context_executor>();
            pick = [own] { return own; };
        }
        spawn_accept_loop(*acceptor, std::move(pick));
    }
    for (auto& socket : sockets_.udp) {
        asio::co_spawn(socket->get_executor(), run_udp_responder(*socket, udp_env_),
                       log_failure{"udp responder"});
    }
    if (sockets_.metrics) {
        executor_picker<asio::any_io_executor> pick = [this]() -> asio::any_io_executor {
            auto& context = pool_.next_context();
            if (pool_.shared()) {
                return asio::make_strand(context); // a scrape has a timer beside its socket
            }
            return context.get_executor();
        };
        asio::co_spawn(sockets_.metrics->get_executor(),
                       run_metrics_listener(*sockets_.metrics, pick, metrics_env_),
                       log_failure{"metrics listener"});
    }
    if (signals_) {
        wait_for_signal();
    }
    status_.start();
    if (config_.idle_timeout.count() > 0 || config_.write_timeout.count() > 0) {
        // Sweep at a quarter of the shorter timeout: a connection goes within 1.25 of it.
        auto shortest = std::min(
            config_.idle_timeout.count() > 0 ? config_.idle_timeout : config_.write_timeout,
            config_.write_timeout.count() > 0 ? config_.write_timeout : config_.idle_timeout);
        auto period = std::max<std::chrono::steady_clock::duration>(shortest / 4,
                                                                    std::chrono::milliseconds(50));
        asio::co_spawn(housekeeping_,
                       every(new_timer(), period,
                             [this] {
                                 auto* counted = &counters_.connections_timed_out;
                                 if (config_.idle_timeout.count() > 0) {
                                     connections_.close_idle(config_.idle_timeout, false, counted);
                                 }
                                 if (config_.write_timeout.count() > 0) {
                                     connections_.close_slow_writers(config_.write_timeout,
                                                                     counted);
                                 }
                             }),
                       log_failure{"idle sweep"});
    }
    if (config_.stats_interval.count() > 0) {
        asio::co_spawn(
            housekeeping_,
            every(new_timer(), config_.stats_interval,
                  [this] { log(log_level::info, "stats " + counters_.snapshot().to_line()); }),
            log_failure{"stats log"});
    }
    pool_.start();
    if (signals_) {
        // From here the caller only waits: leave the signals to the pool threads, which
        // take them in epoll_wait or between handlers. (Under ThreadSanitizer a SIGTERM
        // caught by this thread on its way into wait() was lost, 4 runs in 100.)
        set_stop_signals_blocked(true);
    }
    log_listening(sockets_);
    // Every listener was listening before the threads started: connections queue until then.
    status_.ready();
}

asio::steady_timer& server::new_timer() {
    timers_.push_back(std::make_unique<asio::steady_timer>(housekeeping_));
    return *timers_.back();
}

asio::awaitable<void> server::every(asio::steady_timer& timer,
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

void server::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    // Our own listeners first accept what waits in their backlog (clients that connected and
    // sent); the drain serves those too.
    connections_.begin_drain();
    sockets_.stop_listening();
    scrapes_.close_all(); // scrapers have nothing to finish
    status_.stopping(connections_.size());
    asio::post(housekeeping_, [this] {
        for (auto& timer : timers_) {
            timer->cancel();
        }
    });
    asio::co_spawn(housekeeping_, drain(), log_failure{"drain"});
}

void server::stop_now() {
    stop();
    connections_.close_all();
}

asio::awaitable<void> server::drain() {
    using namespace std::chrono;
    auto deadline = steady_clock::now() + config_.drain_timeout;
    // A session waiting to read that heard nothing for this long has nothing in flight.
    auto grace = std::min<steady_clock::duration>(seconds(1), config_.drain_timeout);
    asio::steady_timer timer(housekeeping_);
    if (connections_.size() > 0) {
        log(log_level::notice, "draining " + std::to_string(connections_.size()) +
                                   " connection(s) for up to " +
                                   std::to_string(config_.drain_timeout.count()) + " ms");
    }
    auto busy = [this] {
        return connections_.size() > 0 || accept_loops_.load(std::memory_order_acquire) > 0;
    };
    while (busy() && steady_clock::now() < deadline) {
        connections_.close_idle(grace, true, nullptr);
        timer.expires_after(
            std::min<steady_clock::duration>(milliseconds(50), deadline - steady_clock::now()));
        co_await timer.async_wait(nothrow);
    }
    if (connections_.size() > 0) {
        log(log_level::notice,
            "drain timeout: closing " + std::to_string(connections_.size()) + " connection(s)");
    }
    sockets_.close_tcp(); // clients still arriving when the deadline passed
    connections_.close_all();
    if (signals_) {
        error_code ignored;
        signals_->cancel(ignored); // safe: the signal set lives on this strand too
    }
    pool_.release();
}

void server::wait() {
    pool_.join();
    if (signals_) {
        set_stop_signals_blocked(false);
    }
}

} // namespace asio_echo
