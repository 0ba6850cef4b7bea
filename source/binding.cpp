// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/binding.hpp"

#include <string>
#include <type_traits>

#include <sys/socket.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "asio_echo/endpoint.hpp"
#include "asio_echo/errors.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/systemd/activation.hpp"

namespace asio_echo {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

/// An IP literal as is, a name through the resolver (first answer).
asio::ip::address resolve(const endpoint& ep) {
    error_code ec;
    auto address = asio::ip::make_address(ep.host, ec);
    if (!ec) {
        return address;
    }
    asio::io_context context;
    tcp::resolver resolver(context);
    auto results = resolver.resolve(ep.host, "", ec);
    if (ec || results.empty()) {
        throw unavailable_error("cannot resolve '" + ep.host +
                                "': " + (ec ? ec.message() : std::string("no address")));
    }
    return results.begin()->endpoint().address();
}

/// Opens, configures and binds a socket or acceptor; errors as values so callers may retry.
template <class Socket, class Endpoint>
error_code open_and_bind(Socket& socket, const Endpoint& where, bool share_port) {
    error_code ec;
    socket.open(where.protocol(), ec);
    if (!ec && where.address().is_v6()) {
        // Keep [::]:P from also taking 0.0.0.0:P, so both can be listed separately.
        socket.set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec && share_port) {
        socket.set_option(reuse_port(true), ec);
    }
    if constexpr (std::is_same_v<Socket, tcp::acceptor>) {
        // Restart at once on a port whose old connections linger in TIME_WAIT.
        if (!ec) {
            socket.set_option(tcp::acceptor::reuse_address(true), ec);
        }
    }
    if (!ec) {
        socket.bind(where, ec);
    }
    if constexpr (std::is_same_v<Socket, tcp::acceptor>) {
        if (!ec) {
            socket.listen(asio::socket_base::max_listen_connections, ec);
        }
    }
    if (ec) {
        error_code ignored;
        socket.close(ignored);
    }
    return ec;
}

template <class Endpoint>
[[noreturn]] void cannot_listen(const char* protocol, const Endpoint& where, const error_code& ec) {
    throw unavailable_error(std::string("cannot listen on ") + protocol + " " +
                            format_endpoint(where.address(), where.port()) + ": " + ec.message());
}

/// Closes socket on its own executor, so the close never races its operations.
template <class Socket>
void post_close(Socket& socket) {
    asio::post(socket.get_executor(), [s = &socket] {
        error_code ignored;
        s->close(ignored);
    });
}

/// Fills one bound_sockets, spreading single listeners over the io_contexts.
class binder {
public:
    binder(const server_config& config, io_pool& pool) : config_(config), pool_(pool) {}

    bound_sockets bind_all() {
        adopt_passed_sockets();
        if (bound_.socket_activated) {
            // Socket-activated: the service manager chose the endpoints, the metrics one too.
            note_ignored_metrics();
            return std::move(bound_);
        }
        for (const auto& ep : config_.listen) {
            auto address = resolve(ep);
            if (ep.port == 0) {
                if (!bind_pair_on_free_port(address)) {
                    throw unavailable_error("cannot find a port free for both tcp and udp on " +
                                            format_endpoint(address, 0));
                }
                continue;
            }
            bind_tcp({address, ep.port});
            bind_udp({address, ep.port});
        }
        for (const auto& ep : config_.tcp) {
            bind_tcp({resolve(ep), ep.port});
        }
        for (const auto& ep : config_.accept_proxy) {
            bind_copies("tcp", {resolve(ep), ep.port}, bound_.proxy, bound_.proxy_endpoints);
        }
        for (const auto& ep : config_.tls) {
            bind_copies("tls", {resolve(ep), ep.port}, bound_.tls, bound_.tls_endpoints);
        }
        for (const auto& ep : config_.websocket) {
            bind_copies("ws", {resolve(ep), ep.port}, bound_.ws, bound_.ws_endpoints);
        }
        for (const auto& ep : config_.websocket_tls) {
            bind_copies("wss", {resolve(ep), ep.port}, bound_.wss, bound_.wss_endpoints);
        }
        for (const auto& ep : config_.udp) {
            bind_udp({resolve(ep), ep.port});
        }
        if (config_.metrics) {
            bind_metrics({resolve(*config_.metrics), config_.metrics->port});
        }
        return std::move(bound_);
    }

private:
    bool share_ports() const { return config_.reuse_port || config_.model == io_model::reuse_port; }

    std::size_t contexts_per_listener() const {
        return config_.model == io_model::reuse_port ? pool_.size() : 1;
    }

    void bind_tcp(const tcp::endpoint& where) {
        bind_copies("tcp", where, bound_.tcp, bound_.tcp_endpoints);
    }

    void bind_udp(const udp::endpoint& where) {
        bind_copies("udp", where, bound_.udp, bound_.udp_endpoints);
    }

    /// Binds one socket on the next io_context, or one on each under reuse-port: every copy
    /// after the first takes the port the first one got. Records the endpoint once.
    template <class Socket>
    void bind_copies(const char* protocol, typename Socket::endpoint_type where,
                     std::vector<std::unique_ptr<Socket>>& sockets,
                     std::vector<typename Socket::endpoint_type>& endpoints) {
        for (std::size_t i = 0; i < contexts_per_listener(); ++i) {
            auto& context = pool_.context((next_context_ + i) % pool_.size());
            auto socket = std::make_unique<Socket>(context);
            if (auto ec = open_and_bind(*socket, where, share_ports())) {
                cannot_listen(protocol, where, ec);
            }
            where = socket->local_endpoint();
            sockets.push_back(std::move(socket));
        }
        next_context_++;
        endpoints.push_back(where);
    }

    void bind_metrics(const tcp::endpoint& where) {
        bound_.metrics =
            std::make_unique<tcp::acceptor>(pool_.context(next_context_++ % pool_.size()));
        if (auto ec = open_and_bind(*bound_.metrics, where, share_ports())) {
            cannot_listen("metrics", where, ec);
        }
        bound_.metrics_endpoint = bound_.metrics->local_endpoint();
    }

    bool bind_pair_on_free_port(const asio::ip::address& address) {
        // --listen HOST:0 means "one free port for both protocols", so users and scripts need
        // only one number. The kernel picks it for TCP; if UDP happens to hold it, try again.
        constexpr int attempts = 32;
        for (int attempt = 0; attempt < attempts; ++attempt) {
            auto tcp_before = bound_.tcp.size();
            auto udp_before = bound_.udp.size();
            bind_tcp({address, 0});
            auto port = bound_.tcp_endpoints.back().port();
            try {
                bind_udp({address, port});
                return true;
            } catch (const unavailable_error&) {
                bound_.tcp.resize(tcp_before);
                bound_.udp.resize(udp_before);
                bound_.tcp_endpoints.pop_back();
            }
        }
        return false;
    }

    void adopt_passed_sockets() {
        for (const auto& passed : systemd::take_passed_sockets()) {
            sockaddr_storage address{};
            socklen_t length = sizeof address;
            ::getsockname(passed.fd, reinterpret_cast<sockaddr*>(&address), &length);
            bool v6 = address.ss_family == AF_INET6;
            auto& context = pool_.context(next_context_++ % pool_.size());
            error_code ec;
            if (passed.stream) {
                auto acceptor = std::make_unique<tcp::acceptor>(context);
                acceptor->assign(v6 ? tcp::v6() : tcp::v4(), passed.fd, ec);
                bound_.socket_activated = true;
                if (!ec && passed.name == "metrics") {
                    // echo-server-metrics.socket: FileDescriptorName=metrics.
                    bound_.metrics_endpoint = acceptor->local_endpoint(ec);
                    bound_.metrics = std::move(acceptor);
                } else if (!ec && (passed.name == "tls" || passed.name == "wss")) {
                    // echo-server-tls.socket: FileDescriptorName=tls (wss: WebSocket over it).
                    if (!config_.tls_cert) {
                        throw usage_error("a socket named '" + passed.name +
                                          "' was passed, but no --tls-cert and --tls-key were "
                                          "given");
                    }
                    bool ws = passed.name == "wss";
                    (ws ? bound_.wss_endpoints : bound_.tls_endpoints)
                        .push_back(acceptor->local_endpoint(ec));
                    (ws ? bound_.wss : bound_.tls).push_back(std::move(acceptor));
                } else if (!ec && passed.name == "ws") {
                    // echo-server-ws.socket: FileDescriptorName=ws.
                    bound_.ws_endpoints.push_back(acceptor->local_endpoint(ec));
                    bound_.ws.push_back(std::move(acceptor));
                } else if (!ec && passed.name == "proxy") {
                    // echo-server-proxy.socket: FileDescriptorName=proxy, behind a balancer.
                    bound_.proxy_endpoints.push_back(acceptor->local_endpoint(ec));
                    bound_.proxy.push_back(std::move(acceptor));
                } else if (!ec) {
                    bound_.tcp_endpoints.push_back(acceptor->local_endpoint(ec));
                    bound_.tcp.push_back(std::move(acceptor));
                }
            } else {
                bound_.socket_activated = true;
                auto socket = std::make_unique<udp::socket>(context);
                socket->assign(v6 ? udp::v6() : udp::v4(), passed.fd, ec);
                if (!ec) {
                    bound_.udp_endpoints.push_back(socket->local_endpoint(ec));
                    bound_.udp.push_back(std::move(socket));
                }
            }
            if (ec) {
                throw unavailable_error("cannot use socket " + std::to_string(passed.fd) + " ('" +
                                        passed.name +
                                        "') passed by the service manager: " + ec.message());
            }
        }
    }

    /// Says where /metrics went when --metrics was given to a socket-activated server.
    void note_ignored_metrics() const {
        if (!config_.metrics) {
            return;
        }
        const auto& host = config_.metrics->host;
        auto configured = "socket-activated: --metrics " +
                          (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                          std::to_string(config_.metrics->port) + " ignored; ";
        log(log_level::notice,
            configured + (bound_.metrics
                              ? "/metrics is served on the socket named 'metrics' instead"
                              : "pass a socket named 'metrics' (echo-server-metrics.socket)"
                                " instead"));
    }

    const server_config& config_;  ///< the endpoints and the io model
    io_pool& pool_;                ///< the io_contexts the sockets are bound on
    bound_sockets bound_;          ///< what bind_all() returns
    std::size_t next_context_ = 0; ///< spreads single listeners over the io_contexts
};

} // namespace

void bound_sockets::stop_listening() const {
    for (const auto* acceptors : tcp_kinds()) {
        for (const auto& acceptor : *acceptors) {
            if (socket_activated) {
                post_close(*acceptor);
                continue;
            }
            asio::post(acceptor->get_executor(), [a = acceptor.get()] {
                error_code ignored;
                a->cancel(ignored); // the accept loop sees the drain and takes the backlog
            });
        }
    }
    for (const auto& socket : udp) {
        post_close(*socket);
    }
    if (metrics) {
        post_close(*metrics);
    }
}

void bound_sockets::close_tcp() const {
    for (const auto* acceptors : tcp_kinds()) {
        for (const auto& acceptor : *acceptors) {
            post_close(*acceptor);
        }
    }
}

bound_sockets bind_endpoints(const server_config& config, io_pool& pool) {
    return binder(config, pool).bind_all();
}

void log_listening(const bound_sockets& sockets) {
    for (const auto& ep : sockets.tcp_endpoints) {
        log(log_level::notice, "listening tcp " + format_endpoint(ep.address(), ep.port()));
    }
    for (const auto& ep : sockets.proxy_endpoints) {
        log(log_level::notice,
            "listening tcp " + format_endpoint(ep.address(), ep.port()) + " accept-proxy");
    }
    for (const auto& ep : sockets.tls_endpoints) {
        log(log_level::notice, "listening tls " + format_endpoint(ep.address(), ep.port()));
    }
    for (const auto& ep : sockets.ws_endpoints) {
        log(log_level::notice, "listening ws " + format_endpoint(ep.address(), ep.port()));
    }
    for (const auto& ep : sockets.wss_endpoints) {
        log(log_level::notice, "listening wss " + format_endpoint(ep.address(), ep.port()));
    }
    for (const auto& ep : sockets.udp_endpoints) {
        log(log_level::notice, "listening udp " + format_endpoint(ep.address(), ep.port()));
    }
    if (sockets.metrics_endpoint) {
        const auto& ep = *sockets.metrics_endpoint;
        log(log_level::notice, "listening metrics " + format_endpoint(ep.address(), ep.port()));
    }
}

} // namespace asio_echo
