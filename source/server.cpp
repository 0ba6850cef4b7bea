// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/server.hpp"

#include <chrono>

#include <boost/asio/co_spawn.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/listeners/tcp_listener.hpp"
#include "asio_echo/listeners/udp_responder.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/metrics.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using asio::ip::tcp;

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
      housekeeping_(asio::make_strand(pool_.context(0))), status_(counters_, pool_, housekeeping_),
      lifecycle_(config_, housekeeping_,
                 {sockets_, connections_, scrapes_, accept_loops_, status_, pool_}) {}

server::~server() {
    stop();
    wait();
}

void server::handle_signals() {
    lifecycle_.handle_signals();
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
    lifecycle_.start(); // SIGPIPE ignored, signals awaited (they are taken once the pool runs)
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
    status_.start();
    if (config_.idle_timeout.count() > 0 || config_.write_timeout.count() > 0) {
        // Sweep at a quarter of the shorter timeout: a connection goes within 1.25 of it.
        auto shortest = std::min(
            config_.idle_timeout.count() > 0 ? config_.idle_timeout : config_.write_timeout,
            config_.write_timeout.count() > 0 ? config_.write_timeout : config_.idle_timeout);
        auto period = std::max<std::chrono::steady_clock::duration>(shortest / 4,
                                                                    std::chrono::milliseconds(50));
        lifecycle_.every(
            period,
            [this] {
                auto* counted = &counters_.connections_timed_out;
                if (config_.idle_timeout.count() > 0) {
                    connections_.close_idle(config_.idle_timeout, false, counted);
                }
                if (config_.write_timeout.count() > 0) {
                    connections_.close_slow_writers(config_.write_timeout, counted);
                }
            },
            "idle sweep");
    }
    if (config_.stats_interval.count() > 0) {
        lifecycle_.every(
            config_.stats_interval,
            [this] { log(log_level::info, "stats " + counters_.snapshot().to_line()); },
            "stats log");
    }
    pool_.start();
    lifecycle_.pool_started();
    log_listening(sockets_);
    // Every listener was listening before the threads started: connections queue until then.
    status_.ready();
}

void server::stop() {
    lifecycle_.stop();
}

void server::stop_now() {
    lifecycle_.stop_now();
}

void server::wait() {
    pool_.join();
    lifecycle_.pool_joined();
}

} // namespace asio_echo
