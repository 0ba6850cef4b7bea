// SPDX-License-Identifier: BSL-1.0
// echo-client: parse the command line, run the mode, map failures to exit codes (errors.hpp):
// each failure is one line "echo-client: <message>" on stderr.

#include <cstdio>
#include <exception>
#include <new>
#include <system_error>

#include <boost/system/system_error.hpp>

#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/options.hpp"
#include "asio_echo/client/output.hpp"
#include "asio_echo/client/run.hpp"
#include "asio_echo/errors.hpp"

namespace {

int fail(asio_echo::exit_code code, const char* message) {
    std::fflush(stdout); // what was written before the failure; its own failure is moot now
    std::fprintf(stderr, "echo-client: %s\n", message);
    return code;
}

} // namespace

int main(int argc, char* argv[]) {
    using namespace asio_echo;
    try {
        auto parsed = client::parse_options(argc, argv);
        int code = exit_ok;
        if (parsed.run) {
            code = client::run(*parsed.run);
        } else {
            client::write_out(parsed.output);
        }
        client::finish_out(); // output still buffered may fail too
        return code;
    } catch (const client::os_failure& e) {
        return fail(exit_os_error, e.what());
    } catch (const usage_error& e) {
        return fail(exit_usage, e.what());
    } catch (const unavailable_error& e) {
        return fail(exit_unavailable, e.what());
    } catch (const client::check_failed& e) {
        return fail(exit_check_failed, e.what());
    } catch (const boost::system::system_error& e) {
        return fail(exit_os_error, e.what());
    } catch (const std::system_error& e) {
        return fail(exit_os_error, e.what());
    } catch (const std::bad_alloc&) {
        return fail(exit_os_error, "out of memory");
    } catch (const std::exception& e) {
        return fail(exit_check_failed, e.what());
    }
}
