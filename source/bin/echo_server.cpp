// SPDX-License-Identifier: BSL-1.0
// echo-server: parse the configuration, run the server until a signal, map failures to exit
// codes (see errors.hpp).

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

#include <boost/system/system_error.hpp>

#include "asio_echo/config.hpp"
#include "asio_echo/errors.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/printable.hpp"
#include "asio_echo/server.hpp"

namespace {

/// Every error leaves as one printable line of bounded length, whatever its text held.
int fail(asio_echo::exit_code code, const std::string& message) {
    std::fprintf(stderr, "echo-server: %s\n", asio_echo::printable_line(message).c_str());
    return code;
}

/// An OS failure in a start-up step, named by that step ("cannot set up signal handling").
struct os_failure {
    std::string what;
};

/// The message of a failed step: ours already say what failed ("cannot create notify socket:
/// ..."); Asio's ("epoll: ...") and the standard library's (nothing but the reason) do not.
std::string named(const std::string& step, const std::string& what, const std::string& reason) {
    return what.rfind("cannot ", 0) == 0 ? what : step + ": " + reason;
}

template <class Step>
void step(const std::string& name, Step&& run) {
    try {
        run();
    } catch (const std::system_error& e) {
        throw os_failure{named(name, e.what(), e.code().message())};
    } catch (const boost::system::system_error& e) {
        throw os_failure{named(name, e.what(), e.code().message())};
    }
}

} // namespace

int main(int argc, char* argv[]) {
    using namespace asio_echo;
    server_config config;
    try {
        auto parsed = parse_server_config(argc, argv);
        if (!parsed.config) {
            std::fputs(parsed.output.c_str(), stdout);
            return exit_ok;
        }
        config = *parsed.config;
    } catch (const usage_error& e) {
        return fail(exit_usage, e.what());
    }
    set_log_level(config.level);
    try {
        std::optional<server> echo;
        step("cannot create the event loops", [&] { echo.emplace(config); });
        step("cannot set up signal handling", [&] { echo->handle_signals(); });
        step("cannot start " + std::to_string(config.threads) + " io threads",
             [&] { echo->start(); });
        echo->wait();
        log(log_level::notice, "stopped");
        return exit_ok;
    } catch (const usage_error& e) {
        // Bad LISTEN_* or NOTIFY_SOCKET variables from the service manager: as wrong as a
        // bad option, and a restart would not fix them either.
        return fail(exit_usage, e.what());
    } catch (const unavailable_error& e) {
        return fail(exit_unavailable, e.what());
    } catch (const os_failure& e) {
        return fail(exit_os_error, e.what);
    } catch (const std::exception& e) {
        return fail(exit_os_error, e.what());
    }
}
