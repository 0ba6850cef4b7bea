// SPDX-License-Identifier: BSL-1.0
#pragma once
// A session's entry in the server's connection_set, for every kind of TCP session.

#include "asio_echo/connection_set.hpp"
#include "asio_echo/listeners/session_env.hpp"

namespace asio_echo {

/// The registry's view of a session, registered exactly while the session runs (even if it
/// throws), so that it is counted and reachable by stop() and the idle sweep. Handle is how
/// the registry reaches the session: socket_handle, or a kind's own that ends it otherwise.
template <class Socket, class Handle = socket_handle<Socket>>
class registered_session final : public Handle {
public:
    registered_session(Socket& socket, const session_env& env)
        : Handle(socket), env_(env), added_(env.connections.add(*this)) {
        if (added_) {
            bump(env_.counters.connections_active);
        }
    }
    ~registered_session() {
        if (added_) {
            env_.connections.remove(*this);
            env_.counters.connections_active.fetch_sub(1, std::memory_order_relaxed);
        }
    }

    /// False when the server was already stopping: end at once.
    bool added() const { return added_; }

private:
    const session_env& env_;
    bool added_;
};

} // namespace asio_echo
