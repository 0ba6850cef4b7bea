// SPDX-License-Identifier: BSL-1.0
#pragma once
// The bytes ping and load send, and how a reply is recognised.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "asio_echo/transform.hpp"

namespace asio_echo::client {

/// Digits of the sequence header: upper-case hex, which both built-in modes leave unchanged,
/// so a reply's header can be read whatever the server does to letters.
inline constexpr std::size_t header_size = 8;

/// Writes the low 32 bits of sequence as 8 upper-case hex digits.
void write_header(std::span<char, header_size> into, std::uint64_t sequence) noexcept;

/// Reads 8 upper-case hex digits; nothing when a byte is not one.
std::optional<std::uint32_t> read_header(std::span<const char, header_size> from) noexcept;

/// A pattern to cut messages from, and the reply a correct server gives to it. Read-only once
/// built: thread safe.
struct payload_pattern {
    std::vector<char> sent;     ///< message bytes; message k starts at offset(k, conn)
    std::vector<char> expected; ///< sent with the --expect transform applied

    /// Random bytes (all 256 values, seeded) for messages of size bytes.
    static payload_pattern random(std::size_t size, mode expect, std::uint64_t seed);

    /// Lower-case letters (visible in a terminal; an upper server changes them) for messages
    /// of size bytes.
    static payload_pattern letters(std::size_t size, mode expect);

    /// Where message k of connection conn starts: successive messages differ, so a server
    /// repeating an old reply is caught.
    static std::size_t offset(std::uint64_t k, std::size_t conn) noexcept {
        return static_cast<std::size_t>((k * 61 + conn * 17) % 256);
    }
};

} // namespace asio_echo::client
