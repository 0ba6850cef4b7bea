// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the server does to the bytes it echoes. A transform works in place over one chunk, so
// it must be byte-local (chunk boundaries depend on the network) unless the embedder accepts
// chunk-dependent output, as the reversing example does.

#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace asio_echo {

/// The built-in modes: echo (RFC 862, bytes unchanged) and upper (ASCII a-z to A-Z).
enum class mode { echo, upper };

/// Rewrites one received chunk in place before it is sent back. Called from the session's
/// thread; a transform shared by sessions must therefore be safe to call concurrently.
/// An empty function means "leave the bytes as they are" and costs nothing.
using transform = std::function<void(std::span<char>)>;

/// Upper-cases ASCII letters in place; every other byte value stays as it is.
void to_upper_ascii(std::span<char> bytes) noexcept;

/// The transform of a built-in mode (empty for echo).
transform make_transform(mode m);

/// Parses "echo" or "upper"; throws usage_error naming the value otherwise.
mode parse_mode(std::string_view text);

/// "echo" or "upper".
std::string_view to_string(mode m) noexcept;

/// Applies t to bytes unless t is empty (the echo fast path).
inline void apply_transform(const transform& t, std::span<char> bytes) {
    if (t) {
        t(bytes);
    }
}

} // namespace asio_echo
