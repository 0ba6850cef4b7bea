// SPDX-License-Identifier: BSL-1.0
#pragma once
// What load's workers share (the schedule) and what each counts: the pieces both kinds of
// load traffic use, long-lived connections (load.cpp) and reconnecting slots (reconnect.hpp).

#include <atomic>
#include <chrono>
#include <cstdint>

#include "asio_echo/client/histogram.hpp"

namespace asio_echo::client {

/// Nanoseconds on the steady clock: the plan's time base. Thread safe.
inline std::uint64_t now_ns() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

/// The schedule every worker follows. Written by the main thread before the workers are let go
/// (the latch orders it), read-only after that except stop/stop_ns/hurry.
struct plan {
    std::uint64_t start_ns = 0;    ///< the clock starts (warm-up begins)
    std::uint64_t warm_end_ns = 0; ///< the measured window begins
    std::uint64_t end_ns = 0;      ///< the measured window ends; no sends after it
    std::uint64_t grace_ns = 0;   ///< replies owed at the end are awaited this long, then in flight
    std::uint64_t timeout_ns = 0; ///< UDP: a datagram unanswered this long is lost
    double period_ns = 0;         ///< --rate: time between a connection's sends; 0 unpaced
    double phase_ns = 0;          ///< --rate: offset between successive connections
    std::atomic<bool> stop{false};         ///< a signal (or a local limit) ended the run early
    std::atomic<std::uint64_t> stop_ns{0}; ///< when
    std::atomic<bool> hurry{false};        ///< a further signal: skip the grace, report now
    bool abort = false;                    ///< connecting failed: do not start

    /// Ends the run early at now; the first caller's time stands. Thread safe.
    void stop_at(std::uint64_t now) noexcept {
        std::uint64_t unset = 0;
        stop_ns.compare_exchange_strong(unset, now, std::memory_order_relaxed);
        stop.store(true, std::memory_order_release); // stop_ns is set before stop is seen
    }

    /// True from the measured window's start to its end.
    bool in_window(std::uint64_t now) const noexcept { return now >= warm_end_ns && now < end_ns; }

    /// True once nothing new may start: the end, or an early stop.
    bool stopping(std::uint64_t now) const noexcept {
        return now >= end_ns || stop.load(std::memory_order_relaxed);
    }
};

/// What one worker counted. Plain values, one writer (the worker's thread).
struct tally {
    // A message is counted when it is sent in the measured window, and then it is exactly one of
    // received, lost or in flight: sent = messages + lost + in_flight.
    std::uint64_t sent = 0;
    std::uint64_t messages = 0; ///< received
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;
    std::uint64_t mismatches = 0; ///< any reply, warm-up included: a wrong byte is never right
    std::uint64_t lost = 0;       ///< UDP: timed out; TCP: owed when its connection failed
    std::uint64_t in_flight = 0;  ///< still owed when the run ended (after the grace)
    std::uint64_t late = 0;
    std::uint64_t connections_made = 0; ///< --reconnect: begun in the window, echoed and closed
    histogram latency;
    histogram handshake; ///< TLS: each connection's handshake
    histogram connect;   ///< --reconnect: TCP connect plus TLS handshake, per connection
};

} // namespace asio_echo::client
