// SPDX-License-Identifier: BSL-1.0
#pragma once
// The live TCP connections: how many may run (--max-connections), which have been silent too
// long (--idle-timeout, drain), and closing them all on stop. A gate, as in Seastar's
// gate.hh: refuse new work once closing, reach every running piece of work.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "asio_echo/stats.hpp"

namespace asio_echo {

/// What the registry knows of one session. Owned by the session's coroutine frame, which
/// implements the socket side for its own socket type.
class session_handle {
public:
    using clock = std::chrono::steady_clock;

    session_handle() { touch(); }
    session_handle(const session_handle&) = delete;
    session_handle& operator=(const session_handle&) = delete;

    /// Records that bytes moved: the peer sent something, or took what we wrote. Call from
    /// the session.
    void touch() noexcept {
        last_active.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    /// Marks the start and the end of a write that waits for the peer to take bytes. From
    /// the session's executor.
    void write_started() noexcept {
        peer_took_bytes(); // what the queue holds now is the mark to compare with
        write_since.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    void write_ended() noexcept {
        write_since.store(0, std::memory_order_relaxed);
        touch();
    }

    /// The executor the session runs on; is_open(), close() and peer_took_bytes() only from
    /// there.
    virtual boost::asio::any_io_executor executor() const = 0;
    virtual bool is_open() const = 0;
    virtual void close() = 0;

    /// True when the kernel's send queue changed since the last call: while a write waits,
    /// the peer is taking bytes although the session sees no completion (the socket turns
    /// writable again only once a large part of its send buffer has drained).
    virtual bool peer_took_bytes() noexcept { return false; }

    /// The server is stopping: a session that can say so to its peer (WebSocket: close
    /// 1001) begins to end now, at a message boundary. Others do nothing: the drain lets them
    /// finish. From executor().
    virtual void going_away() {}

    std::atomic<clock::rep> last_active{0}; ///< steady clock ticks of the last byte moved
    std::atomic<clock::rep> write_since{0}; ///< when the pending write began; 0: none
    std::atomic<bool> reading{false};       ///< waiting for the peer, nothing in flight
    bool slot_taken_over = false; ///< closed for a newcomer, who holds its slot (under mutex)

protected:
    ~session_handle() = default;
};

/// Bytes in a TCP socket's send queue (written, not yet acknowledged); -1 when unknown.
int unsent_bytes(int fd) noexcept;

/// The session_handle of a connection that is one socket, of any executor type.
template <class Socket>
class socket_handle : public session_handle {
public:
    explicit socket_handle(Socket& socket) : socket_(socket) {}
    boost::asio::any_io_executor executor() const override { return socket_.get_executor(); }
    bool is_open() const override { return socket_.is_open(); }
    void close() override {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    bool peer_took_bytes() noexcept override {
        int queued = unsent_bytes(socket_.native_handle());
        bool changed = queued >= 0 && queued != last_queued_;
        last_queued_ = queued;
        return changed;
    }

private:
    Socket& socket_;
    int last_queued_ = -1; ///< send queue length at the last peer_took_bytes()
};

/// Registry of running sessions and their slots. Thread safe unless noted.
class connection_set {
public:
    using clock = std::chrono::steady_clock;

    /// At most max_sessions sessions at once.
    explicit connection_set(std::size_t max_sessions);

    /// Takes a slot for a connection about to be accepted; false when all are taken.
    bool try_reserve() noexcept;

    /// Returns a slot taken by try_reserve() that no session will use (accept failed).
    void unreserve();

    /// When every slot is taken: closes the session that has waited longest for its peer
    /// (reading, the oldest last_active) and hands its slot to a newcomer at once (the closed
    /// session does not return it when it ends). False, and nothing taken, when no session is
    /// waiting for its peer.
    bool reserve_by_closing_longest_idle();

    /// Wakes timer (sets it to expire at once) when a slot frees. Call wait_for_slot, then
    /// try_reserve() again, then wait on the timer: no wake-up is lost in between. Call from
    /// the timer's executor; forget_waiter() before the timer is destroyed.
    void wait_for_slot(boost::asio::steady_timer& timer);
    void forget_waiter(boost::asio::steady_timer& timer);

    /// Registers a session that holds a reserved slot. Returns false once close_all() was
    /// called: the slot is then returned and the caller must end the session. Call from the
    /// socket's executor.
    bool add(session_handle& session);

    /// Unregisters a session before it is destroyed and frees its slot. Call from the
    /// socket's executor.
    void remove(session_handle& session);

    /// Closes the sessions silent for longer than idle (all of them, or only those waiting
    /// to read when only_reading), each on its own executor; counts them in timed_out when
    /// given. A session whose pending write the peer is still taking is not silent. Returns
    /// how many were looked at closely (on their executors).
    std::size_t close_idle(clock::duration idle, bool only_reading,
                           std::atomic<std::uint64_t>* timed_out);

    /// Closes the sessions whose pending write has waited longer than limit (a peer that
    /// takes bytes too slowly, for ever) and counts them in timed_out.
    std::size_t close_slow_writers(clock::duration limit, std::atomic<std::uint64_t>* timed_out);

    /// A graceful stop began: sessions are still admitted (those queued in the listen
    /// backlog are accepted and drained), but accept loops take only what is queued.
    /// Wakes the acceptors waiting for a slot, so that a closed one notices.
    void begin_drain();
    bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

    /// Tells every registered session that the server is going away (going_away(), each on
    /// its own executor). Returns at once.
    void announce_going_away();

    /// Refuses new sessions from now on (their slots are returned). Running ones go on.
    void refuse_new();

    /// True once refuse_new() or close_all() ran.
    bool closing() const;

    /// Refuses new sessions and closes every registered one, each on its own executor (so
    /// a close never races the session's operation). Returns at once.
    void close_all();

    /// The number of registered sessions.
    std::size_t size() const;

private:
    void release_slot();
    void wake_waiters(); // with mutex_ held
    template <class Candidate, class Decide>
    std::size_t close_where(Candidate candidate, Decide decide,
                            std::atomic<std::uint64_t>* counter);

    const std::size_t max_sessions_;                         ///< --max-connections
    std::atomic<std::size_t> slots_used_{0};                 ///< reserved or running
    mutable std::mutex mutex_;                               ///< guards the three below
    std::unordered_set<session_handle*> live_;               ///< sessions not yet ended
    std::unordered_set<boost::asio::steady_timer*> waiters_; ///< acceptors waiting for a slot
    bool closing_ = false;                                   ///< refuse_new() or close_all()
    std::atomic<bool> draining_{false};                      ///< begin_drain() ran
};

} // namespace asio_echo
