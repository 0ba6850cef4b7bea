#include "asio_echo/udp_responder.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include "asio_echo/coro.hpp"
#include "asio_echo/endpoint.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// Logs drops at most once per period, with how many there were since the last line, so a
/// flood cannot flood the log too.
class drop_reporter {
public:
    void dropped(const char* why, const asio::ip::udp::endpoint& from) {
        ++count_;
        auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::seconds(10)) {
            return;
        }
        last_ = now;
        log(log_level::warn, "dropped " + std::to_string(count_) + " datagram(s); latest: " + why +
                                 " from " + format_endpoint(from.address(), from.port()));
        count_ = 0;
    }

private:
    std::uint64_t count_ = 0;
    std::chrono::steady_clock::time_point last_{};
};

} // namespace

asio::awaitable<void> run_udp_responder(asio::ip::udp::socket& socket, const udp_env& env) {
    // Room for the largest datagram and one byte more, to tell an oversized one; on the
    // heap, since coroutine frames should stay small.
    constexpr std::size_t capacity = 64 * 1024;
    auto buffer = std::make_unique_for_overwrite<char[]>(capacity);
    std::optional<udp_rate_limiter> limiter;
    if (env.rate > 0) {
        limiter.emplace(env.rate, env.burst > 0 ? env.burst : env.rate);
    }
    drop_reporter reporter;
    auto& counters = env.counters;
    asio::ip::udp::endpoint sender;
    for (;;) {
        auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buffer.get(), capacity),
                                                          sender, nothrow);
        if (ec == asio::error::operation_aborted || !socket.is_open()) {
            co_return; // stop() closed the socket
        }
        if (ec) {
            // ECONNREFUSED and friends report an earlier send's ICMP error: not fatal.
            bump(counters.datagram_errors);
            continue;
        }
        bump(counters.datagrams_in);
        bump(counters.udp_bytes_in, n);
        if (env.guard.drops(sender.port())) {
            bump(counters.dropped_guard);
            reporter.dropped("guarded source port", sender);
            continue;
        }
        if (n >= capacity) { // the datagram was longer than the buffer: truncated
            bump(counters.dropped_oversize);
            reporter.dropped("oversized datagram", sender);
            continue;
        }
        if (limiter && !limiter->allow(sender.address(), std::chrono::steady_clock::now())) {
            bump(counters.dropped_rate);
            reporter.dropped("source over --udp-rate", sender);
            continue;
        }
        apply_transform(env.reply, {buffer.get(), n});
        auto [send_ec, sent] =
            co_await socket.async_send_to(asio::buffer(buffer.get(), n), sender, nothrow);
        if (send_ec) {
            bump(counters.datagram_errors);
            continue;
        }
        bump(counters.datagrams_out);
        bump(counters.udp_bytes_out, sent);
    }
}

} // namespace asio_echo
