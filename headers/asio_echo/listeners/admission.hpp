// SPDX-License-Identifier: BSL-1.0
#pragma once
// Who may use the service over TCP: a client judged by its address (--allow, --deny,
// --max-connections-per-source), the one the connection came from or, behind a load
// balancer, the one its PROXY header names.

#include <optional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>

#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// A client let in by admit_client(). While it lives it counts towards
/// --max-connections-per-source for its address. Move-only; an empty one counts nothing.
class admission {
public:
    admission() = default;
    admission(source_counts& counts, const boost::asio::ip::address& source)
        : counts_(&counts), source_(source) {}
    admission(admission&& other) noexcept
        : counts_(std::exchange(other.counts_, nullptr)), source_(other.source_) {}
    admission& operator=(admission&& other) noexcept {
        if (this != &other) {
            release();
            counts_ = std::exchange(other.counts_, nullptr);
            source_ = other.source_;
        }
        return *this;
    }
    ~admission() { release(); }

private:
    void release() noexcept {
        if (counts_ != nullptr) {
            counts_->release(source_);
            counts_ = nullptr;
        }
    }

    source_counts* counts_ = nullptr;   ///< where it is counted, when it is
    boost::asio::ip::address source_{}; ///< the client's address
};

/// Judges client, the connection's client address: its admission, or nothing when it is
/// refused (counted in env.counters, logged at most once per 10 s). via is the load balancer
/// the connection came through, for the log line, if any.
std::optional<admission> admit_client(const session_env& env,
                                      const boost::asio::ip::tcp::endpoint& client,
                                      const boost::asio::ip::tcp::endpoint* via = nullptr);

} // namespace asio_echo
