#include "asio_echo/tcp_session.hpp"

#include <span>
#include <tuple>
#include <vector>

#include <boost/asio/write.hpp>

#include "asio_echo/coro.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// Keeps the session counted, and reachable by stop() and the idle sweep, exactly while it
/// runs, even if it throws.
class registration {
public:
    registration(const session_env& env, session_handle& handle)
        : env_(env), handle_(handle), added_(env.connections.add(handle)) {
        if (added_) {
            bump(env_.counters.connections_active);
        }
    }
    ~registration() {
        if (added_) {
            env_.connections.remove(handle_);
            env_.counters.connections_active.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

    /// False when the server was already stopping: end at once.
    bool added() const { return added_; }

private:
    const session_env& env_;
    session_handle& handle_;
    bool added_;
};

/// This thread's read buffer. A session borrows it only between a read and the write that
/// echoes it, with no co_await in between, so every session of the thread can share it and
/// an idle connection holds no buffer at all.
std::span<char> thread_buffer(std::size_t size) {
    thread_local std::vector<char> buffer;
    if (buffer.size() < size) {
        buffer.resize(size);
    }
    return {buffer.data(), size};
}

/// Reads in a row before a busy session goes back through the reactor, so that one
/// streaming peer cannot starve the other sessions of its thread.
constexpr int burst = 8;

} // namespace

asio::awaitable<void> run_tcp_session(asio::ip::tcp::socket socket, const session_env& env) {
    session_handle handle(socket);
    registration registered(env, handle);
    if (!registered.added()) {
        co_return; // the server is stopping
    }
    boost::system::error_code ec;
    socket.non_blocking(true, ec); // reads and writes below return would_block, never wait
    while (!ec) {
        // Wait for data without a buffer (reactor style), then read what is there.
        handle.reading.store(true, std::memory_order_relaxed);
        std::tie(ec) = co_await socket.async_wait(asio::socket_base::wait_read, nothrow);
        handle.reading.store(false, std::memory_order_relaxed);
        for (int round = 0; !ec && round < burst; ++round) {
            auto buffer = thread_buffer(env.buffer_size);
            std::size_t n = socket.read_some(asio::buffer(buffer), ec);
            if (ec) {
                break; // would_block: drained, wait again; else EOF or an error
            }
            handle.touch();
            bump(env.counters.tcp_bytes_in, n);
            auto chunk = buffer.first(n);
            apply_transform(env.reply, chunk);
            std::size_t written = socket.write_some(asio::buffer(chunk), ec);
            if (ec == asio::error::would_block) {
                written = 0;
                ec = {};
            }
            bump(env.counters.tcp_bytes_out, written);
            if (!ec && written < n) {
                // The peer reads slower than it sends: keep the rest and read nothing more
                // until it is written (backpressure).
                std::vector<char> rest(chunk.begin() + written, chunk.end());
                auto [write_ec, more] =
                    co_await asio::async_write(socket, asio::buffer(rest), nothrow);
                bump(env.counters.tcp_bytes_out, more);
                ec = write_ec;
            }
            if (!ec && n < buffer.size()) {
                break; // a short read emptied the socket
            }
        }
        if (ec == asio::error::would_block) {
            ec = {};
        }
    }
    if (ec == asio::error::eof) {
        // Everything read was written: tell the peer we are done too.
        socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
    socket.close(ec);
}

} // namespace asio_echo
