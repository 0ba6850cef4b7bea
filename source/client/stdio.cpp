// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/stdio.hpp"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/write.hpp>

#include "asio_echo/coro.hpp"

namespace asio_echo::client {

namespace asio = boost::asio;

stdio_channel::stdio_channel(const asio::any_io_executor& executor, int fd)
    : fd_(fd), saved_flags_(::fcntl(fd, F_GETFL)), terminal_(::isatty(fd) == 1) {
    // A duplicate, so that closing the stream never closes 0 or 1 themselves.
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
        return;
    }
    boost::system::error_code ec;
    stream_.emplace(executor);
    stream_->assign(copy, ec);
    if (ec) {
        // epoll refuses regular files and /dev/null: use plain calls on fd instead.
        stream_.reset();
        ::close(copy);
    }
}

stdio_channel::~stdio_channel() {
    stream_.reset();
    if (saved_flags_ >= 0) {
        ::fcntl(fd_, F_SETFL, saved_flags_);
    }
}

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>>
stdio_channel::read_some(asio::mutable_buffer into) {
    if (stream_) {
        co_return co_await stream_->async_read_some(into, nothrow);
    }
    for (;;) {
        auto n = ::read(fd_, into.data(), into.size());
        if (n > 0) {
            co_return std::tuple{boost::system::error_code{}, static_cast<std::size_t>(n)};
        }
        if (n == 0) {
            co_return std::tuple{boost::system::error_code{asio::error::eof}, std::size_t{0}};
        }
        if (errno != EINTR) {
            co_return std::tuple{boost::system::error_code(errno, boost::system::system_category()),
                                 std::size_t{0}};
        }
    }
}

asio::awaitable<boost::system::error_code> stdio_channel::write_all(asio::const_buffer from) {
    if (stream_) {
        auto [ec, n] = co_await asio::async_write(*stream_, from, nothrow);
        co_return ec;
    }
    const char* data = static_cast<const char*>(from.data());
    std::size_t left = from.size();
    while (left > 0) {
        auto n = ::write(fd_, data, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            co_return boost::system::error_code(errno, boost::system::system_category());
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    co_return boost::system::error_code{};
}

} // namespace asio_echo::client
