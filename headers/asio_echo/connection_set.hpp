#pragma once
// The live TCP connections, so that stop() can close them (a gate, as in Seastar's gate.hh:
// refuse new work once closing, reach every running piece of work).

#include <mutex>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>

namespace asio_echo {

/// Registry of the sockets of running sessions. Thread safe.
class connection_set {
public:
    /// Registers a session's socket. Returns false once close_all() was called: the caller
    /// must then end the session. Call from the socket's executor.
    bool add(boost::asio::ip::tcp::socket& socket);

    /// Unregisters a socket before it is destroyed. Call from the socket's executor.
    void remove(boost::asio::ip::tcp::socket& socket);

    /// Refuses new sockets and closes every registered one, each on its own executor (so a
    /// close never races the session's operation). Returns at once. Thread safe.
    void close_all();

    /// The number of registered sockets. Thread safe.
    std::size_t size() const;

private:
    mutable std::mutex mutex_;                               ///< guards the two below
    std::unordered_set<boost::asio::ip::tcp::socket*> live_; ///< sessions not yet ended
    bool closing_ = false;                                   ///< set by close_all()
};

} // namespace asio_echo
