// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/load.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <latch>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <variant>
#include <vector>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "asio_echo/client/connect.hpp"
#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/load_plan.hpp"
#include "asio_echo/client/output.hpp"
#include "asio_echo/client/payload.hpp"
#include "asio_echo/client/reconnect.hpp"
#include "asio_echo/client/tls.hpp"
#include "asio_echo/coro.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;
using asio::ip::udp;
using std::chrono::steady_clock;

namespace {

steady_clock::time_point at_ns(std::uint64_t ns) {
    return steady_clock::time_point(
        std::chrono::duration_cast<steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

/// One connection (or UDP socket) and its messages in flight. Touched by its worker only.
struct connection {
    connection(asio::io_context& io, std::size_t index, std::size_t window, std::size_t buffer)
        : id(index), timer(io), intended(std::make_unique<std::uint64_t[]>(window)),
          sent_at(std::make_unique<std::uint64_t[]>(window)),
          active(std::make_unique<bool[]>(window)), counted(std::make_unique<bool[]>(window)),
          receive(std::make_unique_for_overwrite<char[]>(buffer)), receive_size(buffer) {}

    std::size_t id; ///< 0..connections-1 over all workers
    std::optional<tcp::socket> stream;
    std::optional<udp::socket> datagram;
    std::optional<asio::ssl::stream<tcp::socket>> secure; ///< --tls (then stream is empty)
    asio::cancellation_signal read_cancel;     ///< TLS: wakes the reader alone (a write goes on)
    asio::steady_timer timer;                  ///< the writer's: next intended send, or a wake-up
    std::unique_ptr<std::uint64_t[]> intended; ///< per slot: latency is measured from this
    std::unique_ptr<std::uint64_t[]> sent_at;  ///< per slot: UDP loss is judged from this
    std::unique_ptr<bool[]> active;            ///< per slot (UDP): awaiting its reply
    std::unique_ptr<bool[]> counted;           ///< per slot: sent in the measured window
    std::unique_ptr<char[]> receive;           ///< replies land here
    std::size_t receive_size;
    std::uint64_t next_send = 0;     ///< messages queued so far (the next one's number)
    std::uint64_t next_reply = 0;    ///< TCP: replies complete; UDP: oldest unresolved message
    std::uint64_t written = 0;       ///< TCP: messages fully written
    std::size_t write_offset = 0;    ///< TCP: bytes of message `written` already written
    std::size_t reply_offset = 0;    ///< TCP: bytes of message `next_reply` already received
    bool reply_bad = false;          ///< TCP: message `next_reply` differed so far
    bool writer_parked = false;      ///< the writer sleeps on timer; the reader may cancel it
    bool parked_for_room = false;    ///< ... until woken (no next send time: the window is full)
    bool write_blocked = false;      ///< TCP: the writer waits for the socket to take more
    bool closing = false;            ///< the connection is over: both coroutines end
    bool received_any = false;       ///< TLS: a reply byte came (a TLS error is no refusal)
    boost::system::error_code error; ///< why it failed (reset, EOF, send error); clear if not
    bool done = false;
};

/// One thread with its own io_context and its share of the connections (shared-nothing: no
/// locks, no strands; the workers meet only at the latches and the relaxed progress counter).
class worker {
public:
    worker(const options& opts, const payload_pattern& pattern, plan& schedule, tls_client* tls)
        : opts_(opts), pattern_(pattern), plan_(schedule), tls_(tls), io_(1) {
        if (opts.reconnect) {
            reconnect_.emplace(io_, opts, pattern, schedule, tls, result, progress);
        }
    }

    /// The connections' progress for the terminal's progress line. Thread safe.
    std::atomic<std::uint64_t> progress{0};
    tally result;
    std::string failure; ///< the first connect failure
    std::string refusal; ///< TLS: the first session the server refused after the handshake
    bool out_of_descriptors = false; ///< it was the process's descriptor limit (EMFILE)
    bool out_of_ports = false;       ///< --reconnect: no local port was free (EADDRNOTAVAIL)
    std::exception_ptr crashed;      ///< a coroutine that threw (a bug)

    void add(std::size_t id) {
        if (reconnect_) {
            reconnect_->add(id);
            return;
        }
        std::size_t window = opts_.pipeline;
        std::size_t buffer =
            opts_.udp ? std::max<std::size_t>(opts_.size + 1, 2048)
                      : std::clamp<std::size_t>(window * opts_.size + 64, 512, 64 * 1024);
        conns_.push_back(std::make_unique<connection>(io_, id, window, buffer));
    }

    /// Opens every connection (in parallel, bounded by --timeout). Call from the worker thread.
    void connect_all(const tcp::endpoint& target) {
        if (reconnect_) {
            // Each slot's first connection, uncounted, before the clock.
            reconnect_->prime(target);
            io_.run();
            io_.restart();
            failure = reconnect_->failure.empty() ? reconnect_->refusal : reconnect_->failure;
            crashed = reconnect_->crashed;
            collect();
            return;
        }
        for (auto& c : conns_) {
            asio::co_spawn(io_, connect_one(*c, target), [this](std::exception_ptr e) {
                if (e && !crashed) {
                    crashed = e;
                }
            });
        }
        io_.run();
        io_.restart();
    }

    /// Makes the watchdog look at the plan now (a stop or a hurry). Thread safe.
    void poke() {
        asio::post(io_, [this] { tick_.cancel(); });
    }

    /// Runs the load until the plan's end and the grace. Call from the worker thread.
    void run() {
        live_ = conns_.size() + (reconnect_ ? reconnect_->size() : 0);
        for (std::size_t i = 0; reconnect_ && i < reconnect_->size(); ++i) {
            asio::co_spawn(io_, reconnect_->run(i), [this](std::exception_ptr e) {
                if (--live_ == 0) {
                    tick_.cancel();
                }
                if (e && !crashed) {
                    crashed = e;
                }
            });
        }
        for (auto& c : conns_) {
            auto loop = opts_.udp ? udp_connection(*c)
                        : tls_    ? tls_connection(*c)
                                  : tcp_connection(*c);
            asio::co_spawn(io_, std::move(loop), [this, &c = *c](std::exception_ptr e) {
                c.done = true;
                if (--live_ == 0) {
                    tick_.cancel(); // the watchdog ends now, not at its next tick
                }
                if (e && !crashed) {
                    crashed = e;
                }
            });
        }
        asio::co_spawn(io_, watchdog(), [this](std::exception_ptr e) {
            if (e && !crashed) {
                crashed = e;
            }
        });
        io_.run();
        collect();
    }

private:
    /// --reconnect: what the slots met, as the other modes report it.
    void collect() {
        if (reconnect_) {
            refusal = refusal.empty() ? reconnect_->refusal : refusal;
            out_of_descriptors = out_of_descriptors || reconnect_->out_of_descriptors;
            out_of_ports = out_of_ports || reconnect_->out_of_ports;
        }
    }

    asio::awaitable<void> connect_one(connection& c, tcp::endpoint target) {
        boost::system::error_code ec;
        if (opts_.udp) {
            c.datagram.emplace(io_);
            c.datagram->connect(udp::endpoint(target.address(), target.port()), ec);
            if (!ec) {
                c.datagram->non_blocking(true, ec);
            }
        } else {
            c.stream.emplace(io_);
            asio::steady_timer deadline(io_, to_duration(opts_.timeout_seconds()));
            auto outcome =
                co_await (c.stream->async_connect(target, nothrow) || deadline.async_wait(nothrow));
            if (outcome.index() == 1) {
                ec = asio::error::timed_out;
            } else {
                ec = std::get<0>(std::get<0>(outcome));
            }
            if (!ec) {
                c.stream->set_option(tcp::no_delay(true), ec);
                if (!tls_) {
                    c.stream->non_blocking(true, ec);
                }
            }
            if (!ec && tls_) {
                co_await start_tls(c, target, deadline);
                co_return;
            }
        }
        if (ec == asio::error::no_descriptors) {
            out_of_descriptors = true;
        }
        if (ec && failure.empty()) {
            failure = "cannot connect to " + format_endpoint(target.address(), target.port()) +
                      ": " + ec.message();
        }
    }

    /// TLS: handshakes over the connected c.stream before deadline, recording its time.
    asio::awaitable<void> start_tls(connection& c, const tcp::endpoint& target,
                                    const asio::steady_timer& deadline) {
        target_name_ = format_endpoint(target.address(), target.port());
        c.secure.emplace(std::move(*c.stream), tls_->context());
        c.stream.reset();
        auto begin = steady_clock::now();
        auto left = std::max<steady_clock::duration>(deadline.expiry() - begin,
                                                     std::chrono::milliseconds(1));
        try {
            co_await tls_->handshake(*c.secure, format_endpoint(target.address(), target.port()),
                                     left);
            result.handshake.record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - begin)
                    .count()));
        } catch (const unavailable_error& e) {
            if (failure.empty()) {
                failure = e.what();
            }
        }
    }

    /// Wakes whatever waits on c's socket (TLS: only its reader: a TLS record cut mid-write
    /// would end the connection).
    static void wake(connection& c) {
        boost::system::error_code ignored;
        if (c.secure) {
            // ssl::stream's read passes on terminal cancellation only (its default filter). It
            // lands in the socket read, where the engine is untouched (a client's read writes
            // nothing unless the server asks for a key update): the stream stays usable.
            c.read_cancel.emit(asio::cancellation_type::terminal);
        } else if (c.stream) {
            c.stream->cancel(ignored);
        } else {
            c.datagram->cancel(ignored);
        }
    }

    bool in_window(std::uint64_t now) const noexcept { return plan_.in_window(now); }

    bool stopping(std::uint64_t now) const noexcept { return plan_.stopping(now); }

    std::uint64_t intended_time(const connection& c, std::uint64_t k) const noexcept {
        return plan_.start_ns +
               static_cast<std::uint64_t>(plan_.phase_ns * static_cast<double>(c.id) +
                                          plan_.period_ns * static_cast<double>(k));
    }

    /// A reply is complete: count it (and time it) when its message was sent in the window.
    void complete(connection& c, std::size_t slot, std::uint64_t now, bool same) noexcept {
        if (!same) {
            ++result.mismatches;
        }
        if (c.counted[slot]) {
            ++result.messages;
            result.bytes += opts_.size;
            result.latency.record(now > c.intended[slot] ? now - c.intended[slot] : 0);
        }
        progress.store(progress.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    /// Queues the messages the window (and --rate) allow now; returns how many.
    std::size_t queue(connection& c, std::uint64_t now) {
        std::size_t queued = 0;
        while (c.next_send - c.next_reply < opts_.pipeline) {
            std::uint64_t intended = now;
            if (plan_.period_ns > 0) {
                intended = intended_time(c, c.next_send);
                if (intended > now) {
                    break;
                }
            }
            auto slot = c.next_send % opts_.pipeline;
            c.intended[slot] = intended;
            c.sent_at[slot] = now;
            c.active[slot] = true;
            c.counted[slot] = in_window(now);
            result.sent += c.counted[slot] ? 1 : 0;
            ++c.next_send;
            ++queued;
        }
        return queued;
    }

    /// True when the window has room for another message now or later (--rate).
    bool room(const connection& c) const noexcept {
        return c.next_send - c.next_reply < opts_.pipeline;
    }

    /// Wakes a parked writer: always when the reader left bytes unwritten (unwritten), else
    /// only if it waits for the room the reader just made (not for its next send time).
    static void wake_writer(connection& c, bool unwritten) {
        if (c.writer_parked && (unwritten || c.parked_for_room)) {
            c.timer.cancel();
        }
    }

    /// The writer sleeps until the next intended send (--rate, room in the window) or until
    /// the reader wakes it.
    asio::awaitable<void> park(connection& c) {
        c.parked_for_room = plan_.period_ns == 0 || !room(c);
        c.timer.expires_at(c.parked_for_room ? asio::steady_timer::time_point::max()
                                             : at_ns(intended_time(c, c.next_send)));
        c.writer_parked = true;
        co_await c.timer.async_wait(nothrow);
        c.writer_parked = false;
    }

    /// Ends the connection: both coroutines stop waiting and return.
    static void close_down(connection& c, boost::system::error_code ec) {
        if (ec && !c.error) {
            c.error = ec;
        }
        c.closing = true;
        boost::system::error_code ignored;
        if (c.secure) {
            c.secure->next_layer().cancel(ignored); // the connection is over: writes too
        } else if (c.stream) {
            c.stream->cancel(ignored);
        } else {
            c.datagram->cancel(ignored);
        }
        c.timer.cancel();
    }

    /// Every message still owed is lost when its connection failed, otherwise in flight.
    void settle(connection& c) {
        for (auto k = c.next_reply; k < c.next_send; ++k) {
            auto slot = k % opts_.pipeline;
            if (c.active[slot] && c.counted[slot]) {
                ++(c.error ? result.lost : result.in_flight);
            }
        }
        if (c.error) {
            ++result.errors;
        }
        boost::system::error_code ignored;
        if (c.secure) {
            c.secure->next_layer().close(ignored);
        } else if (c.stream) {
            c.stream->close(ignored);
        } else {
            c.datagram->close(ignored);
        }
    }

    /// TCP: writes queued messages without waiting (gathered); false on a hard error.
    bool flush(connection& c, boost::system::error_code& ec) {
        while (c.written < c.next_send) {
            std::array<asio::const_buffer, 16> pieces;
            std::size_t count = 0;
            for (auto k = c.written; k < c.next_send && count < pieces.size(); ++k, ++count) {
                std::size_t skip = k == c.written ? c.write_offset : 0;
                auto offset = payload_pattern::offset(k, c.id) + skip;
                pieces[count] = asio::buffer(pattern_.sent.data() + offset, opts_.size - skip);
            }
            auto n = c.stream->write_some(std::span(pieces.data(), count), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                ec.clear();
                return true;
            }
            if (ec) {
                return false;
            }
            n += c.write_offset;
            c.written += n / opts_.size;
            c.write_offset = n % opts_.size;
        }
        return true;
    }

    /// TCP: checks received bytes against the expected replies; false when more came than sent.
    bool consume(connection& c, const char* data, std::size_t n, std::uint64_t now) {
        while (n > 0) {
            if (c.next_reply == c.next_send) {
                ++result.mismatches; // bytes nobody asked for
                return false;
            }
            auto take = std::min(n, opts_.size - c.reply_offset);
            auto expected = pattern_.expected.data() + payload_pattern::offset(c.next_reply, c.id) +
                            c.reply_offset;
            if (std::memcmp(data, expected, take) != 0) {
                c.reply_bad = true;
            }
            data += take;
            n -= take;
            c.reply_offset += take;
            if (c.reply_offset == opts_.size) {
                auto slot = c.next_reply % opts_.pipeline;
                complete(c, slot, now, !c.reply_bad);
                c.active[slot] = false;
                ++c.next_reply;
                c.reply_offset = 0;
                c.reply_bad = false;
            }
        }
        return true;
    }

    // A connection is a reader and a writer sharing its state on the worker's one thread. No
    // operation is ever raced against another (`||` discards the loser's result even when it
    // completed: a read's bytes would be lost and every later reply misjudged).

    asio::awaitable<void> tcp_connection(connection& c) {
        co_await (tcp_reader(c) && tcp_writer(c));
        settle(c);
    }

    /// TCP: reads and checks replies until none is owed at the end (or the run gives up). The
    /// hot path: the next request leaves as soon as its reply is read (written here unless the
    /// writer is waiting for the socket).
    asio::awaitable<void> tcp_reader(connection& c) {
        auto& socket = *c.stream;
        boost::system::error_code ec;
        while (!c.closing && !abandon_ && !(c.next_reply == c.next_send && stopping(now_ns()))) {
            auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, nothrow_in_place);
            if (wait_ec == asio::error::operation_aborted) {
                continue; // woken: the end, a stop, or the writer closing
            }
            if (wait_ec) {
                ec = wait_ec;
                break;
            }
            auto n = socket.read_some(asio::buffer(c.receive.get(), c.receive_size), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                ec.clear();
                continue;
            }
            if (ec) {
                break; // EOF included: the server closed with replies owed
            }
            auto now = now_ns();
            if (!consume(c, c.receive.get(), n, now)) {
                ec = asio::error::message_size;
                break;
            }
            if (!c.write_blocked && !stopping(now)) {
                queue(c, now);
                if (!flush(c, ec)) {
                    break;
                }
                if (c.written < c.next_send) {
                    wake_writer(c, true);
                } else if (plan_.period_ns > 0) {
                    wake_writer(c, false); // room again: re-arm for the next send time
                }
            }
        }
        close_down(c, ec);
    }

    /// TCP: sends what the window and --rate allow, waiting for the socket when it is full.
    asio::awaitable<void> tcp_writer(connection& c) {
        auto& socket = *c.stream;
        boost::system::error_code ec;
        while (!c.closing && !abandon_) {
            auto now = now_ns();
            bool ending = stopping(now);
            if (!ending) {
                queue(c, now);
            }
            if (!flush(c, ec)) {
                close_down(c, ec);
                break;
            }
            if (c.written < c.next_send) {
                // Messages already queued are finished even at the end: their replies are owed.
                c.write_blocked = true;
                auto [wait_ec] =
                    co_await socket.async_wait(tcp::socket::wait_write, nothrow_in_place);
                c.write_blocked = false;
                if (wait_ec && wait_ec != asio::error::operation_aborted) {
                    close_down(c, wait_ec);
                }
                continue;
            }
            if (ending) {
                break; // all written; the reader collects the rest
            }
            co_await park(c);
        }
    }

    // TLS: the engine owns the bytes, so no reactor-style non-blocking path: the reader is
    // async_read_some, the writer the only one to write (async_write, whole messages), woken by
    // the reader when the window has room. The plain TCP path above stays as it is.

    asio::awaitable<void> tls_connection(connection& c) {
        co_await (tls_reader(c) && tls_writer(c));
        if (!c.error && !abandon_) {
            // Every reply is in: close_notify, the server's back, bounded by the grace.
            asio::steady_timer deadline(io_, std::chrono::nanoseconds(plan_.grace_ns));
            co_await (c.secure->async_shutdown(nothrow) || deadline.async_wait(nothrow));
        }
        settle(c);
    }

    /// TLS: reads and checks replies until none is owed at the end (or the run gives up).
    asio::awaitable<void> tls_reader(connection& c) {
        boost::system::error_code ec;
        auto into = asio::buffer(c.receive.get(), c.receive_size);
        while (!c.closing && !abandon_ && !(c.next_reply == c.next_send && stopping(now_ns()))) {
            auto [read_ec, n] = co_await c.secure->async_read_some(
                into, asio::bind_cancellation_slot(c.read_cancel.slot(), nothrow));
            if (read_ec == asio::error::operation_aborted) {
                continue; // woken: the end, a stop, or the writer closing
            }
            if (read_ec) {
                // Under TLS 1.3 a server refuses a client certificate after the handshake.
                if (!c.received_any && is_tls_error(read_ec) && refusal.empty()) {
                    refusal = "cannot connect to " + target_name_ +
                              ": TLS handshake failed: " + tls_reason(read_ec);
                }
                ec = read_ec;
                break; // EOF included: the server closed with replies owed
            }
            c.received_any = true;
            auto now = now_ns();
            if (!consume(c, c.receive.get(), n, now)) {
                ec = asio::error::message_size;
                break;
            }
            if (room(c)) {
                wake_writer(c, false);
            }
        }
        close_down(c, ec);
    }

    /// TLS: writes what the window and --rate allow, then sleeps until the reader makes room.
    asio::awaitable<void> tls_writer(connection& c) {
        while (!c.closing && !abandon_) {
            auto now = now_ns();
            bool ending = stopping(now);
            if (!ending) {
                queue(c, now);
            }
            while (c.written < c.next_send) {
                std::array<asio::const_buffer, 16> pieces;
                std::size_t count = 0;
                for (auto k = c.written; k < c.next_send && count < pieces.size(); ++k, ++count) {
                    auto offset = payload_pattern::offset(k, c.id);
                    pieces[count] = asio::buffer(pattern_.sent.data() + offset, opts_.size);
                }
                auto [ec, n] = co_await asio::async_write(
                    *c.secure, std::span(pieces.data(), count), nothrow_in_place);
                if (ec) {
                    close_down(c, ec);
                    co_return;
                }
                c.written += count;
            }
            if (ending) {
                break; // all written; the reader collects the rest
            }
            co_await park(c);
        }
    }

    /// UDP: gives up on the oldest datagrams once their time is up; advances past answered ones.
    void expire(connection& c, std::uint64_t now) {
        while (c.next_reply < c.next_send) {
            auto slot = c.next_reply % opts_.pipeline;
            if (c.active[slot]) {
                if (now - c.sent_at[slot] < plan_.timeout_ns) {
                    return;
                }
                c.active[slot] = false;
                result.lost += c.counted[slot] ? 1 : 0;
            }
            ++c.next_reply;
        }
    }

    /// UDP: handles one datagram.
    void accept_datagram(connection& c, std::size_t n, std::uint64_t now) {
        const char* data = c.receive.get();
        auto header = n >= header_size
                          ? read_header(std::span<const char, header_size>(data, header_size))
                          : std::nullopt;
        if (!header) {
            ++result.mismatches;
            return;
        }
        // Widen the 32-bit sequence relative to the oldest message in flight.
        auto k = c.next_reply +
                 static_cast<std::uint32_t>(*header - static_cast<std::uint32_t>(c.next_reply));
        auto slot = k % opts_.pipeline;
        if (k >= c.next_send || !c.active[slot]) {
            ++result.late; // answered after we gave up on it, or a duplicate
            return;
        }
        c.active[slot] = false;
        auto expected = pattern_.expected.data() + payload_pattern::offset(k, c.id);
        bool same = n == opts_.size && std::memcmp(data + header_size, expected + header_size,
                                                   opts_.size - header_size) == 0;
        complete(c, slot, now, same);
    }

    /// UDP: sends the datagrams the window and --rate allow now; false on a hard error.
    bool send_queued(connection& c, std::uint64_t now, boost::system::error_code& ec) {
        std::array<char, header_size> header{};
        auto first = c.next_send;
        queue(c, now);
        for (auto k = first; k < c.next_send; ++k) {
            write_header(header, k);
            auto offset = payload_pattern::offset(k, c.id) + header_size;
            std::array<asio::const_buffer, 2> datagram{
                asio::buffer(header),
                asio::buffer(pattern_.sent.data() + offset, opts_.size - header_size)};
            c.datagram->send(datagram, 0, ec);
            if (ec && ec != asio::error::would_block && ec != asio::error::no_buffer_space) {
                return false;
            }
            ec.clear(); // a datagram the kernel dropped counts as lost later
        }
        return true;
    }

    asio::awaitable<void> udp_connection(connection& c) {
        co_await (udp_receiver(c) && udp_sender(c));
        settle(c);
    }

    /// UDP: receives and checks replies, judges losses; unpaced, it also refills the window.
    asio::awaitable<void> udp_receiver(connection& c) {
        auto& socket = *c.datagram;
        boost::system::error_code ec;
        auto into = asio::buffer(c.receive.get(), c.receive_size);
        for (;;) {
            auto now = now_ns();
            expire(c, now);
            bool ending = stopping(now);
            if (!ending && plan_.period_ns == 0 && !send_queued(c, now, ec)) {
                break;
            }
            if (plan_.period_ns > 0 && room(c)) {
                wake_writer(c, false);
            }
            if (c.closing || abandon_ || (c.next_reply == c.next_send && ending)) {
                break;
            }
            auto [receive_ec, n] = co_await socket.async_receive(into, nothrow_in_place);
            if (receive_ec == asio::error::operation_aborted) {
                continue; // the watchdog wants a loss check, or the run ends
            }
            if (receive_ec) {
                ec = receive_ec;
                break;
            }
            accept_datagram(c, n, now_ns());
            // More datagrams may be queued (pipeline > 1): take them without waiting.
            while (c.next_send - c.next_reply > 0) {
                n = socket.receive(into, 0, ec);
                if (ec) {
                    break;
                }
                accept_datagram(c, n, now_ns());
            }
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                ec.clear();
            }
            if (ec) {
                break;
            }
        }
        close_down(c, ec);
    }

    /// UDP with --rate: sends each datagram at its intended time.
    asio::awaitable<void> udp_sender(connection& c) {
        boost::system::error_code ec;
        while (plan_.period_ns > 0 && !c.closing && !abandon_) {
            auto now = now_ns();
            if (stopping(now)) {
                break;
            }
            if (!send_queued(c, now, ec)) {
                close_down(c, ec);
                break;
            }
            co_await park(c);
        }
    }

    /// The effective end: the plan's, or the stop signal's if earlier.
    std::uint64_t end_ns() const noexcept {
        auto end = plan_.end_ns;
        if (plan_.stop.load(std::memory_order_acquire)) {
            end = std::min(end, plan_.stop_ns.load(std::memory_order_relaxed));
        }
        return end;
    }

    /// Wakes every connection at the end (so idle ones see it) and UDP ones whose oldest
    /// datagram is overdue; gives up once the grace after the end has passed (or on hurry).
    asio::awaitable<void> watchdog() {
        auto period = std::clamp<std::uint64_t>(plan_.timeout_ns / 4, 5'000'000, 100'000'000);
        bool ended = false;
        while (live_ > 0) {
            auto now = now_ns();
            auto end = end_ns();
            if (!abandon_ &&
                (now >= end + plan_.grace_ns || plan_.hurry.load(std::memory_order_relaxed))) {
                abandon_ = true;
            }
            bool wake_all = abandon_ || (!ended && now >= end);
            ended = ended || now >= end;
            for (auto& c : conns_) {
                if (c->done) {
                    continue;
                }
                bool overdue = false;
                if (opts_.udp && c->next_reply < c->next_send) {
                    auto slot = c->next_reply % opts_.pipeline;
                    overdue = !c->active[slot] || now - c->sent_at[slot] >= plan_.timeout_ns;
                }
                if (abandon_ && c->secure) {
                    close_down(*c, {}); // a TLS writer blocked on a full socket ends too
                } else if (wake_all || overdue) {
                    wake(*c);
                    c->timer.cancel();
                }
            }
            if (reconnect_) {
                reconnect_->check(now, abandon_); // its cycles are never idle: no wake at the end
            }
            auto next = now + period;
            if (!ended) {
                next = std::min(next, end);
            } else if (!abandon_) {
                next = std::min(next, end + plan_.grace_ns);
            }
            tick_.expires_at(at_ns(next));
            co_await tick_.async_wait(nothrow_in_place);
        }
    }

    const options& opts_;
    const payload_pattern& pattern_;
    plan& plan_;
    tls_client* tls_;         ///< --tls: shared by every worker (SSL_CTX is thread safe); else null
    std::string target_name_; ///< TLS: "HOST:PORT" for a refusal
    asio::io_context io_;
    std::vector<std::unique_ptr<connection>> conns_;
    std::optional<reconnect_traffic> reconnect_; ///< --reconnect: the slots (conns_ is empty)
    asio::steady_timer tick_{io_};               ///< the watchdog's; poke() cancels it
    std::size_t live_ = 0;                       ///< connections still running
    bool abandon_ = false; ///< the grace is over (or hurried): connections end now
};

tcp::endpoint resolve_target(const options& opts) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(opts.connect.host, ec);
    if (!ec) {
        return {address, opts.connect.port};
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    auto found = resolver.resolve(opts.connect.host, std::to_string(opts.connect.port),
                                  tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
        throw unavailable_error("cannot resolve '" + opts.connect.host +
                                "': " + (ec ? ec.message() : std::string("no address")));
    }
    return found.begin()->endpoint();
}

/// Waits for the end of the run, printing progress on a terminal each second, then until every
/// worker is done (finished() cancels signals and tick). The first SIGINT/SIGTERM stops the
/// run (the grace follows); a further one hurries the workers to report now.
void supervise(plan& schedule, std::vector<std::unique_ptr<worker>>& workers, asio::io_context& io,
               asio::signal_set& signals, asio::steady_timer& tick) {
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    // Named closures: a coroutine lambda's captures live in the closure, which must outlive
    // io.run(). Two coroutines, not `tick || signal`: a signal must never be discarded.
    auto progress = [&]() -> asio::awaitable<void> {
        std::uint64_t previous = 0;
        auto next = schedule.start_ns;
        unsigned second = 0;
        while (now_ns() < schedule.end_ns && !schedule.stop.load(std::memory_order_relaxed)) {
            next = std::min(next + 1'000'000'000, schedule.end_ns);
            tick.expires_at(at_ns(next));
            auto [ec] = co_await tick.async_wait(nothrow);
            if (ec) {
                break; // stopped, or the workers are done
            }
            ++second;
            if (terminal) {
                std::uint64_t total = 0;
                for (auto& w : workers) {
                    total += w->progress.load(std::memory_order_relaxed);
                }
                std::fprintf(stderr, "\r%4u s  %10llu msg/s  %12llu messages%s", second,
                             static_cast<unsigned long long>(total - previous),
                             static_cast<unsigned long long>(total),
                             next <= schedule.warm_end_ns ? "  (warm-up)" : "           ");
                previous = total;
            }
        }
        if (terminal && second > 0) {
            std::fputs("\n", stderr);
        }
    };
    auto listen = [&]() -> asio::awaitable<void> {
        for (;;) {
            auto [ec, number] = co_await signals.async_wait(nothrow);
            if (ec) {
                break; // the workers are done
            }
            if (!schedule.stop.load(std::memory_order_relaxed)) {
                schedule.stop_at(now_ns());
                tick.cancel();
            } else {
                schedule.hurry.store(true, std::memory_order_relaxed);
            }
            for (auto& w : workers) {
                w->poke();
            }
        }
    };
    asio::co_spawn(io, progress(), [](std::exception_ptr) {});
    asio::co_spawn(io, listen(), [](std::exception_ptr) {});
    io.run();
}

/// A local resource ran out: say which and how to raise it (exit 71, not "cannot connect").
[[noreturn]] void out_of_descriptors(const options& opts, const tcp::endpoint& target) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    throw os_failure("cannot open " + std::to_string(opts.connections) +
                     (opts.udp ? " sockets to " : " connections to ") +
                     format_endpoint(target.address(), target.port()) +
                     ": Too many open files (this process may open " +
                     std::to_string(limit.rlim_cur) +
                     " descriptors, a local limit: raise it with ulimit -n)");
}

/// --reconnect: no local port was free for another connection (exit 71, after the report).
[[noreturn]] void out_of_ports(const tcp::endpoint& target) {
    std::string range = "?";
    if (std::FILE* file = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
        unsigned low = 0, high = 0;
        if (std::fscanf(file, "%u %u", &low, &high) == 2) {
            range = std::to_string(low) + "-" + std::to_string(high);
        }
        std::fclose(file);
    }
    throw os_failure("cannot open more connections to " +
                     format_endpoint(target.address(), target.port()) +
                     ": Cannot assign requested address (no free local port in "
                     "net.ipv4.ip_local_port_range " +
                     range +
                     ": each stays in TIME_WAIT for 60 s after its close; a local limit: widen "
                     "the range, or let connects reuse them with net.ipv4.tcp_tw_reuse)");
}

} // namespace

summary run_load(const options& opts) {
    auto target = resolve_target(opts);
    auto pattern = payload_pattern::random(opts.size, opts.expect, 0x5eed);
    std::optional<tls_client> tls;
    if (opts.tls.enabled) {
        tls.emplace(opts.tls, opts.connect);
    }
    plan schedule;
    schedule.timeout_ns = static_cast<std::uint64_t>(opts.timeout_seconds() * 1e9);
    // Replies owed at the end get a short wait, then count as in flight (not lost).
    schedule.grace_ns = std::min<std::uint64_t>(schedule.timeout_ns, 1'000'000'000);
    if (opts.rate > 0) {
        schedule.period_ns = 1e9 * static_cast<double>(opts.connections) / opts.rate;
        schedule.phase_ns = 1e9 / opts.rate;
    }

    std::vector<std::unique_ptr<worker>> workers;
    auto count = std::min<std::size_t>(opts.threads, opts.connections);
    for (std::size_t i = 0; i < count; ++i) {
        workers.push_back(std::make_unique<worker>(opts, pattern, schedule, tls ? &*tls : nullptr));
    }
    for (std::size_t id = 0; id < opts.connections; ++id) {
        workers[id % count]->add(id);
    }

    asio::io_context io; // the main thread's: signals and progress
    asio::signal_set signals(io);
    asio::steady_timer tick(io);
    std::size_t running = count; // touched on io's thread only
    auto finished = [&] {
        asio::post(io, [&] {
            if (--running == 0) {
                signals.cancel();
                tick.cancel();
            }
        });
    };

    // Connect everything first, so the clock starts with every connection ready.
    std::latch connected(static_cast<std::ptrdiff_t>(count));
    std::latch go(1);
    std::vector<std::thread> threads;
    for (auto& w : workers) {
        threads.emplace_back([&, self = w.get()] {
            self->connect_all(target);
            connected.count_down();
            go.wait();
            if (!schedule.abort) {
                self->run();
            }
            finished();
        });
    }
    connected.wait();
    std::string failure;
    bool descriptors = false;
    bool ports = false;
    for (auto& w : workers) {
        if (failure.empty() && !w->failure.empty()) {
            failure = w->failure;
        }
        descriptors = descriptors || w->out_of_descriptors;
        ports = ports || w->out_of_ports;
    }
    // Caught from the start of the clock until the report is out: a second Ctrl-C (or the
    // signal `timeout` sends to the process group as well) must not kill it before it reports.
    signals.add(SIGINT);
    signals.add(SIGTERM);
    auto start = now_ns();
    schedule.abort = !failure.empty();
    schedule.start_ns = start;
    schedule.warm_end_ns = start + static_cast<std::uint64_t>(opts.warmup * 1e9);
    schedule.end_ns = schedule.warm_end_ns + static_cast<std::uint64_t>(opts.duration * 1e9);
    go.count_down();
    if (schedule.abort) {
        for (auto& t : threads) {
            t.join();
        }
        if (descriptors) {
            out_of_descriptors(opts, target);
        }
        if (ports) {
            out_of_ports(target);
        }
        throw unavailable_error(failure);
    }
    supervise(schedule, workers, io, signals, tick);
    for (auto& t : threads) {
        t.join();
    }

    summary s;
    s.mode = "load";
    s.protocol = protocol_name(opts);
    s.target = format_endpoint(target.address(), target.port());
    s.connections = opts.connections;
    s.size = opts.size;
    s.reconnect = opts.reconnect;
    auto end = schedule.end_ns;
    if (schedule.stop.load()) {
        end = std::min(end, schedule.stop_ns.load());
    }
    s.seconds =
        end > schedule.warm_end_ns ? static_cast<double>(end - schedule.warm_end_ns) / 1e9 : 0.0;
    for (auto& w : workers) {
        if (w->crashed) {
            std::rethrow_exception(w->crashed);
        }
        if (!w->refusal.empty()) {
            throw unavailable_error(w->refusal); // as a failed handshake: exit 69
        }
        const auto& t = w->result;
        s.sent += t.sent;
        s.messages += t.messages;
        s.bytes += t.bytes;
        s.errors += t.errors;
        s.mismatches += t.mismatches;
        s.lost += t.lost;
        s.in_flight += t.in_flight;
        s.connections_made += t.connections_made;
        s.latency.merge(t.latency);
        s.handshake.merge(t.handshake);
        s.connect.merge(t.connect);
        descriptors = descriptors || w->out_of_descriptors;
        ports = ports || w->out_of_ports;
    }
    print_load(opts, s);
    // The run is over and reported: a signal from now on (Ctrl-C still held, `timeout` again)
    // would only turn the verdict into 130. Blocked here, while still caught, it stays
    // pending until exit, which discards it. The workers are joined: this is the only thread.
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &held, nullptr);
    // --reconnect met a local limit mid-run: the report so far is out; now say which.
    if (ports) {
        out_of_ports(target);
    }
    if (descriptors) {
        out_of_descriptors(opts, target);
    }
    return s;
}

void print_load(const options& opts, const summary& s) {
    if (opts.json) {
        auto object = to_json(s);
        object.add("pipeline", static_cast<std::uint64_t>(opts.pipeline))
            .add("threads", static_cast<std::uint64_t>(opts.threads))
            .add("rate", opts.rate)
            .add("warmup", opts.warmup)
            .add("expect", to_string(opts.expect))
            .add("sent", s.sent)
            .add("received", s.messages)
            .add("lost", s.lost)
            .add("in_flight", s.in_flight);
        if (s.reconnect) {
            add_reconnect_fields(object, s);
        }
        write_out(object.str() + "\n");
        return;
    }
    char head[256];
    if (s.reconnect) {
        std::snprintf(head, sizeof head,
                      "load %s %s: %llu connections at a time, each closed after one %zu B echo "
                      "and opened again, %u thread%s\n",
                      s.protocol.c_str(), s.target.c_str(),
                      static_cast<unsigned long long>(s.connections), opts.size, opts.threads,
                      opts.threads == 1 ? "" : "s");
        write_out(head + format_load_text(s));
        return;
    }
    std::snprintf(
        head, sizeof head, "load %s %s: %llu %s, %zu B messages, pipeline %u, %u thread%s%s\n",
        s.protocol.c_str(), s.target.c_str(), static_cast<unsigned long long>(s.connections),
        opts.udp ? "sockets" : "connections", opts.size, opts.pipeline, opts.threads,
        opts.threads == 1 ? "" : "s",
        opts.rate > 0
            ? (", rate " + std::to_string(static_cast<long long>(opts.rate)) + " msg/s").c_str()
            : "");
    write_out(head + format_load_text(s)); // one write: a report is whole or not at all
}

} // namespace asio_echo::client
