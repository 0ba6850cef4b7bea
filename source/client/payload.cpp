// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/payload.hpp"

#include <random>

namespace asio_echo::client {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

payload_pattern finish(std::vector<char> sent, mode expect) {
    payload_pattern pattern;
    pattern.expected = sent;
    apply_transform(make_transform(expect), pattern.expected);
    pattern.sent = std::move(sent);
    return pattern;
}

} // namespace

void write_header(std::span<char, header_size> into, std::uint64_t sequence) noexcept {
    auto value = static_cast<std::uint32_t>(sequence);
    for (std::size_t i = header_size; i-- > 0;) {
        into[i] = hex_digits[value & 0xf];
        value >>= 4;
    }
}

std::optional<std::uint32_t> read_header(std::span<const char, header_size> from) noexcept {
    std::uint32_t value = 0;
    for (char c : from) {
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint32_t>(c - '0');
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        value = value << 4 | digit;
    }
    return value;
}

payload_pattern payload_pattern::random(std::size_t size, mode expect, std::uint64_t seed) {
    std::mt19937_64 generator(seed);
    std::vector<char> sent(size + 256);
    for (auto& byte : sent) {
        byte = static_cast<char>(generator() & 0xff);
    }
    return finish(std::move(sent), expect);
}

payload_pattern payload_pattern::letters(std::size_t size, mode expect) {
    std::vector<char> sent(size + 256);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        sent[i] = static_cast<char>('a' + i % 26);
    }
    return finish(std::move(sent), expect);
}

} // namespace asio_echo::client
