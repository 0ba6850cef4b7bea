// SPDX-License-Identifier: BSL-1.0
#pragma once
// The first step of a session on an --accept-proxy endpoint: the PROXY protocol header a load
// balancer sends before its client's bytes, read within --proxy-header-timeout, and the
// client it names judged as a direct one would be.

#include <vector>

#include <boost/asio/awaitable.hpp>

#include "asio_echo/connection_set.hpp"
#include "asio_echo/listeners/admission.hpp"
#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// Reads the PROXY header (v1 or v2) the connection starts with. On success sets client to
/// the admission of the client the header names (the proxy's own for LOCAL and UNKNOWN) and
/// first to what arrived after the header, transformed, for the session to echo first.
/// Returns false, having counted it (echo_proxy_headers_total, or refused like a direct
/// client) and logged it at most once per 10 s, when the connection must be closed without
/// an echo: it does not come from a --trusted-proxy, its header is malformed, oversized or
/// truncated, no whole header came within env.proxy_header_timeout, or the client it names
/// is refused. Run it on the socket's executor, registered as handle. Defined for
/// context_executor and strand_executor.
template <class Executor>
boost::asio::awaitable<bool, Executor>
take_proxy_header(tcp_socket_on<Executor>& socket, const session_env& env, session_handle& handle,
                  admission& client, std::vector<char>& first);

} // namespace asio_echo
