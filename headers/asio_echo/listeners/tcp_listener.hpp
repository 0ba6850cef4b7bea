// SPDX-License-Identifier: BSL-1.0
#pragma once
// The accept loop of one TCP acceptor.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "asio_echo/listeners/accept_loop.hpp"
#include "asio_echo/listeners/tcp_session.hpp"

namespace asio_echo {

/// Accepts connections until the acceptor is closed, spawning run_tcp_session of kind for
/// each on the executor pick() returns; plain clients are judged (admit_client) before. Transient
/// failures (out of descriptors or memory, aborted handshakes) are logged and retried after a short
/// pause instead of ending the loop or spinning. Run it on the acceptor's executor. Defined for
/// context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<void> run_accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                             executor_picker<Executor> pick, const session_env& env,
                                             tcp_kind kind);

} // namespace asio_echo
