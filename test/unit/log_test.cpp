// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE log
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "asio_echo/log.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;
using namespace std::chrono_literals;

namespace {

const std::vector<log_level> all_levels = {log_level::error, log_level::warn, log_level::notice,
                                           log_level::info, log_level::debug};

/// What this process writes on stderr while it lives (stderr is put back afterwards).
class captured_stderr {
public:
    captured_stderr() {
        BOOST_REQUIRE(::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) == 0);
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(pipe_[1], STDERR_FILENO);
    }
    ~captured_stderr() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        ::close(pipe_[0]);
        ::close(pipe_[1]);
    }
    /// Everything written so far (the lines are short: the pipe holds them all).
    std::string text() {
        char buffer[65536];
        auto n = ::read(pipe_[0], buffer, sizeof buffer);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }

private:
    int pipe_[2] = {-1, -1};
    int saved_ = -1;
};

} // namespace

BOOST_DATA_TEST_CASE(a_threshold_prints_its_level_and_the_more_severe_only,
                     bdata::make({0, 1, 2, 3, 4}), threshold) {
    set_log_level(all_levels[static_cast<std::size_t>(threshold)]);
    for (int level = 0; level < 5; ++level) {
        BOOST_TEST(log_enabled(all_levels[static_cast<std::size_t>(level)]) == (level <= threshold),
                   "level " << level << " at threshold " << threshold);
    }
    set_log_level(log_level::info);
}

BOOST_AUTO_TEST_CASE(one_line_per_period_then_the_count_of_those_held_back) {
    log_limiter limiter(10s);
    auto t0 = log_limiter::clock::time_point{} + 1000s;
    BOOST_TEST(limiter.admit(t0).value() == 0u);
    int let_out = 0;
    for (int i = 1; i <= 999; ++i) {
        let_out += limiter.admit(t0 + i * 10ms).has_value() ? 1 : 0; // up to 9.99 s later
    }
    BOOST_TEST(let_out == 0);
    BOOST_TEST(limiter.admit(t0 + 10s).value() == 999u);
    BOOST_TEST(!limiter.admit(t0 + 10s + 1ms).has_value());
    // A quiet spell: the next event goes out at once, with the one held back.
    BOOST_TEST(limiter.admit(t0 + 60s).value() == 1u);
}

BOOST_AUTO_TEST_CASE(events_in_bulk_are_counted_whole) {
    log_limiter limiter(10s);
    auto t0 = log_limiter::clock::time_point{} + 1000s;
    BOOST_TEST(limiter.admit(t0, 5).value() == 0u);
    BOOST_TEST(!limiter.admit(t0 + 1s, 7).has_value());
    BOOST_TEST(!limiter.admit(t0 + 2s, 32).has_value());
    BOOST_TEST(limiter.admit(t0 + 10s, 1).value() == 39u);
}

BOOST_AUTO_TEST_CASE(threads_together_let_out_one_line_and_lose_no_count) {
    log_limiter limiter(10s);
    auto t0 = log_limiter::clock::time_point{} + 1000s;
    constexpr int threads = 4, each = 10000;
    std::atomic<int> let_out{0};
    std::atomic<std::uint64_t> reported{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < each; ++i) {
                if (auto held = limiter.admit(t0)) {
                    ++let_out;
                    reported += *held;
                }
            }
        });
    }
    for (auto& thread : pool) {
        thread.join();
    }
    BOOST_TEST(let_out == 1);
    BOOST_TEST(reported == 0u);
    BOOST_TEST(limiter.admit(t0 + 10s).value() == std::uint64_t{threads * each - 1});
}

BOOST_AUTO_TEST_CASE(log_prints_one_line_per_period_with_the_count_and_formats_only_those) {
    set_log_level(log_level::info);
    log_limiter limiter(10s);
    auto t0 = log_limiter::clock::time_point{} + 1000s;
    int formatted = 0;
    auto message = [&] {
        ++formatted;
        return std::string("connection limit reached");
    };
    captured_stderr err;
    for (int i = 0; i < 1000; ++i) {
        limiter.log(log_level::warn, message, t0 + i * 1ms);
    }
    limiter.log(log_level::warn, message, t0 + 10s);
    limiter.log(log_level::debug, message, t0 + 30s); // not printed at info, and not counted
    limiter.log(log_level::warn, message, t0 + 40s);
    BOOST_TEST(err.text() == "warn: connection limit reached\n"
                             "warn: connection limit reached (999 more since the last line)\n"
                             "warn: connection limit reached\n");
    BOOST_TEST(formatted == 3);
}
