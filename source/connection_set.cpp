// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/connection_set.hpp"

#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <boost/asio/post.hpp>

namespace asio_echo {

int unsent_bytes(int fd) noexcept {
    int queued = 0;
    return ::ioctl(fd, SIOCOUTQ, &queued) == 0 ? queued : -1;
}

connection_set::connection_set(std::size_t max_sessions) : max_sessions_(max_sessions) {}

bool connection_set::try_reserve() noexcept {
    auto used = slots_used_.load(std::memory_order_relaxed);
    while (used < max_sessions_) {
        if (slots_used_.compare_exchange_weak(used, used + 1, std::memory_order_acq_rel)) {
            return true;
        }
    }
    return false;
}

void connection_set::unreserve() {
    release_slot();
}

bool connection_set::reserve_by_closing_longest_idle() {
    std::lock_guard lock(mutex_);
    session_handle* oldest = nullptr;
    for (auto* session : live_) {
        if (!session->slot_taken_over && session->reading.load(std::memory_order_relaxed) &&
            (oldest == nullptr || session->last_active.load(std::memory_order_relaxed) <
                                      oldest->last_active.load(std::memory_order_relaxed))) {
            oldest = session;
        }
    }
    if (oldest == nullptr) {
        return false;
    }
    // Its slot is the newcomer's from now on, and it is no longer a candidate.
    oldest->slot_taken_over = true;
    oldest->reading.store(false, std::memory_order_relaxed);
    boost::asio::post(oldest->executor(), [this, oldest] {
        std::lock_guard inner(mutex_);
        if (live_.count(oldest) && oldest->is_open()) {
            oldest->close();
        }
    });
    return true;
}

void connection_set::release_slot() {
    slots_used_.fetch_sub(1, std::memory_order_acq_rel);
    std::lock_guard lock(mutex_);
    wake_waiters();
}

void connection_set::wake_waiters() {
    for (auto* timer : waiters_) {
        boost::asio::post(timer->get_executor(), [this, timer] {
            // Runs on the waiter's executor: it cannot forget the timer meanwhile.
            std::lock_guard inner(mutex_);
            if (waiters_.count(timer)) {
                // Expiring in the past both cancels a pending wait and makes the next one
                // complete at once, so the wake-up is kept whichever comes first.
                timer->expires_at(boost::asio::steady_timer::time_point::min());
            }
        });
    }
}

void connection_set::wait_for_slot(boost::asio::steady_timer& timer) {
    timer.expires_at(boost::asio::steady_timer::time_point::max());
    std::lock_guard lock(mutex_);
    waiters_.insert(&timer);
}

void connection_set::forget_waiter(boost::asio::steady_timer& timer) {
    std::lock_guard lock(mutex_);
    waiters_.erase(&timer);
}

bool connection_set::add(session_handle& session) {
    {
        std::lock_guard lock(mutex_);
        if (!closing_) {
            live_.insert(&session);
            return true;
        }
    }
    release_slot();
    return false;
}

void connection_set::remove(session_handle& session) {
    bool handed_over = false;
    {
        std::lock_guard lock(mutex_);
        live_.erase(&session);
        handed_over = session.slot_taken_over;
    }
    if (!handed_over) {
        release_slot();
    }
}

template <class Candidate, class Decide>
std::size_t connection_set::close_where(Candidate candidate, Decide decide,
                                        std::atomic<std::uint64_t>* counter) {
    std::lock_guard lock(mutex_);
    std::size_t asked = 0;
    for (auto* session : live_) {
        if (!candidate(*session)) {
            continue;
        }
        ++asked;
        boost::asio::post(session->executor(), [this, session, candidate, decide, counter] {
            // The session may have ended, or become busy, since: decide again on its executor.
            std::lock_guard inner(mutex_);
            if (live_.count(session) && candidate(*session) && session->is_open() &&
                decide(*session)) {
                if (counter) {
                    bump(*counter); // first: a peer that sees the close finds it counted
                }
                session->close();
            }
        });
    }
    return asked;
}

std::size_t connection_set::close_idle(clock::duration idle, bool only_reading,
                                       std::atomic<std::uint64_t>* timed_out) {
    auto limit = (clock::now() - idle).time_since_epoch().count();
    return close_where(
        [limit, only_reading](const session_handle& s) {
            return s.last_active.load(std::memory_order_relaxed) <= limit &&
                   (!only_reading || s.reading.load(std::memory_order_relaxed));
        },
        [](session_handle& s) {
            if (s.write_since.load(std::memory_order_relaxed) != 0 && s.peer_took_bytes()) {
                s.touch(); // still delivering: active, not idle
                return false;
            }
            return true;
        },
        timed_out);
}

std::size_t connection_set::close_slow_writers(clock::duration limit,
                                               std::atomic<std::uint64_t>* timed_out) {
    auto since = (clock::now() - limit).time_since_epoch().count();
    return close_where(
        [since](const session_handle& s) {
            auto started = s.write_since.load(std::memory_order_relaxed);
            return started != 0 && started <= since;
        },
        [](session_handle&) { return true; }, timed_out);
}

void connection_set::announce_going_away() {
    std::lock_guard lock(mutex_);
    for (auto* session : live_) {
        boost::asio::post(session->executor(), [this, session] {
            std::lock_guard inner(mutex_); // it may have ended since
            if (live_.count(session)) {
                session->going_away();
            }
        });
    }
}

void connection_set::refuse_new() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    wake_waiters(); // acceptors waiting for a slot must see that their acceptor closed
}

void connection_set::begin_drain() {
    draining_.store(true, std::memory_order_release);
    std::lock_guard lock(mutex_);
    wake_waiters();
}

bool connection_set::closing() const {
    std::lock_guard lock(mutex_);
    return closing_;
}

void connection_set::close_all() {
    refuse_new();
    auto every = [](const session_handle&) { return true; };
    close_where(every, every, nullptr);
}

std::size_t connection_set::size() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

} // namespace asio_echo
