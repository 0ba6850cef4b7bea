// SPDX-License-Identifier: BSL-1.0
#pragma once
// An operation raced against a deadline with Asio's awaitable operators: the first step of a
// session (a PROXY header, a TLS handshake) must end in time.

#include <chrono>
#include <optional>
#include <utility>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio_echo {

/// A steady timer on Executor (a session's own executor type).
template <class Executor>
using deadline_on = boost::asio::basic_waitable_timer<
    std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

/// The token of operations raced with ||: errors as values, each in an awaitable of Executor.
template <class Executor>
inline constexpr auto racing = boost::asio::as_tuple(boost::asio::use_awaitable_t<Executor>{});

/// op's result, or nothing when deadline expired first (op is then cancelled). deadline may
/// serve several operations in a row: one time limit for all of them.
template <class T, class Executor>
boost::asio::awaitable<std::optional<T>, Executor>
before_deadline(boost::asio::awaitable<T, Executor> op, deadline_on<Executor>& deadline) {
    using namespace boost::asio::experimental::awaitable_operators;
    auto first = co_await (std::move(op) || deadline.async_wait(racing<Executor>));
    if (first.index() == 1) {
        co_return std::nullopt;
    }
    co_return std::get<0>(std::move(first));
}

} // namespace asio_echo
