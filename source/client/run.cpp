// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/run.hpp"

#include <unistd.h>

#include "asio_echo/client/failure.hpp"
#include "asio_echo/client/interactive.hpp"
#include "asio_echo/client/load.hpp"
#include "asio_echo/client/oneshot.hpp"
#include "asio_echo/client/ping.hpp"
#include "asio_echo/client/stream.hpp"
#include "asio_echo/client/ws_load.hpp"
#include "asio_echo/client/ws_stream.hpp"
#include "asio_echo/errors.hpp"

namespace asio_echo::client {

int run(const options& opts) {
    switch (opts.what) {
    case command::ping:
        run_ping(opts);
        return exit_ok;
    case command::load: {
        auto result = opts.websocket.enabled ? run_ws_load(opts) : run_load(opts);
        if (result.errors > 0 || result.mismatches > 0 || result.lost > 0) {
            throw check_failed(std::to_string(result.mismatches) + " mismatched replies, " +
                               std::to_string(result.lost) + " lost and " +
                               std::to_string(result.errors) + " connection errors");
        }
        if (result.messages == 0) {
            throw check_failed("no reply completed in the measured window");
        }
        return exit_ok;
    }
    case command::message:
        break;
    }
    if (!opts.message.empty()) {
        run_oneshot(opts);
    } else if (::isatty(STDIN_FILENO) == 1) {
        run_lines(opts, true);
    } else if (opts.udp) {
        run_lines(opts, false);
    } else if (opts.websocket.enabled) {
        run_ws_stream(opts);
    } else {
        run_stream(opts);
    }
    return exit_ok;
}

} // namespace asio_echo::client
