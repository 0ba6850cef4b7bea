// SPDX-License-Identifier: BSL-1.0
#pragma once
// One coroutine per TCP connection: read, transform, write back, until EOF.

#include <cstddef>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "asio_echo/cidr.hpp"
#include "asio_echo/connection_set.hpp"
#include "asio_echo/limits.hpp"
#include "asio_echo/stats.hpp"
#include "asio_echo/transform.hpp"

namespace asio_echo {

/// The executors a session may run on: its thread's io_context, or a strand of an io_context
/// that several threads run. Concrete types, not any_io_executor: every frame, handler and
/// socket of an idle connection carries one, so they decide much of its memory.
using context_executor = boost::asio::io_context::executor_type;
using strand_executor = boost::asio::strand<context_executor>;

/// A TCP socket that runs on Executor.
template <class Executor>
using tcp_socket_on = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

/// What every session of a server shares. Outlives the sessions (owned by the server).
struct session_env {
    transform reply;             ///< applied to each chunk before it is echoed
    std::size_t buffer_size;     ///< bytes read at most per read (a buffer per thread)
    stats& counters;             ///< server-wide counters
    connection_set& connections; ///< lets stop() close the session
    const access_list& access;   ///< who may connect (--allow, --deny)
    source_counts& per_source;   ///< open connections per client address
};

/// Echoes everything the peer sends until it half-closes (then shuts down the sending side,
/// so the peer reads every byte and then EOF) or an error ends the connection. Reads again
/// only once the previous chunk is written: a peer that never reads stalls only itself.
/// While waiting for the peer the session holds no buffer: it waits for readability, then
/// reads into its thread's buffer and writes the echo before it waits again; only a write
/// the peer cannot take at once keeps its unsent rest, on the heap.
/// Run it on the socket's executor (a strand when that io_context has several threads).
/// Defined for context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<void, Executor> run_tcp_session(tcp_socket_on<Executor> socket,
                                                       const session_env& env);

} // namespace asio_echo
