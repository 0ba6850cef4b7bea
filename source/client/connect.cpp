// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/connect.hpp"

#include <exception>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

std::string timeout_text(std::chrono::steady_clock::duration timeout) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + " s";
    }
    return std::to_string(ms) + " ms";
}

/// Resolves where with the deadline; throws unavailable_error naming the host.
template <typename Protocol>
asio::awaitable<std::vector<typename Protocol::endpoint>> resolve(const endpoint& where,
                                                                  asio::steady_timer& deadline) {
    std::vector<typename Protocol::endpoint> found;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(where.host, ec);
    if (!ec) {
        // A literal needs no resolver thread.
        found.emplace_back(address, where.port);
        co_return found;
    }
    typename Protocol::resolver resolver(co_await asio::this_coro::executor);
    auto outcome =
        co_await (resolver.async_resolve(where.host, std::to_string(where.port),
                                         asio::ip::resolver_base::numeric_service, nothrow) ||
                  deadline.async_wait(nothrow));
    if (outcome.index() == 1) {
        throw unavailable_error("cannot resolve '" + where.host + "': timed out");
    }
    auto [resolve_ec, results] = std::get<0>(std::move(outcome));
    if (resolve_ec) {
        throw unavailable_error("cannot resolve '" + where.host + "': " + resolve_ec.message());
    }
    for (const auto& entry : results) {
        found.push_back(entry.endpoint());
    }
    if (found.empty()) {
        throw unavailable_error("cannot resolve '" + where.host + "': no address");
    }
    co_return found;
}

} // namespace

std::chrono::steady_clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
}

asio::awaitable<tcp::socket> connect_tcp(const endpoint& where,
                                         std::chrono::steady_clock::duration timeout) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, timeout);
    auto addresses = co_await resolve<tcp>(where, deadline);
    std::string failure;
    for (const auto& address : addresses) {
        tcp::socket socket(executor);
        auto outcome =
            co_await (socket.async_connect(address, nothrow) || deadline.async_wait(nothrow));
        auto name = format_endpoint(address.address(), address.port());
        if (outcome.index() == 1) {
            failure = "cannot connect to " + name + ": timed out after " + timeout_text(timeout);
            break;
        }
        auto [ec] = std::get<0>(outcome);
        if (ec) {
            failure = "cannot connect to " + name + ": " + ec.message();
            continue;
        }
        // Small messages go out at once, not after a delayed ACK (Nagle).
        socket.set_option(tcp::no_delay(true), ec);
        co_return socket;
    }
    throw unavailable_error(failure);
}

asio::awaitable<udp::socket> connect_udp(const endpoint& where,
                                         std::chrono::steady_clock::duration timeout) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, timeout);
    auto addresses = co_await resolve<udp>(where, deadline);
    const auto& address = addresses.front();
    udp::socket socket(executor);
    boost::system::error_code ec;
    socket.connect(address, ec);
    if (ec) {
        throw unavailable_error("cannot connect to " +
                                format_endpoint(address.address(), address.port()) + ": " +
                                ec.message());
    }
    co_return socket;
}

void run_blocking(asio::io_context& io, asio::awaitable<void> work) {
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(work), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace asio_echo::client
