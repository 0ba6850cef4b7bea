// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/printable.hpp"

#include <string>

namespace asio_echo {

std::string printable(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string result;
    result.reserve(text.size());
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            result += c;
        } else {
            result += "\\x";
            result += hex[byte >> 4];
            result += hex[byte & 0xf];
        }
    }
    return result;
}

std::string quote(std::string_view value) {
    constexpr std::size_t most = 200;
    if (value.size() > most) {
        return "'" + printable(value.substr(0, most)) + "...'";
    }
    return "'" + printable(value) + "'";
}

std::string printable_line(std::string_view message, std::size_t limit) {
    auto line = printable(message);
    constexpr std::string_view mark = "...";
    if (line.size() <= limit || limit <= mark.size()) {
        return line;
    }
    auto head = (limit - mark.size()) / 2;
    auto tail = limit - mark.size() - head;
    return line.substr(0, head) + std::string(mark) + line.substr(line.size() - tail);
}

std::string seconds_text(std::chrono::milliseconds duration) {
    auto ms = duration.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

} // namespace asio_echo
