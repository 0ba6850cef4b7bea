#include "asio_echo/udp_responder.hpp"

#include <memory>

#include "asio_echo/coro.hpp"

namespace asio_echo {

namespace asio = boost::asio;

asio::awaitable<void> run_udp_responder(asio::ip::udp::socket& socket, const transform& reply,
                                        stats& counters) {
    // Room for the largest datagram; on the heap, since coroutine frames should stay small.
    constexpr std::size_t capacity = 64 * 1024;
    auto buffer = std::make_unique_for_overwrite<char[]>(capacity);
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
        apply_transform(reply, {buffer.get(), n});
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
