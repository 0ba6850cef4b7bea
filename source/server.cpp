// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/server.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <boost/asio/co_spawn.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/listeners/tcp_listener.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/metrics.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

/// How often the idle sweep runs: a quarter of the shorter timeout, so a connection goes
/// within 1.25 of it; none when neither timeout is set.
std::optional<std::chrono::steady_clock::duration> sweep_period(const server_config& config) {
    if (config.idle_timeout.count() <= 0 && config.write_timeout.count() <= 0) {
        return std::nullopt;
    }
    auto shortest =
        std::min(config.idle_timeout.count() > 0 ? config.idle_timeout : config.write_timeout,
                 config.write_timeout.count() > 0 ? config.write_timeout : config.idle_timeout);
    return std::max<std::chrono::steady_clock::duration>(shortest / 4,
                                                         std::chrono::milliseconds(50));
}

/// Runs acceptor's accept loop, counted in running while it runs (the drain waits for it).
template <class Executor>
void spawn_counted(tcp::acceptor& acceptor, executor_picker<Executor> pick, const session_env& env,
                   tcp_kind kind, std::atomic<std::size_t>& running) {
    running.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(acceptor.get_executor(), run_accept_loop(acceptor, std::move(pick), env, kind),
                   [&running](std::exception_ptr e) {
                       log_failure{"accept loop"}(e);
                       running.fetch_sub(1, std::memory_order_release);
                   });
}

/// Where each scrape connection runs: the next io_context, on a strand of its own when
/// several threads run it (a scrape has a timer beside its socket).
executor_picker<asio::any_io_executor> scrape_executors(io_pool& pool) {
    return [&pool]() -> asio::any_io_executor {
        auto& context = pool.next_context();
        if (pool.shared()) {
            return asio::make_strand(context);
        }
        return context.get_executor();
    };
}

} // namespace

server::server(server_config config) : server(config, make_transform(config.echo_mode)) {}

server::server(server_config config, transform reply)
    : config_(std::move(config)), connections_(config_.max_connections),
      guard_(config_.udp_drop_ports), access_(config_.allow, config_.deny),
      per_source_(config_.max_connections_per_source),
      trusted_proxies_(config_.trusted_proxies, {}), env_{std::move(reply),
                                                          config_.buffer_size,
                                                          counters_,
                                                          connections_,
                                                          access_,
                                                          per_source_,
                                                          trusted_proxies_,
                                                          config_.proxy_header_timeout,
                                                          nullptr,
                                                          config_.tls_handshake_timeout,
                                                          {config_.websocket_max_message,
                                                           config_.websocket_deflate,
                                                           config_.websocket_handshake_timeout}},
      udp_env_{env_.reply, counters_, guard_, config_.udp_rate, config_.udp_burst, access_},
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

void server::start() {
    lifecycle_.start(); // SIGPIPE ignored, signals awaited (they are taken once the pool runs)
    if (auto settings = tls_settings::of(config_)) {
        // Bad files end the start here, before anything listens.
        tls_ = std::make_unique<tls_credentials>(std::move(*settings));
        env_.tls = tls_.get();
        lifecycle_.on_reload([this] { tls_->reload(); });
    }
    sockets_ = bind_endpoints(config_, pool_);
    // Our own UDP ports, as bound (port 0 resolved, systemd's sockets included), join the
    // guard before any datagram loop reads it.
    for (const auto& ep : sockets_.udp_endpoints) {
        guard_.add_own_port(ep.port());
    }
    spawn_listeners();
    status_.start();
    schedule_housekeeping();
    lifecycle_.pool_starting();
    pool_.start([this] { lifecycle_.pool_thread_started(); });
    log_listening(sockets_);
    // Every listener was listening before the threads started: connections queue until then.
    status_.ready();
}

void server::spawn_listeners() {
    // Each listener kind: its bound sockets, its loop, its environment.
    for (auto& acceptor : sockets_.tcp) {
        spawn_accept_loop(*acceptor, tcp_kind::plain);
    }
    for (auto& acceptor : sockets_.proxy) {
        spawn_accept_loop(*acceptor, tcp_kind::proxied);
    }
    for (auto& acceptor : sockets_.tls) {
        spawn_accept_loop(*acceptor, tcp_kind::tls);
    }
    for (auto& acceptor : sockets_.ws) {
        spawn_accept_loop(*acceptor, tcp_kind::ws);
    }
    for (auto& acceptor : sockets_.wss) {
        spawn_accept_loop(*acceptor, tcp_kind::wss);
    }
    for (auto& socket : sockets_.udp) {
        asio::co_spawn(socket->get_executor(), run_udp_responder(*socket, udp_env_),
                       log_failure{"udp responder"});
    }
    if (sockets_.metrics) {
        asio::co_spawn(
            sockets_.metrics->get_executor(),
            run_metrics_listener(*sockets_.metrics, scrape_executors(pool_), metrics_env_),
            log_failure{"metrics listener"});
    }
}

void server::spawn_accept_loop(tcp::acceptor& acceptor, tcp_kind kind) {
    if (pool_.shared()) {
        // Several threads run the one io_context: each connection gets its own strand.
        executor_picker<strand_executor> pick = [this] {
            return asio::make_strand(pool_.next_context().get_executor());
        };
        spawn_counted(acceptor, std::move(pick), env_, kind, accept_loops_);
        return;
    }
    executor_picker<context_executor> pick = [this] { return pool_.next_context().get_executor(); };
    if (config_.model == io_model::reuse_port) {
        // Each listener feeds its own io_context: nothing crosses threads.
        auto own = *acceptor.get_executor().target<context_executor>();
        pick = [own] { return own; };
    }
    spawn_counted(acceptor, std::move(pick), env_, kind, accept_loops_);
}

void server::schedule_housekeeping() {
    if (auto period = sweep_period(config_)) {
        lifecycle_.every(
            *period,
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
