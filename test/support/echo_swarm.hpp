// SPDX-License-Identifier: BSL-1.0
#pragma once
// Many TCP echo clients at once, on Asio coroutines in a thread of their own: each connects,
// sends rounds of seeded random bytes, checks every echoed byte, and closes. The caller
// watches progress (to act mid-run) and collects the outcome with a deadline.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace asio_echo::test {

/// How the clients fared.
struct swarm_result {
    std::size_t completed = 0;  ///< every round echoed byte-exact
    std::size_t failed = 0;     ///< could not connect, or the connection ended early
    std::size_t mismatched = 0; ///< a byte came back different (any prefix received counts)
    std::size_t unfinished = 0; ///< still running at the deadline
};

/// The clients; they start on construction. Not thread safe (one owner).
class echo_swarm {
public:
    /// clients connections to 127.0.0.1:port, rounds messages each (1 to 2048 bytes, seeded
    /// by seed and the client's number), pause between a client's rounds.
    echo_swarm(std::uint16_t port, std::size_t clients, std::size_t rounds, std::uint64_t seed,
               std::chrono::milliseconds pause = std::chrono::milliseconds(0));
    ~echo_swarm();
    echo_swarm(const echo_swarm&) = delete;
    echo_swarm& operator=(const echo_swarm&) = delete;

    /// Rounds echoed so far, by all clients. Thread safe.
    std::size_t rounds_done() const { return rounds_done_.load(); }

    /// Waits for every client to end, at most timeout; the rest count as unfinished.
    swarm_result wait(std::chrono::milliseconds timeout);

private:
    std::atomic<std::size_t> rounds_done_{0};
    std::atomic<std::size_t> completed_{0};
    std::atomic<std::size_t> failed_{0};
    std::atomic<std::size_t> mismatched_{0};
    std::atomic<std::size_t> running_{0};
    std::promise<void> finished_; ///< set once every client ended
    std::future<void> finished_future_ = finished_.get_future();
    // Last, so it goes first: unfinished clients' frames still reach the counters above.
    boost::asio::io_context context_{1};
    std::thread thread_;
};

} // namespace asio_echo::test
