// echo-server: parse the configuration, run the server until a signal, map failures to exit
// codes (see errors.hpp).

#include <cstdio>
#include <exception>
#include <system_error>

#include "asio_echo/config.hpp"
#include "asio_echo/errors.hpp"
#include "asio_echo/log.hpp"
#include "asio_echo/server.hpp"

namespace {

int fail(asio_echo::exit_code code, const char* message) {
    std::fprintf(stderr, "echo-server: %s\n", message);
    return code;
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
        server echo(config);
        echo.handle_signals();
        echo.start();
        echo.wait();
        log(log_level::notice, "stopped");
        return exit_ok;
    } catch (const usage_error& e) {
        // Bad LISTEN_* variables from the service manager.
        return fail(exit_usage, e.what());
    } catch (const unavailable_error& e) {
        return fail(exit_unavailable, e.what());
    } catch (const std::system_error& e) {
        return fail(exit_os_error, e.what());
    } catch (const std::exception& e) {
        return fail(exit_os_error, e.what());
    }
}
