// SPDX-License-Identifier: BSL-1.0
#pragma once
// Load's --reconnect traffic: each slot connects (and handshakes under --tls), sends one
// message, reads its whole echo back, closes cleanly and starts again: the rate of new
// connections, with each connect timed apart from the echo.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_echo/client/load_plan.hpp"
#include "asio_echo/client/options.hpp"
#include "asio_echo/client/payload.hpp"

namespace asio_echo::client {

class tls_client;

/// One worker's reconnecting slots on its io_context. Every cycle (connect, handshake, the
/// echo) must finish within --timeout; its close gets --timeout of its own. Not thread safe:
/// once constructed, every call comes from the thread that runs the io_context.
class reconnect_traffic {
public:
    /// Counts into result (and each echo into progress, for the terminal's progress line); tls
    /// null for plain TCP. Every reference must outlive this.
    reconnect_traffic(boost::asio::io_context& io, const options& opts,
                      const payload_pattern& pattern, plan& schedule, tls_client* tls,
                      tally& result, std::atomic<std::uint64_t>& progress);
    ~reconnect_traffic();

    /// Adds slot id (0..connections-1 over every worker).
    void add(std::size_t id);

    /// How many slots were added.
    std::size_t size() const noexcept { return slots_.size(); }

    /// Before the clock: one uncounted cycle of every slot at once against target, so a server
    /// that refuses ends the run before it starts. Spawns and returns; run the io_context to
    /// the end, then read failure, refusal, out_of_descriptors, out_of_ports and crashed.
    void prime(const boost::asio::ip::tcp::endpoint& target);

    /// Slot index's cycles until the plan ends or stops, the slot fails, or check() abandons it.
    boost::asio::awaitable<void> run(std::size_t index);

    /// The worker's watchdog, every few milliseconds: cancels a cycle past its deadline, and
    /// every cycle once abandon is set (the grace after the end is over).
    void check(std::uint64_t now, bool abandon);

    std::string failure;             ///< priming: the first connection or handshake failure
    std::string refusal;             ///< TLS: the server refused the session after the handshake
    bool out_of_descriptors = false; ///< a connect met the descriptor limit (EMFILE)
    bool out_of_ports = false;       ///< a connect found no free local port (EADDRNOTAVAIL)
    std::exception_ptr crashed;      ///< priming: a coroutine that threw (a bug)

private:
    struct slot;
    /// One connection: connect, handshake, one message and its echo, close. True when the
    /// slot may go on; measured false while priming (nothing counted, failures named).
    boost::asio::awaitable<bool> cycle(slot& s, bool measured);
    /// Priming's deadline watch, until every slot's priming cycle is over.
    boost::asio::awaitable<void> watch_priming();
    /// A connect met a local limit: measured, the whole run stops; priming, it fails.
    void local_limit(const boost::system::error_code& ec, bool measured);
    /// A failed cycle: an error (the message lost when owed), or in flight once abandoning.
    bool end_cycle(slot& s, bool owed, bool counted);

    boost::asio::io_context& io_;
    const options& opts_;
    const payload_pattern& pattern_;
    plan& plan_;
    tls_client* tls_;
    tally& result_;
    std::atomic<std::uint64_t>& progress_;
    boost::asio::ip::tcp::endpoint target_;
    std::string target_name_; ///< "HOST:PORT" for messages
    std::uint64_t timeout_ns_;
    std::vector<std::unique_ptr<slot>> slots_;
    std::size_t priming_ = 0; ///< slots still in their priming cycle
    boost::asio::steady_timer priming_tick_;
    bool abandon_ = false;
};

} // namespace asio_echo::client
