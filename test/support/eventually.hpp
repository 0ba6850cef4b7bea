// SPDX-License-Identifier: BSL-1.0
#pragma once
// Polling with a deadline, for conditions that change without an event a test could wait
// for: /proc figures, counters in a scrape.

#include <chrono>
#include <thread>

namespace asio_echo::test {

/// Calls condition() every 20 ms until it returns true (then true) or the deadline passes
/// (then false).
template <class F>
bool eventually(F condition, std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

} // namespace asio_echo::test
