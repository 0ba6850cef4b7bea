// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/proxy_session.hpp"

#include <chrono>
#include <string>

#include "asio_echo/deadline.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"
#include "asio_echo/proxy_header.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

/// Lines traffic can trigger: one per 10 s each, however many connections cause them.
log_limiter untrusted_lines;
log_limiter malformed_lines;
log_limiter timeout_lines;

std::string text_of(const tcp::endpoint& ep) {
    return format_endpoint(ep.address(), ep.port());
}

/// "connection from 203.0.113.7:5555 via 127.0.0.1:40112 (proxy v2)", or for a header
/// without addresses (a health check) "connection from 127.0.0.1:40112 (proxy v2 LOCAL)".
std::string debug_line(const proxy::header& header, const tcp::endpoint& proxy) {
    auto version = " (proxy v" + std::to_string(header.version);
    if (!header.source) {
        return "connection from " + text_of(proxy) + version +
               (header.version == 1 ? " UNKNOWN)" : " LOCAL)");
    }
    return "connection from " + text_of(*header.source) + " via " + text_of(proxy) + version + ")";
}

/// Reads until received holds a whole header or the connection must close; the deadline
/// bounds every read. Nothing when it failed, counted and logged.
template <class Executor>
asio::awaitable<std::optional<proxy::header>, Executor>
read_header(tcp_socket_on<Executor>& socket, const session_env& env, session_handle& handle,
            const tcp::endpoint& proxy_address, std::vector<unsigned char>& received) {
    deadline_on<Executor> deadline(socket.get_executor(), env.proxy_header_timeout);
    received.resize(proxy::max_header_length);
    std::size_t have = 0;
    for (;;) {
        handle.reading.store(true, std::memory_order_relaxed);
        auto read = co_await before_deadline(
            socket.async_read_some(asio::buffer(received.data() + have, received.size() - have),
                                   racing<Executor>),
            deadline);
        handle.reading.store(false, std::memory_order_relaxed);
        if (!read) {
            bump(env.counters.proxy_timeout);
            timeout_lines.log(log_level::warn, [&] {
                return "no whole PROXY header from " + text_of(proxy_address) + " within " +
                       seconds_text(env.proxy_header_timeout) +
                       " (--proxy-header-timeout); connection closed";
            });
            co_return std::nullopt;
        }
        auto [ec, n] = *read;
        have += n;
        if (n > 0) {
            handle.touch();
        }
        auto result = proxy::parse({received.data(), have});
        if (result.result == proxy::outcome::complete) {
            received.resize(have);
            co_return result.value;
        }
        std::string problem;
        if (result.result == proxy::outcome::malformed) {
            problem = result.problem;
        } else if (ec == asio::error::eof || ec == asio::error::connection_reset) {
            problem = "truncated: the connection ended after " + std::to_string(have) +
                      " bytes, before the header was whole";
        } else if (ec) {
            co_return std::nullopt; // the server closed it (stop, idle sweep): no bad header
        } else if (have < received.size()) {
            continue; // a valid beginning: read more
        } else {
            problem = "longer than 4096 bytes"; // the parser says so first; never read nothing
        }
        bump(env.counters.proxy_malformed);
        malformed_lines.log(log_level::warn, [&] {
            return "bad PROXY header from " + text_of(proxy_address) + ": " + problem +
                   "; connection closed";
        });
        co_return std::nullopt;
    }
}

} // namespace

template <class Executor>
asio::awaitable<bool, Executor> take_proxy_header(tcp_socket_on<Executor>& socket,
                                                  const session_env& env, session_handle& handle,
                                                  admission& client, std::vector<char>& first) {
    boost::system::error_code ec;
    auto proxy_address = socket.remote_endpoint(ec);
    if (ec) {
        co_return false; // gone already
    }
    if (!env.trusted_proxies.empty() && !env.trusted_proxies.permits(proxy_address.address())) {
        // Anyone may claim any client address in a header: only the proxies named may.
        bump(env.counters.proxy_untrusted);
        untrusted_lines.log(log_level::warn, [&] {
            return "refused tcp connection from " + text_of(proxy_address) +
                   " on an accept-proxy endpoint: not a --trusted-proxy";
        });
        co_return false;
    }
    std::vector<unsigned char> received;
    auto header = co_await read_header(socket, env, handle, proxy_address, received);
    if (!header) {
        co_return false;
    }
    bump(env.counters.proxy_ok);
    // From here on the client is the one the header names; LOCAL and UNKNOWN name none: the
    // connection is the proxy's own (a health check).
    auto admitted = admit_client(env, header->source.value_or(proxy_address),
                                 header->source ? &proxy_address : nullptr);
    if (!admitted) {
        co_return false;
    }
    if (log_enabled(log_level::debug)) {
        log(log_level::debug, debug_line(*header, proxy_address));
    }
    client = std::move(*admitted);
    // What came after the header, in the same segments, is the client's first bytes.
    first.assign(received.begin() + static_cast<std::ptrdiff_t>(header->length), received.end());
    bump(env.counters.tcp_bytes_in, first.size());
    apply_transform(env.reply, first);
    co_return true;
}

template asio::awaitable<bool, context_executor>
take_proxy_header<context_executor>(tcp_socket_on<context_executor>&, const session_env&,
                                    session_handle&, admission&, std::vector<char>&);
template asio::awaitable<bool, strand_executor>
take_proxy_header<strand_executor>(tcp_socket_on<strand_executor>&, const session_env&,
                                   session_handle&, admission&, std::vector<char>&);

} // namespace asio_echo
