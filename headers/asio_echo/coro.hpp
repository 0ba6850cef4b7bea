// SPDX-License-Identifier: BSL-1.0
#pragma once
// Coroutine vocabulary shared by the server and the client.

#include <exception>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_echo/log.hpp"

namespace asio_echo {

/// Completion token that returns errors as values: auto [ec, n] = co_await op(nothrow).
/// EOF, reset and abort are outcomes of a connection, not exceptions.
inline constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

/// The hot path's token: errors as values, and the operation awaited in place, in the
/// caller's frame, whatever the coroutine's executor type. use_awaitable runs each
/// operation's initiation in a coroutine frame of its own (192 bytes), which a connection
/// waiting to read would hold all the while. Awaitable operators (||, &&) need nothrow's
/// awaitables instead.
inline constexpr auto nothrow_in_place = boost::asio::as_tuple(boost::asio::deferred);

/// Completion handler for co_spawn: a coroutine that throws is logged, never lost silently
/// (unlike `detached`) and never takes the process down.
struct log_failure {
    const char* what; ///< names the coroutine in the log line
    /// Set for coroutines that traffic starts (sessions): then one line per its period.
    log_limiter* limiter = nullptr;

    void operator()(const std::exception_ptr& failure) const {
        if (!failure) {
            return;
        }
        std::string line = std::string(what) + " failed: ";
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            line += e.what();
        } catch (...) {
            line += "unknown exception";
        }
        if (limiter) {
            limiter->log(log_level::error, [&] { return line; });
        } else {
            log(log_level::error, line);
        }
    }
};

} // namespace asio_echo
