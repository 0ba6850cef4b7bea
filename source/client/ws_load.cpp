// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/ws_load.hpp"

#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/load.hpp"
#include "asio_echo/client/payload.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/client/websocket.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

/// The schedule every connection follows; read-only once the threads run.
struct schedule {
    steady_clock::time_point measure_from; ///< after the warm-up
    steady_clock::time_point until;        ///< no message is sent after this
};

/// One thread: its io_context, its connections, what they counted. Shared-nothing: the
/// threads meet only when they are joined.
struct ws_worker {
    asio::io_context io{1};
    summary counted;
    std::exception_ptr failure; ///< the first connection that could not be made, or worse

    /// One connection: open, then message after message until the schedule ends.
    asio::awaitable<void> connection(const options& opts, tls_client* tls, const schedule& plan,
                                     const payload_pattern& pattern, std::size_t index) {
        auto ws = co_await ws_connection::open(opts, tls); // unavailable_error ends the run
        counted.target = ws.name();
        counted.handshake.record(
            static_cast<std::uint64_t>((ws.handshake_time() + ws.upgrade_time()).count()));
        auto timeout = to_duration(opts.timeout_seconds());
        try {
            for (std::uint64_t k = 0; steady_clock::now() < plan.until; ++k) {
                auto offset = payload_pattern::offset(k, index);
                auto message = std::span<const char>(pattern.sent.data() + offset, opts.size);
                auto begin = steady_clock::now();
                bool measured = begin >= plan.measure_from;
                co_await ws.send(message, false);
                counted.sent += measured ? 1 : 0;
                auto reply = co_await ws.receive(timeout);
                auto end = steady_clock::now();
                if (!measured) {
                    continue;
                }
                if (reply.size() != opts.size ||
                    std::memcmp(reply.data(), pattern.expected.data() + offset, opts.size) != 0) {
                    ++counted.mismatches;
                    continue;
                }
                ++counted.messages;
                counted.bytes += opts.size;
                counted.latency.record(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count()));
            }
        } catch (const check_failed&) {
            ++counted.errors; // the server closed, a reply did not come, a send failed
            co_return;
        }
        co_await ws.close(timeout);
    }
};

} // namespace

summary run_ws_load(const options& opts) {
    std::optional<tls_client> tls;
    if (opts.websocket.secure) {
        tls.emplace(opts.tls, opts.connect);
    }
    auto pattern = payload_pattern::letters(opts.size, opts.expect);
    auto start = steady_clock::now();
    schedule plan{start + to_duration(opts.warmup),
                  start + to_duration(opts.warmup + opts.duration)};
    std::vector<std::unique_ptr<ws_worker>> workers;
    for (unsigned t = 0; t < opts.threads; ++t) {
        workers.push_back(std::make_unique<ws_worker>());
    }
    for (unsigned c = 0; c < opts.connections; ++c) {
        auto& worker = *workers[c % workers.size()];
        asio::co_spawn(worker.io, worker.connection(opts, tls ? &*tls : nullptr, plan, pattern, c),
                       [&worker](std::exception_ptr e) {
                           if (e && !worker.failure) {
                               worker.failure = e;
                           }
                       });
    }
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
        threads.emplace_back([&worker] { worker->io.run(); });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    summary total;
    total.mode = "load";
    total.protocol = protocol_name(opts);
    total.connections = opts.connections;
    total.size = opts.size;
    total.seconds = opts.duration;
    for (auto& worker : workers) {
        if (worker->failure) {
            std::rethrow_exception(worker->failure);
        }
        const auto& w = worker->counted;
        if (total.target.empty()) {
            total.target = w.target;
        }
        total.sent += w.sent;
        total.messages += w.messages;
        total.bytes += w.bytes;
        total.errors += w.errors;
        total.mismatches += w.mismatches;
        total.latency.merge(w.latency);
        total.handshake.merge(w.handshake);
    }
    print_load(opts, total);
    return total;
}

} // namespace asio_echo::client
