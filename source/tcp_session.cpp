#include "asio_echo/tcp_session.hpp"

#include <memory>

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

} // namespace

asio::awaitable<void> run_tcp_session(asio::ip::tcp::socket socket, const session_env& env) {
    session_handle handle(socket);
    registration registered(env, handle);
    if (!registered.added()) {
        co_return; // the server is stopping
    }
    // On the heap, not in the frame: coroutine frames come from a small recycling cache.
    auto buffer = std::make_unique_for_overwrite<char[]>(env.buffer_size);
    boost::system::error_code ec;
    for (;;) {
        handle.reading.store(true, std::memory_order_relaxed);
        auto [read_ec, n] =
            co_await socket.async_read_some(asio::buffer(buffer.get(), env.buffer_size), nothrow);
        handle.reading.store(false, std::memory_order_relaxed);
        if (read_ec) {
            ec = read_ec;
            break;
        }
        handle.touch();
        bump(env.counters.tcp_bytes_in, n);
        apply_transform(env.reply, {buffer.get(), n});
        auto [write_ec, written] =
            co_await asio::async_write(socket, asio::buffer(buffer.get(), n), nothrow);
        bump(env.counters.tcp_bytes_out, written);
        if (write_ec) {
            ec = write_ec;
            break;
        }
    }
    if (ec == asio::error::eof) {
        // Everything read was written: tell the peer we are done too.
        socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
    socket.close(ec);
}

} // namespace asio_echo
