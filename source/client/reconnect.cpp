// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/reconnect.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/transport.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::uint64_t never = UINT64_MAX;

} // namespace

/// One slot: the connection of its current cycle and where its echo lands.
struct reconnect_traffic::slot {
    slot(std::size_t index, std::size_t buffer)
        : id(index), receive(std::make_unique_for_overwrite<char[]>(buffer)), receive_size(buffer) {
    }

    std::size_t id;                  ///< 0..connections-1 over all workers
    std::uint64_t cycles = 0;        ///< connections begun (the next message's number)
    std::optional<transport> stream; ///< the current cycle's connection
    std::uint64_t deadline_ns = never;
    std::unique_ptr<char[]> receive;
    std::size_t receive_size;
};

reconnect_traffic::reconnect_traffic(asio::io_context& io, const options& opts,
                                     const payload_pattern& pattern, plan& schedule,
                                     tls_client* tls, tally& result,
                                     std::atomic<std::uint64_t>& progress)
    : io_(io), opts_(opts), pattern_(pattern), plan_(schedule), tls_(tls), result_(result),
      progress_(progress), timeout_ns_(static_cast<std::uint64_t>(opts.timeout_seconds() * 1e9)),
      priming_tick_(io) {}

reconnect_traffic::~reconnect_traffic() = default;

void reconnect_traffic::add(std::size_t id) {
    slots_.push_back(
        std::make_unique<slot>(id, std::clamp<std::size_t>(opts_.size, 512, 64 * 1024)));
}

void reconnect_traffic::prime(const tcp::endpoint& target) {
    target_ = target;
    target_name_ = format_endpoint(target.address(), target.port());
    priming_ = slots_.size();
    auto note = [this](std::exception_ptr e) {
        if (e && !crashed) {
            crashed = e;
        }
    };
    for (auto& s : slots_) {
        asio::co_spawn(io_, cycle(*s, false), [this, note](std::exception_ptr e, bool) {
            note(e);
            if (--priming_ == 0) {
                priming_tick_.cancel(); // the deadline watch ends now, not at its next tick
            }
        });
    }
    asio::co_spawn(io_, watch_priming(), note);
}

asio::awaitable<void> reconnect_traffic::watch_priming() {
    auto period = std::clamp<std::uint64_t>(timeout_ns_ / 4, 5'000'000, 100'000'000);
    while (priming_ > 0) {
        priming_tick_.expires_after(std::chrono::nanoseconds(period));
        co_await priming_tick_.async_wait(nothrow_in_place);
        check(now_ns(), false);
    }
}

asio::awaitable<void> reconnect_traffic::run(std::size_t index) {
    auto& s = *slots_[index];
    while (!abandon_ && !plan_.stopping(now_ns())) {
        if (!co_await cycle(s, true)) {
            break;
        }
    }
}

void reconnect_traffic::check(std::uint64_t now, bool abandon) {
    abandon_ = abandon_ || abandon;
    for (auto& s : slots_) {
        if (s->stream && (abandon_ || now >= s->deadline_ns)) {
            // The cycle's pending operation ends with operation_aborted; the cycle sees why.
            boost::system::error_code ignored;
            s->stream->socket().cancel(ignored);
        }
    }
}

void reconnect_traffic::local_limit(const boost::system::error_code& ec, bool measured) {
    if (ec == asio::error::no_descriptors) {
        out_of_descriptors = true;
    } else {
        out_of_ports = true;
    }
    if (measured) {
        plan_.stop_at(now_ns()); // every slot of every worker ends; the report so far stands
    } else if (failure.empty()) {
        failure = "cannot connect to " + target_name_ + ": " + ec.message();
    }
}

bool reconnect_traffic::end_cycle(slot& s, bool owed, bool counted) {
    if (abandon_) {
        result_.in_flight += owed && counted ? 1 : 0; // the grace ran out: not the server's fault
    } else {
        ++result_.errors;
        result_.lost += owed && counted ? 1 : 0;
    }
    boost::system::error_code ignored;
    s.stream->socket().close(ignored);
    s.stream.reset();
    return false;
}

asio::awaitable<bool> reconnect_traffic::cycle(slot& s, bool measured) {
    auto begin = now_ns();
    bool counted = measured && plan_.in_window(begin);
    auto k = s.cycles++;
    s.deadline_ns = begin + timeout_ns_;
    s.stream.emplace(tcp::socket(io_));
    auto [connect_ec] = co_await s.stream->socket().async_connect(target_, nothrow_in_place);
    auto ec = connect_ec;
    if (!ec) {
        s.stream->socket().set_option(tcp::no_delay(true), ec); // the message leaves at once
    }
    std::string refused; // the handshake's failure, OpenSSL's reason in it
    if (!ec && tls_ != nullptr) {
        auto left = s.deadline_ns > now_ns() ? s.deadline_ns - now_ns() : 1'000'000;
        try {
            co_await s.stream->start_tls(*tls_, std::chrono::nanoseconds(left));
        } catch (const unavailable_error& e) {
            refused = e.what();
        } catch (const boost::system::system_error& e) {
            refused = "cannot connect to " + target_name_ + ": " + e.code().message();
        }
    }
    if (ec || !refused.empty()) {
        bool expired = now_ns() >= s.deadline_ns;
        if (!abandon_ && (ec == asio::error::no_descriptors ||
                          ec == boost::system::errc::address_not_available)) {
            local_limit(ec, measured);
            s.stream.reset();
            co_return false;
        }
        if (!abandon_ && !measured && failure.empty()) {
            failure = !refused.empty() ? refused
                      : expired        ? "cannot connect to " + target_name_ + ": timed out"
                                       : "cannot connect to " + target_name_ + ": " + ec.message();
        }
        co_return end_cycle(s, false, counted);
    }
    auto connected = now_ns();
    if (counted) {
        result_.connect.record(connected - begin);
        if (tls_ != nullptr) {
            result_.handshake.record(
                static_cast<std::uint64_t>(s.stream->handshake_time().count()));
        }
    }

    // One message, then its whole echo, compared byte by byte with what a correct server sends.
    auto offset = payload_pattern::offset(k, s.id);
    result_.sent += counted ? 1 : 0;
    auto [write_ec, written] = co_await asio::async_write(
        *s.stream, asio::buffer(pattern_.sent.data() + offset, opts_.size), nothrow_in_place);
    if (write_ec) {
        co_return end_cycle(s, true, counted);
    }
    std::size_t got = 0;
    bool same = true;
    while (got < opts_.size) {
        auto want = std::min(opts_.size - got, s.receive_size);
        auto [read_ec, n] = co_await s.stream->async_read_some(asio::buffer(s.receive.get(), want),
                                                               nothrow_in_place);
        if (read_ec) {
            // Under TLS 1.3 a server refuses a client certificate after the handshake.
            if (auto refusal_text = tls_rejection(*s.stream, read_ec, got > 0, target_name_);
                refusal_text && refusal.empty()) {
                refusal = *refusal_text;
            }
            co_return end_cycle(s, true, counted);
        }
        same =
            same && std::memcmp(s.receive.get(), pattern_.expected.data() + offset + got, n) == 0;
        got += n;
    }
    auto echoed = now_ns();
    s.deadline_ns = never;
    if (!same) {
        ++result_.mismatches;
    }
    if (counted) {
        ++result_.messages;
        result_.bytes += opts_.size;
        result_.latency.record(echoed - connected);
    }
    progress_.store(progress_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);

    // Every byte is back: close_notify (TLS) or FIN, then the server's, drops nothing owed.
    co_await s.stream->close(to_duration(opts_.timeout_seconds()));
    s.stream.reset();
    if (abandon_) {
        co_return false;
    }
    result_.connections_made += counted ? 1 : 0;
    co_return true;
}

} // namespace asio_echo::client
