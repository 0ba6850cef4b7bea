// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/transform.hpp"

#include "asio_echo/errors.hpp"

namespace asio_echo {

void to_upper_ascii(std::span<char> bytes) noexcept {
    for (char& c : bytes) {
        // Plain ASCII arithmetic: no locale, so bytes >= 0x80 are never touched.
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - ('a' - 'A'));
        }
    }
}

transform make_transform(mode m) {
    switch (m) {
    case mode::upper:
        return to_upper_ascii;
    case mode::echo:
        break;
    }
    return {};
}

mode parse_mode(std::string_view text) {
    if (text == "echo") {
        return mode::echo;
    }
    if (text == "upper") {
        return mode::upper;
    }
    throw usage_error("unknown mode '" + std::string(text) + "' (expected echo or upper)");
}

std::string_view to_string(mode m) noexcept {
    return m == mode::upper ? "upper" : "echo";
}

} // namespace asio_echo
