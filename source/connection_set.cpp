#include "asio_echo/connection_set.hpp"

#include <boost/asio/post.hpp>

namespace asio_echo {

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
    {
        std::lock_guard lock(mutex_);
        live_.erase(&session);
    }
    release_slot();
}

template <class Predicate>
std::size_t connection_set::close_where(Predicate should_close,
                                        std::atomic<std::uint64_t>* counter) {
    std::lock_guard lock(mutex_);
    std::size_t asked = 0;
    for (auto* session : live_) {
        if (!should_close(*session)) {
            continue;
        }
        ++asked;
        boost::asio::post(session->executor(), [this, session, should_close, counter] {
            // The session may have ended, or become busy, since: decide again on its executor.
            std::lock_guard inner(mutex_);
            if (live_.count(session) && should_close(*session) && session->is_open()) {
                session->close();
                if (counter) {
                    bump(*counter);
                }
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
            return s.last_received.load(std::memory_order_relaxed) <= limit &&
                   (!only_reading || s.reading.load(std::memory_order_relaxed));
        },
        timed_out);
}

void connection_set::refuse_new() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    wake_waiters(); // acceptors waiting for a slot must see that their acceptor closed
}

void connection_set::close_all() {
    refuse_new();
    close_where([](const session_handle&) { return true; }, nullptr);
}

std::size_t connection_set::size() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

} // namespace asio_echo
