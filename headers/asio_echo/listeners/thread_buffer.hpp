// SPDX-License-Identifier: BSL-1.0
#pragma once
// The read buffer that all sessions of one thread share, so that an idle connection holds none.

#include <cstddef>
#include <span>

namespace asio_echo {

/// This thread's read buffer, at least size bytes; the first size are returned. A session
/// borrows it only between a read and the write that echoes it, with no co_await in between,
/// so every session of the thread can share it. What a write leaves unsent must be copied out
/// before the session waits. Thread safe: one buffer per thread.
std::span<char> thread_buffer(std::size_t size);

} // namespace asio_echo
