// SPDX-License-Identifier: BSL-1.0
#pragma once
// stdin and stdout for coroutines, whatever they are: pipes, sockets and terminals are waited
// for asynchronously; regular files and /dev/null, which epoll refuses and which never block
// for long, are read and written with plain calls.

#include <cstddef>
#include <optional>
#include <tuple>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

namespace asio_echo::client {

/// One standard descriptor (0 or 1). Use from the executor's thread only. The descriptor's
/// file status flags (O_NONBLOCK) are restored on destruction, so the shell finds its terminal
/// or pipe as it left it.
class stdio_channel {
public:
    stdio_channel(const boost::asio::any_io_executor& executor, int fd);
    ~stdio_channel();
    stdio_channel(const stdio_channel&) = delete;
    stdio_channel& operator=(const stdio_channel&) = delete;

    /// Reads what is there (at least one byte); asio::error::eof at the end.
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>>
    read_some(boost::asio::mutable_buffer into);

    /// Writes every byte.
    boost::asio::awaitable<boost::system::error_code> write_all(boost::asio::const_buffer from);

    /// The descriptor (0 or 1).
    int fd() const { return fd_; }

    /// True when the descriptor is a terminal.
    bool terminal() const { return terminal_; }

private:
    int fd_;
    int saved_flags_ = -1;
    bool terminal_ = false;
    std::optional<boost::asio::posix::stream_descriptor> stream_; ///< when it can be polled
};

} // namespace asio_echo::client
