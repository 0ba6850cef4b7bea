// SPDX-License-Identifier: BSL-1.0
#include "echo_swarm.hpp"

#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "asio_echo/coro.hpp"
#include "net.hpp"

namespace asio_echo::test {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct counters {
    std::atomic<std::size_t>& rounds_done;
    std::atomic<std::size_t>& completed;
    std::atomic<std::size_t>& failed;
    std::atomic<std::size_t>& mismatched;
    std::atomic<std::size_t>& running;
};

asio::awaitable<void> one_client(std::uint16_t port, std::size_t rounds, std::uint64_t seed,
                                 std::chrono::milliseconds pause, counters count) {
    struct done {
        std::atomic<std::size_t>& running;
        ~done() { --running; }
    } finally{count.running};
    auto executor = co_await asio::this_coro::executor;
    tcp::socket socket(executor);
    auto [connect_ec] =
        co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, nothrow);
    if (connect_ec) {
        ++count.failed;
        co_return;
    }
    std::mt19937_64 random(seed);
    asio::steady_timer timer(executor);
    for (std::size_t round = 0; round < rounds; ++round) {
        auto size = 1 + random() % 2048;
        auto sent = random_bytes(size, random());
        std::string got(sent.size(), '\0');
        auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(sent), nothrow);
        auto [read_ec, n] = co_await asio::async_read(socket, asio::buffer(got), nothrow);
        if (got.compare(0, n, sent, 0, n) != 0) {
            ++count.mismatched;
            co_return;
        }
        if (write_ec || read_ec) {
            ++count.failed;
            co_return;
        }
        ++count.rounds_done;
        if (pause.count() > 0) {
            timer.expires_after(pause);
            co_await timer.async_wait(nothrow);
        }
    }
    ++count.completed;
}

} // namespace

echo_swarm::echo_swarm(std::uint16_t port, std::size_t clients, std::size_t rounds,
                       std::uint64_t seed, std::chrono::milliseconds pause) {
    counters count{rounds_done_, completed_, failed_, mismatched_, running_};
    running_ = clients;
    for (std::size_t i = 0; i < clients; ++i) {
        asio::co_spawn(context_, one_client(port, rounds, seed * 1000003 + i, pause, count),
                       asio::detached);
    }
    thread_ = std::thread([this] {
        context_.run(); // returns when every client ended, or at stop()
        finished_.set_value();
    });
}

echo_swarm::~echo_swarm() {
    context_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

swarm_result echo_swarm::wait(std::chrono::milliseconds timeout) {
    if (finished_future_.wait_for(timeout) != std::future_status::ready) {
        context_.stop();
    }
    thread_.join();
    return {completed_.load(), failed_.load(), mismatched_.load(), running_.load()};
}

} // namespace asio_echo::test
