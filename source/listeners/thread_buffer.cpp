// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/listeners/thread_buffer.hpp"

#include <vector>

namespace asio_echo {

std::span<char> thread_buffer(std::size_t size) {
    thread_local std::vector<char> buffer;
    if (buffer.size() < size) {
        buffer.resize(size);
    }
    return {buffer.data(), size};
}

} // namespace asio_echo
