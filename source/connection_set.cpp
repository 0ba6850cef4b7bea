#include "asio_echo/connection_set.hpp"

#include <boost/asio/post.hpp>

namespace asio_echo {

bool connection_set::add(boost::asio::ip::tcp::socket& socket) {
    std::lock_guard lock(mutex_);
    if (closing_) {
        return false;
    }
    live_.insert(&socket);
    return true;
}

void connection_set::remove(boost::asio::ip::tcp::socket& socket) {
    std::lock_guard lock(mutex_);
    live_.erase(&socket);
}

void connection_set::close_all() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    for (auto* socket : live_) {
        boost::asio::post(socket->get_executor(), [this, socket] {
            // The session may have ended between the post and now: close only if still live.
            // Both run on the socket's executor, so "still live" cannot change under us.
            std::lock_guard inner(mutex_);
            if (live_.count(socket)) {
                boost::system::error_code ignored;
                socket->close(ignored);
            }
        });
    }
}

std::size_t connection_set::size() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

} // namespace asio_echo
