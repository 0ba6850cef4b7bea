// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/ping.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/output.hpp"
#include "asio_echo/client/payload.hpp"
#include "asio_echo/client/report.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/client/transport.hpp"
#include "asio_echo/client/websocket.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using std::chrono::steady_clock;

namespace {

enum class outcome { reply, mismatch, timeout };

/// One pinger: the connection, the probe buffers, the counts. Runs on one thread.
class pinger {
public:
    explicit pinger(const options& opts)
        : opts_(opts), pattern_(payload_pattern::letters(opts.size, opts.expect)),
          probe_(opts.size), expected_(opts.size), reply_(opts.size < 65536 ? 65536 : opts.size) {
        result.mode = "ping";
        result.protocol = protocol_name(opts);
        if (opts.tls.enabled) {
            tls_.emplace(opts.tls, opts.connect);
        }
        result.connections = 1;
        result.size = opts.size;
    }

    summary result;        ///< sent = probes sent, messages = replies received
    std::string failure;   ///< set when the run had to stop (the server closed)
    bool rejected = false; ///< the failure is the server's refusal of the TLS session
    steady_clock::time_point started;

    asio::awaitable<void> connect() {
        auto timeout = to_duration(opts_.timeout_seconds());
        if (opts_.udp) {
            udp_.emplace(co_await connect_udp(opts_.connect, timeout));
            auto remote = udp_->remote_endpoint();
            result.target = format_endpoint(remote.address(), remote.port());
        } else if (opts_.websocket.enabled) {
            // One connection for every probe; its TLS handshake and upgrade are one sample.
            ws_.emplace(co_await ws_connection::open(opts_, tls_ ? &*tls_ : nullptr));
            result.target = ws_->name();
            result.handshake.record(
                static_cast<std::uint64_t>((ws_->handshake_time() + ws_->upgrade_time()).count()));
        } else {
            co_await open();
            auto remote = tcp_->socket().remote_endpoint();
            result.target = format_endpoint(remote.address(), remote.port());
        }
    }

    /// Probes until --count is reached or the server fails; cancelled by a signal.
    asio::awaitable<void> run() {
        asio::steady_timer pause(co_await asio::this_coro::executor);
        started = steady_clock::now();
        for (std::uint64_t seq = 0; opts_.count == 0 || seq < opts_.count; ++seq) {
            if (seq > 0) {
                pause.expires_at(started + to_duration(opts_.interval * static_cast<double>(seq)));
                co_await pause.async_wait(nothrow);
            }
            // Over TLS each probe has its own connection: its handshake is timed apart from the
            // echo, and the handshakes add up to a distribution as the round trips do.
            if (tls_ && !tcp_ && !ws_) {
                try {
                    co_await open();
                } catch (const unavailable_error& e) {
                    failure = e.what();
                    break;
                }
            }
            prepare(seq);
            auto begin = steady_clock::now();
            auto what = ws_    ? co_await probe_ws()
                        : tcp_ ? co_await probe_tcp()
                               : co_await probe_udp(seq);
            auto rtt =
                std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - begin);
            if (!failure.empty()) {
                break;
            }
            if (tls_ && !ws_) {
                // Every reply byte is in (or the probe timed out): close_notify drops nothing owed.
                co_await tcp_->close(to_duration(opts_.timeout_seconds()));
                tcp_.reset();
                owed_ = 0;
            }
            ++result.sent;
            print_probe(seq, what, static_cast<double>(rtt.count()));
            if (what == outcome::timeout) {
                ++result.lost;
                continue;
            }
            ++result.messages;
            result.bytes += opts_.size;
            result.latency.record(static_cast<std::uint64_t>(rtt.count()));
            if (what == outcome::mismatch) {
                ++result.mismatches;
            }
        }
        if (ws_) {
            co_await ws_->close(to_duration(opts_.timeout_seconds()));
        }
    }

private:
    /// Connects (and handshakes under --tls, recording its time).
    asio::awaitable<void> open() {
        tcp_.emplace(co_await open_transport(opts_, tls_ ? &*tls_ : nullptr));
        if (tls_) {
            handshake_ = tcp_->handshake_time();
            result.handshake.record(static_cast<std::uint64_t>(handshake_.count()));
        }
    }

    void prepare(std::uint64_t seq) {
        auto offset = payload_pattern::offset(seq, 0);
        std::memcpy(probe_.data(), pattern_.sent.data() + offset, opts_.size);
        std::memcpy(expected_.data(), pattern_.expected.data() + offset, opts_.size);
        if (opts_.size >= header_size) {
            write_header(std::span<char, header_size>(probe_.data(), header_size), seq);
            write_header(std::span<char, header_size>(expected_.data(), header_size), seq);
        }
    }

    asio::awaitable<outcome> probe_tcp() {
        auto [write_ec, written] = co_await asio::async_write(*tcp_, asio::buffer(probe_), nothrow);
        if (write_ec) {
            failure = "cannot send to " + result.target + ": " + write_ec.message();
            co_return outcome::timeout;
        }
        // First the rest of replies that timed out earlier, then this one.
        std::size_t wanted = owed_ + opts_.size;
        std::size_t got = 0;
        asio::steady_timer deadline(tcp_->get_executor(), to_duration(opts_.timeout_seconds()));
        while (got < wanted) {
            std::size_t skip = got < owed_ ? owed_ - got : 0;
            auto into = skip > 0 ? asio::buffer(reply_.data(), std::min(skip, reply_.size()))
                                 : asio::buffer(reply_.data() + (got - owed_), wanted - got);
            auto step =
                co_await (tcp_->async_read_some(into, nothrow) || deadline.async_wait(nothrow));
            if (step.index() == 1) {
                owed_ = wanted - got;
                co_return outcome::timeout;
            }
            auto [ec, n] = std::get<0>(step);
            if (auto refusal =
                    tls_rejection(*tcp_, ec, got > 0 || result.messages > 0, result.target)) {
                failure = *refusal;
                rejected = true;
                co_return outcome::timeout;
            }
            if (ec) {
                failure = is_end_of_stream(ec)
                              ? "server " + result.target + " closed the connection"
                              : "cannot read from " + result.target + ": " + ec.message();
                co_return outcome::timeout;
            }
            got += n;
        }
        owed_ = 0;
        co_return std::memcmp(reply_.data(), expected_.data(), opts_.size) == 0 ? outcome::reply
                                                                                : outcome::mismatch;
    }

    /// A probe over WebSocket: one binary message, its echo the next message. A reply that
    /// does not come in time ends the run: the stream cannot be read on after the read was
    /// abandoned.
    asio::awaitable<outcome> probe_ws() {
        try {
            co_await ws_->send(probe_, false);
            auto reply = co_await ws_->receive(to_duration(opts_.timeout_seconds()));
            co_return reply.size() ==
                    opts_.size&& std::memcmp(reply.data(), expected_.data(), opts_.size) == 0
                ? outcome::reply
                : outcome::mismatch;
        } catch (const check_failed& e) {
            failure = e.what();
            co_return outcome::timeout;
        }
    }

    asio::awaitable<outcome> probe_udp(std::uint64_t seq) {
        auto [send_ec, sent] = co_await udp_->async_send(asio::buffer(probe_), nothrow);
        if (send_ec) {
            failure = "cannot send to " + result.target + ": " + send_ec.message();
            co_return outcome::timeout;
        }
        asio::steady_timer deadline(udp_->get_executor(), to_duration(opts_.timeout_seconds()));
        for (;;) {
            auto step = co_await (udp_->async_receive(asio::buffer(reply_), nothrow) ||
                                  deadline.async_wait(nothrow));
            if (step.index() == 1) {
                co_return outcome::timeout;
            }
            auto [ec, n] = std::get<0>(step);
            if (ec) {
                // ICMP port unreachable from an earlier probe: this probe is lost, not the run.
                co_return outcome::timeout;
            }
            if (opts_.size >= header_size && n >= header_size) {
                auto header =
                    read_header(std::span<const char, header_size>(reply_.data(), header_size));
                if (header && *header != static_cast<std::uint32_t>(seq)) {
                    continue; // the late reply to an earlier probe
                }
            }
            bool same =
                n == opts_.size && std::memcmp(reply_.data(), expected_.data(), opts_.size) == 0;
            co_return same ? outcome::reply : outcome::mismatch;
        }
    }

    void print_probe(std::uint64_t seq, outcome what, double rtt_ns) const {
        if (opts_.json) {
            return;
        }
        if (what == outcome::timeout) {
            print_out("timeout from %s: seq=%llu\n", result.target.c_str(),
                      static_cast<unsigned long long>(seq));
        } else {
            std::string handshake;
            if (tls_ && !ws_) {
                handshake =
                    " handshake " + format_ms(static_cast<double>(handshake_.count())) + " ms";
            }
            print_out("%zu bytes from %s: seq=%llu time=%s ms%s%s\n", opts_.size,
                      result.target.c_str(), static_cast<unsigned long long>(seq),
                      format_ms(rtt_ns).c_str(), handshake.c_str(),
                      what == outcome::mismatch ? " (MISMATCH)" : "");
        }
    }

    const options& opts_;
    payload_pattern pattern_;
    std::vector<char> probe_;
    std::vector<char> expected_;
    std::vector<char> reply_;
    std::size_t owed_ = 0;                 ///< TCP: bytes of timed-out replies still to come
    std::chrono::nanoseconds handshake_{}; ///< TLS: the handshake of the last probe's connection
    std::optional<tls_client> tls_;        ///< --tls: one context for every probe's connection
    std::optional<transport> tcp_;         ///< TCP, or TLS (then the current probe's connection)
    std::optional<asio::ip::udp::socket> udp_;
    std::optional<ws_connection> ws_; ///< ws:// or wss://: one connection for every probe
};

void print_summary(const options& opts, const summary& s) {
    double lost_percent =
        s.sent ? 100.0 * static_cast<double>(s.sent - s.messages) / static_cast<double>(s.sent)
               : 0.0;
    if (opts.json) {
        auto object = to_json(s);
        object.add("sent", s.sent).add("received", s.messages).add("lost", s.sent - s.messages);
        object.add("lost_percent", lost_percent);
        print_out("%s\n", object.str().c_str());
        return;
    }
    const auto& h = s.latency;
    print_out("--- %s ping statistics ---\n", s.target.c_str());
    print_out("%llu sent, %llu received, %.3g%% lost, %llu mismatched, time %.0f ms\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.messages),
              lost_percent, static_cast<unsigned long long>(s.mismatches), s.seconds * 1000);
    if (h.count() > 0) {
        print_out("rtt min/avg/max/stddev = %s/%s/%s/%s ms\n",
                  format_ms(static_cast<double>(h.min())).c_str(), format_ms(h.mean()).c_str(),
                  format_ms(static_cast<double>(h.max())).c_str(), format_ms(h.stddev()).c_str());
        print_out("rtt p50/p90/p99 = %s/%s/%s ms\n",
                  format_ms(static_cast<double>(h.percentile(50))).c_str(),
                  format_ms(static_cast<double>(h.percentile(90))).c_str(),
                  format_ms(static_cast<double>(h.percentile(99))).c_str());
    }
    if (const auto& tls = s.handshake; tls.count() > 0) {
        print_out("handshake p50/p90/p99/max = %s/%s/%s/%s ms\n",
                  format_ms(static_cast<double>(tls.percentile(50))).c_str(),
                  format_ms(static_cast<double>(tls.percentile(90))).c_str(),
                  format_ms(static_cast<double>(tls.percentile(99))).c_str(),
                  format_ms(static_cast<double>(tls.max())).c_str());
    }
}

} // namespace

void run_ping(const options& opts) {
    asio::io_context io;
    pinger ping(opts);
    run_blocking(io, [&]() -> asio::awaitable<void> {
        co_await ping.connect();
        if (!opts.json) {
            print_out("PING %s (%s): %zu bytes per probe\n", ping.result.target.c_str(),
                      ping.result.protocol.c_str(), opts.size);
        }
        // Ctrl-C ends the probes (the one in flight is not counted), then the summary follows.
        asio::signal_set signals(io, SIGINT, SIGTERM);
        co_await (ping.run() || signals.async_wait(nothrow));
    }());
    ping.result.seconds = std::chrono::duration<double>(steady_clock::now() - ping.started).count();
    print_summary(opts, ping.result);
    if (ping.rejected) {
        throw unavailable_error(ping.failure);
    }
    if (!ping.failure.empty()) {
        throw check_failed(ping.failure);
    }
    if (ping.result.sent > 0 && ping.result.messages == 0) {
        throw check_failed("no reply from " + ping.result.target + " to any of " +
                           std::to_string(ping.result.sent) + " probes");
    }
    if (ping.result.mismatches > 0) {
        throw check_failed(std::to_string(ping.result.mismatches) + " of " +
                           std::to_string(ping.result.messages) +
                           " replies differed from what was sent (under --expect " +
                           std::string(to_string(opts.expect)) + ")");
    }
}

} // namespace asio_echo::client
