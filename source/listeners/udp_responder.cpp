// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/udp_responder.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include "asio_echo/coro.hpp"
#include "asio_echo/datagram_batch.hpp"
#include "asio_echo/endpoint.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// The drop line of every datagram loop: one per 10 s, so a flood cannot flood the log too.
log_limiter drop_lines;

/// Collects a batch's drops, and reports them through drop_lines with the latest reason.
class drop_reporter {
public:
    void dropped(const char* why, const asio::ip::udp::endpoint& from) {
        ++count_;
        why_ = why;
        from_ = from;
    }

    /// Ends the batch.
    void flush(std::chrono::steady_clock::time_point now) {
        if (count_ == 0 || !log_enabled(log_level::warn)) {
            count_ = 0;
            return;
        }
        if (auto held = drop_lines.admit(now, count_)) {
            log(log_level::warn, "dropped " + std::to_string(*held + count_) +
                                     " datagram(s); latest: " + why_ + " from " +
                                     format_endpoint(from_.address(), from_.port()));
        }
        count_ = 0;
    }

private:
    std::uint64_t count_ = 0;
    const char* why_ = "";
    asio::ip::udp::endpoint from_;
};

/// Counts locally and adds to the shared counters once per batch.
struct batch_counts {
    std::uint64_t in = 0, bytes_in = 0, out = 0, bytes_out = 0, errors = 0;
    std::uint64_t guard = 0, oversize = 0, rate = 0, denied = 0;

    void flush(stats& counters) const {
        auto add = [](std::atomic<std::uint64_t>& counter, std::uint64_t n) {
            if (n != 0) {
                bump(counter, n);
            }
        };
        add(counters.datagrams_in, in);
        add(counters.udp_bytes_in, bytes_in);
        add(counters.datagrams_out, out);
        add(counters.udp_bytes_out, bytes_out);
        add(counters.datagram_errors, errors);
        add(counters.dropped_guard, guard);
        add(counters.dropped_oversize, oversize);
        add(counters.dropped_rate, rate);
        add(counters.dropped_denied, denied);
    }
};

/// Datagrams received per system call, and batches handled per wake-up before the loop
/// lets the other work of its thread run.
constexpr std::size_t batch_size = 32;
constexpr int batches_per_wakeup = 4;

} // namespace

asio::awaitable<void> run_udp_responder(asio::ip::udp::socket& socket, const udp_env& env) {
    // Replies leave from the address each datagram was sent to (a socket systemd passed too).
    datagram_batch::ask_for_destinations(socket);
    // A slot holds the largest datagram; only the pages datagrams touch become resident.
    datagram_batch batch(batch_size, 64 * 1024);
    std::optional<udp_rate_limiter> limiter;
    if (env.rate > 0) {
        limiter.emplace(env.rate, env.burst > 0 ? env.burst : env.rate);
    }
    drop_reporter reporter;
    for (;;) {
        auto [wait_ec] = co_await socket.async_wait(asio::socket_base::wait_read, nothrow_in_place);
        if (wait_ec == asio::error::operation_aborted || !socket.is_open()) {
            co_return; // stop() closed the socket
        }
        for (int round = 0; round < batches_per_wakeup; ++round) {
            batch_counts counts;
            boost::system::error_code ec;
            std::size_t received = batch.receive(socket, ec);
            if (ec && ec != asio::error::would_block) {
                // ECONNREFUSED and friends report an earlier send's ICMP error: not fatal.
                bump(env.counters.datagram_errors);
                continue;
            }
            // Drop what must not be answered; transform the rest in place.
            batch.clear_replies();
            auto now = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < received; ++i) {
                auto data = batch.payload(i);
                const auto& sender = batch.peer(i);
                ++counts.in;
                counts.bytes_in += data.size();
                if (env.guard.drops(sender.port())) {
                    ++counts.guard;
                    reporter.dropped(env.guard.is_own_port(sender.port())
                                         ? "source port is one of this server's UDP ports"
                                         : "guarded source port",
                                     sender);
                } else if (!env.access.empty() && !env.access.permits(sender.address())) {
                    ++counts.denied;
                    reporter.dropped("source not allowed (--allow, --deny)", sender);
                } else if (batch.truncated(i)) {
                    ++counts.oversize;
                    reporter.dropped("oversized datagram", sender);
                } else if (limiter && !limiter->allow(sender.address(), now)) {
                    ++counts.rate;
                    reporter.dropped("source over --udp-rate", sender);
                } else {
                    apply_transform(env.reply, data);
                    batch.add_reply(i, data.size());
                }
            }
            // Send them all back; wait for room when the socket buffer is full.
            for (std::size_t next = 0; next < batch.replies() && socket.is_open();) {
                std::size_t sent = batch.send(socket, next, ec);
                for (std::size_t r = next; r < next + sent; ++r) {
                    ++counts.out;
                    counts.bytes_out += batch.reply_size(r);
                }
                next += sent;
                if (ec == asio::error::would_block) {
                    co_await socket.async_wait(asio::socket_base::wait_write, nothrow_in_place);
                } else if (ec) {
                    ++counts.errors; // this datagram alone: say, an unreachable peer
                    ++next;
                }
            }
            counts.flush(env.counters);
            reporter.flush(now);
            if (received < batch.capacity()) {
                break; // the socket is drained
            }
        }
    }
}

} // namespace asio_echo
