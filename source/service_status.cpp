// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/service_status.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "asio_echo/coro.hpp"

namespace asio_echo {

namespace asio = boost::asio;

service_status::service_status(const stats& counters, io_pool& pool, executor reports)
    : counters_(counters), pool_(pool), timer_(std::move(reports)), heartbeats_(pool.size()) {}

void service_status::start() {
    if (notifier_.enabled()) {
        asio::co_spawn(timer_.get_executor(), report(), log_failure{"status reporter"});
    }
}

void service_status::ready() const {
    notifier_.notify("READY=1\nSTATUS=" + status_line());
}

void service_status::reloading() const {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    notifier_.notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(now.count()));
}

void service_status::reloaded() const {
    notifier_.notify("READY=1");
}

void service_status::stopping(std::size_t connections) {
    stopping_ = true;
    notifier_.notify("STOPPING=1\nSTATUS=draining " + std::to_string(connections) + " connections");
    asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

std::string service_status::status_line() const {
    auto s = counters_.snapshot();
    return std::to_string(s.connections_active) + " active connections, " +
           std::to_string(s.connections_accepted) + " accepted, " + std::to_string(s.datagrams_in) +
           " datagrams, " + std::to_string(s.tcp_bytes_out + s.udp_bytes_out) + " bytes echoed";
}

asio::awaitable<void> service_status::report() {
    // STATUS= every 5 s; WATCHDOG=1 at half of WATCHDOG_USEC, but only while every io_context
    // answers: each round posts a heartbeat to each, and the next round checks they all ran.
    using namespace std::chrono;
    constexpr auto status_every = seconds(5);
    auto watchdog = notifier_.watchdog_interval();
    auto tick = watchdog ? std::min<steady_clock::duration>(status_every, *watchdog)
                         : steady_clock::duration(status_every);
    auto next_status = steady_clock::now() + status_every;
    for (std::uint64_t round = 1; !stopping_; ++round) {
        if (watchdog) {
            bool all_alive = true;
            for (auto& beat : heartbeats_) {
                all_alive = all_alive && beat.load(std::memory_order_relaxed) + 1 >= round;
            }
            if (all_alive) {
                notifier_.notify("WATCHDOG=1");
            }
            for (std::size_t i = 0; i < pool_.size(); ++i) {
                asio::post(pool_.context(i), [this, i, round] {
                    heartbeats_[i].store(round, std::memory_order_relaxed);
                });
            }
        }
        if (steady_clock::now() >= next_status) {
            notifier_.notify("STATUS=" + status_line());
            next_status += status_every;
        }
        timer_.expires_after(tick);
        co_await timer_.async_wait(nothrow);
    }
}

} // namespace asio_echo
