#pragma once
// One coroutine per TCP connection: read, transform, write back, until EOF.

#include <cstddef>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "asio_echo/connection_set.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

/// What every session of a server shares. Outlives the sessions (owned by the server).
struct session_env {
    transform reply;             ///< applied to each chunk before it is echoed
    std::size_t buffer_size;     ///< bytes read at most per read (a buffer per thread)
    stats& counters;             ///< server-wide counters
    connection_set& connections; ///< lets stop() close the session
};

/// Echoes everything the peer sends until it half-closes (then shuts down the sending side,
/// so the peer reads every byte and then EOF) or an error ends the connection. Reads again
/// only once the previous chunk is written: a peer that never reads stalls only itself.
/// While waiting for the peer the session holds no buffer: it waits for readability, then
/// reads into its thread's buffer and writes the echo before it waits again; only a write
/// the peer cannot take at once keeps its unsent rest, on the heap.
/// Run it on the socket's executor (a strand when that io_context has several threads).
boost::asio::awaitable<void> run_tcp_session(boost::asio::ip::tcp::socket socket,
                                             const session_env& env);

} // namespace asio_echo
