// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/output.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

#include "asio_echo/client/failure.hpp"

namespace asio_echo::client {

namespace {

[[noreturn]] void cannot_write(int error) {
    throw output_error(std::string("cannot write to stdout: ") + std::strerror(error));
}

} // namespace

void write_out(std::string_view text) {
    finish_out();
    while (!text.empty()) {
        auto n = ::write(STDOUT_FILENO, text.data(), text.size());
        if (n < 0 && errno == EINTR) {
            continue; // a signal caught while reporting (a second Ctrl-C) must not cut it
        }
        if (n <= 0) {
            cannot_write(n < 0 ? errno : EIO);
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

void print_out(const char* format, ...) {
    char small[512];
    std::va_list args;
    va_start(args, format);
    std::va_list again;
    va_copy(again, args);
    auto n = std::vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0) {
        va_end(again);
        cannot_write(EINVAL);
    }
    if (static_cast<std::size_t>(n) < sizeof small) {
        va_end(again);
        write_out({small, static_cast<std::size_t>(n)});
        return;
    }
    std::string large(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(large.data(), large.size(), format, again);
    va_end(again);
    large.pop_back();
    write_out(large);
}

void finish_out() {
    errno = 0;
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        cannot_write(errno != 0 ? errno : EIO);
    }
}

} // namespace asio_echo::client
