// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/tcp_listener.hpp"

#include <chrono>
#include <optional>
#include <tuple>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_echo/coro.hpp"
#include "asio_echo/endpoint.hpp"
#include "asio_echo/listeners/admission.hpp"
#include "asio_echo/listeners/tls_session.hpp"
#include "asio_echo/listeners/websocket_session.hpp"

namespace asio_echo {

namespace asio = boost::asio;

namespace {

/// Plain operator new and delete, for handlers that should not use Asio's recycling cache.
template <class T = void>
struct heap_allocator {
    using value_type = T;
    heap_allocator() = default;
    template <class U>
    heap_allocator(const heap_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
    template <class U>
    bool operator==(const heap_allocator<U>&) const noexcept {
        return true;
    }
};

/// Lines traffic can trigger: one per 10 s each, however many clients come.
log_limiter connection_limit_lines;
log_limiter session_failure_lines;

/// Waits until a connection slot is reserved; false when the acceptor was closed or the
/// server closes every connection meanwhile (the end of a drain).
asio::awaitable<bool> reserve_slot(asio::ip::tcp::acceptor& acceptor, asio::steady_timer& pause,
                                   const session_env& env, bool& limited) {
    while (!env.connections.try_reserve()) {
        if (env.connections.closing() || !acceptor.is_open()) {
            co_return false;
        }
        // At --max-connections: stop accepting; newcomers wait in the kernel's backlog
        // (nothing they send is lost) until a session ends and wakes us.
        if (!limited) {
            limited = true;
            bump(env.counters.connections_limited);
            connection_limit_lines.log(
                log_level::warn, [] { return "connection limit reached; new connections wait"; });
        }
        env.connections.wait_for_slot(pause);
        if (!env.connections.try_reserve()) {
            co_await pause.async_wait(nothrow);
            env.connections.forget_waiter(pause);
            continue;
        }
        env.connections.forget_waiter(pause);
        break;
    }
    limited = false;
    co_return true;
}

} // namespace

template <class Executor>
asio::awaitable<void> run_accept_loop(asio::ip::tcp::acceptor& acceptor,
                                      executor_picker<Executor> pick, const session_env& env,
                                      tcp_kind kind) {
    asio::steady_timer pause(acceptor.get_executor());
    accept_backoff backoff("");
    bool limited = false;
    while (acceptor.is_open()) {
        if (!co_await reserve_slot(acceptor, pause, env, limited)) {
            break;
        }
        auto executor = pick();
        boost::system::error_code ec;
        asio::basic_stream_socket<asio::ip::tcp, Executor> socket(executor);
        if (env.connections.draining()) {
            // A graceful stop: take what waits in the backlog (those clients connected and
            // may have sent everything), but wait for nobody new; then stop listening.
            acceptor.non_blocking(true, ec);
            if (!ec) {
                socket = acceptor.accept(executor, ec);
            }
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                env.connections.unreserve();
                break;
            }
        } else {
            // The accept operation takes its memory from the heap, not from the thread's
            // recycling cache: a recycled accept block (it holds a socket) would become the
            // pending wait of a new session, twice the size that wait needs, for as long as
            // the connection stays idle.
            std::tie(ec, socket) = co_await acceptor.async_accept(
                executor, asio::bind_allocator(heap_allocator{}, nothrow));
            if (ec == asio::error::operation_aborted && acceptor.is_open()) {
                env.connections.unreserve(); // stop() began a drain: take the backlog
                continue;
            }
        }
        if (ec) {
            env.connections.unreserve();
        }
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return; // stop() closed the acceptor
        }
        if (ec) {
            co_await backoff.failed(ec, pause);
            continue;
        }
        backoff.accepted();
        admission client; // counted while the session runs
        if (kind != tcp_kind::proxied && (!env.access.empty() || env.per_source.limit() > 0)) {
            // Who may connect is judged on the address, before anything is read; behind a
            // load balancer, on the address its header names (in the session).
            boost::system::error_code peer_ec;
            auto remote = socket.remote_endpoint(peer_ec);
            auto admitted = peer_ec ? std::optional<admission>(admission{}) // the session sees
                                    : admit_client(env, remote);            // the error at once
            if (!admitted) {
                socket.close(ec);
                env.connections.unreserve();
                continue;
            }
            client = std::move(*admitted);
        }
        bump(env.counters.connections_accepted);
        // Latency matters more than packet count for an echo: do not wait for Nagle.
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        std::string peer; // formatted only for the debug lines
        if (log_enabled(log_level::debug)) {
            boost::system::error_code peer_ec;
            auto remote = socket.remote_endpoint(peer_ec);
            peer = peer_ec ? "?" : format_endpoint(remote.address(), remote.port());
            log(log_level::debug, "tcp connection from " + peer + " accepted");
        }
        // The handler holds the client's admission (its per-source count) to the session's
        // end, so that the frame of an idle session does not.
        auto ended = [&env, started = std::chrono::steady_clock::now(), peer = std::move(peer),
                      client = std::move(client)](std::exception_ptr e) {
            auto lasted = std::chrono::steady_clock::now() - started;
            env.counters.session_ended(lasted);
            log_failure{"tcp session", &session_failure_lines}(e);
            if (!peer.empty()) {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(lasted);
                log(log_level::debug, "tcp connection from " + peer + " closed after " +
                                          std::to_string(ms.count()) + " ms");
            }
        };
        if (kind == tcp_kind::tls) {
            asio::co_spawn(executor, run_tls_session<Executor>(std::move(socket), env),
                           std::move(ended));
        } else if (kind == tcp_kind::ws || kind == tcp_kind::wss) {
            asio::co_spawn(
                executor,
                run_websocket_session<Executor>(std::move(socket), env, kind == tcp_kind::wss),
                std::move(ended));
        } else {
            asio::co_spawn(executor, run_tcp_session<Executor>(std::move(socket), env, kind),
                           std::move(ended));
        }
    }
    boost::system::error_code ignored;
    acceptor.close(ignored); // the backlog is empty: new clients are refused from here
}

template asio::awaitable<void> run_accept_loop<context_executor>(asio::ip::tcp::acceptor&,
                                                                 executor_picker<context_executor>,
                                                                 const session_env&, tcp_kind);
template asio::awaitable<void> run_accept_loop<strand_executor>(asio::ip::tcp::acceptor&,
                                                                executor_picker<strand_executor>,
                                                                const session_env&, tcp_kind);

} // namespace asio_echo
