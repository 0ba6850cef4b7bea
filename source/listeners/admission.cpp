// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/admission.hpp"

#include <string>

#include "asio_echo/endpoint.hpp"
#include "asio_echo/log.hpp"

namespace asio_echo {

namespace {

/// One line per 10 s, however many clients are refused.
log_limiter refusal_lines;

} // namespace

std::optional<admission> admit_client(const session_env& env,
                                      const boost::asio::ip::tcp::endpoint& client,
                                      const boost::asio::ip::tcp::endpoint* via) {
    const char* refused = nullptr;
    if (!env.access.empty() && !env.access.permits(client.address())) {
        bump(env.counters.refused_denied);
        refused = "source not allowed (--allow, --deny)";
    } else if (!env.per_source.admit(client.address())) {
        bump(env.counters.refused_per_source);
        refused = "source at --max-connections-per-source";
    }
    if (refused == nullptr) {
        if (env.per_source.limit() == 0) {
            return admission{}; // nothing counted, nothing to release
        }
        return admission{env.per_source, client.address()};
    }
    refusal_lines.log(log_level::warn, [&] {
        auto line =
            "refused tcp connection from " + format_endpoint(client.address(), client.port());
        if (via != nullptr) {
            line += " via " + format_endpoint(via->address(), via->port());
        }
        return line + ": " + refused;
    });
    return std::nullopt;
}

} // namespace asio_echo
