// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/options.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include <boost/program_options.hpp>

#include "asio_echo/errors.hpp"
#include "asio_echo/option_error.hpp"

#ifndef ASIO_ECHO_VERSION
#define ASIO_ECHO_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

namespace asio_echo::client {
namespace {

using text = po::typed_value<std::string>;

text* value(const char* name) {
    return po::value<std::string>()->value_name(name);
}

po::options_description common_options() {
    po::options_description common("Common options");
    common.add_options()("help,h", "print this help and exit")("version,V",
                                                               "print the version and exit")(
        "connect,c", value("HOST:PORT"),
        "the echo service (default 127.0.0.1:9999; names are resolved; IPv6 as [::1]:PORT), or"
        " a WebSocket URL ws://HOST[:PORT]/PATH or wss://... (messages instead of a stream)")(
        "deflate", "WebSocket: offer permessage-deflate (compressed messages, if the server"
                   " agrees)")("udp,u", "use UDP datagrams (default TCP)")(
        "timeout,t", value("SECONDS"),
        "how long to wait to connect or for a reply; decimals allowed (default 5 over TCP, "
        "1 per UDP try)")("json", "print one JSON object on stdout")(
        "expect,e", value("MODE"),
        "what a correct reply is: echo (the same bytes, default) or upper (ASCII upper-cased)");
    return common;
}

po::options_description tls_option_descriptions() {
    po::options_description tls("TLS options");
    tls.add_options()("tls", "use TLS (1.2 or later) over the TCP connection")(
        "tls-ca", value("FILE"),
        "trust the CA certificates in FILE (PEM) to verify the server (default: the system's)")(
        "servername", value("NAME"),
        "the name sent as SNI and verified in the server's certificate (default: the host of "
        "--connect; an IP address is verified as such and sends no SNI)")(
        "insecure", "do not verify the server's certificate (a warning says so)")(
        "tls-cert", value("FILE"), "present the client certificate in FILE (PEM; with --tls-key)")(
        "tls-key", value("FILE"), "the private key of --tls-cert (PEM)");
    return tls;
}

po::options_description message_options() {
    po::options_description message("Message, interactive and stream options");
    message.add_options()("retries,r", value("N"),
                          "UDP: resend an unanswered datagram N times (default 2)")(
        "verify", "compare every reply with what was sent (under --expect); exit 1 on the "
                  "first mismatch, naming its offset")(
        "binary", "WebSocket: send the MESSAGE as a binary message (default text)");
    return message;
}

po::options_description ping_options() {
    po::options_description ping("Ping options");
    ping.add_options()("count,n", value("N"), "probes to send (default 5; 0: until Ctrl-C)")(
        "interval,i", value("SECONDS"),
        "time between probes (default 1)")("size,s", value("BYTES"), "probe size (default 64)");
    return ping;
}

po::options_description load_options() {
    po::options_description load("Load options");
    load.add_options()("connections,C", value("N"), "TCP connections or UDP sockets (default 10)")(
        "size,s", value("BYTES"), "message size (default 64; UDP at least 8)")(
        "duration,d", value("SECONDS"), "measured time (default 10)")(
        "pipeline,p", value("W"), "messages in flight per connection (default 1)")(
        "rate,R", value("MSGS"),
        "messages per second in total, latency taken from each intended send time "
        "(default 0: as fast as replies allow)")("threads,T", value("N"),
                                                 "io_context threads (default 1)")(
        "warmup,w", value("SECONDS"), "unmeasured time before the measurement (default 0)")(
        "reconnect",
        "each connection sends one message, reads its echo, closes and connects again: the rate "
        "of new connections (TCP connect and TLS handshake timed apart); not with --udp, "
        "--pipeline or --rate");
    return load;
}

const char* usage_line(command what) {
    switch (what) {
    case command::ping:
        return "Usage: echo-client ping [OPTIONS]\n"
               "Measures round-trip times like ping(8), one probe at a time.\n";
    case command::load:
        return "Usage: echo-client load [OPTIONS]\n"
               "Drives the service with many connections and reports rate and latency.\n";
    case command::message:
        break;
    }
    return "Usage: echo-client [OPTIONS] [MESSAGE...]\n"
           "       echo-client ping [OPTIONS]     (see echo-client ping --help)\n"
           "       echo-client load [OPTIONS]     (see echo-client load --help)\n"
           "Sends MESSAGE (the words joined by spaces) and prints the reply. Without MESSAGE:\n"
           "interactive on a terminal (each line sent, its echo printed), else a full-duplex\n"
           "stream from stdin to stdout.\n";
}

const char* exit_codes =
    "\nExit status: 0 success, 1 a failed check (no reply, mismatch, errors),\n"
    "64 bad arguments, 69 cannot connect.\n";

[[noreturn]] void bad_value(const std::string& option, const std::string& value,
                            const std::string& why) {
    throw usage_error("invalid value '" + value + "' for --" + option + ": " + why);
}

/// --connect: HOST:PORT, or a ws:// or wss:// URL (port 80 or 443 when the URL names none).
void parse_connect(const std::string& given, options& opts) {
    std::string_view text = given;
    for (std::string_view scheme : {"ws://", "wss://"}) {
        if (text.substr(0, scheme.size()) != scheme) {
            continue;
        }
        if (opts.udp) {
            throw usage_error("a WebSocket URL needs TCP: it cannot be used with --udp");
        }
        opts.websocket.enabled = true;
        opts.websocket.secure = scheme == "wss://";
        opts.tls.enabled = opts.websocket.secure;
        auto rest = text.substr(scheme.size());
        auto slash = rest.find_first_of("/?");
        auto authority = std::string(rest.substr(0, slash));
        if (slash != std::string_view::npos) {
            opts.websocket.path = std::string(rest.substr(slash));
            if (opts.websocket.path.front() == '?') {
                opts.websocket.path.insert(0, "/");
            }
        }
        if (authority.empty()) {
            bad_value("connect", given, "no host in the URL");
        }
        auto bracket = authority.rfind(']');
        auto colon = authority.rfind(':');
        bool has_port =
            colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
        if (!has_port) {
            authority += opts.websocket.secure ? ":443" : ":80";
        }
        opts.connect = parse_endpoint(authority, "connect");
        return;
    }
    if (text.find("://") != std::string_view::npos) {
        bad_value("connect", given, "expected HOST:PORT, ws://HOST:PORT/PATH or wss://...");
    }
    opts.connect = parse_endpoint(given);
}

/// A whole decimal number in [low, high] (no sign: Program_options would wrap "-1").
std::uint64_t whole(const po::variables_map& vm, const std::string& option, std::uint64_t low,
                    std::uint64_t high, std::uint64_t fallback) {
    if (!vm.count(option)) {
        return fallback;
    }
    const auto& given = vm[option].as<std::string>();
    std::uint64_t result = 0;
    bool ok = !given.empty() && given.size() <= 19;
    for (char c : given) {
        ok = ok && c >= '0' && c <= '9';
        result = result * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!ok) {
        bad_value(option, given, "not a whole number");
    }
    if (result < low || result > high) {
        bad_value(option, given, "must be " + std::to_string(low) + " to " + std::to_string(high));
    }
    return result;
}

/// A number of seconds (decimals allowed) that must be at least low (and above it unless
/// low_allowed).
double seconds(const po::variables_map& vm, const std::string& option, double low, bool low_allowed,
               double fallback) {
    if (!vm.count(option)) {
        return fallback;
    }
    const auto& given = vm[option].as<std::string>();
    std::size_t used = 0;
    double result = 0;
    try {
        result = std::stod(given, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (given.empty() || used != given.size() || !std::isfinite(result)) {
        bad_value(option, given, "not a number");
    }
    if (result < low || (!low_allowed && result == low) || result > 1e6) {
        std::ostringstream why;
        why << "must be " << (low_allowed ? "at least " : "more than ") << low
            << " and at most 1000000";
        bad_value(option, given, why.str());
    }
    return result;
}

} // namespace

const char* protocol_name(const options& opts) noexcept {
    if (opts.websocket.enabled) {
        return opts.websocket.secure ? "wss" : "ws";
    }
    return opts.udp ? "udp" : opts.tls.enabled ? "tls" : "tcp";
}

parse_result parse_options(int argc, const char* const argv[]) {
    command what = command::message;
    int skip = 1;
    if (argc > 1 && std::strcmp(argv[1], "ping") == 0) {
        what = command::ping;
        skip = 2;
    } else if (argc > 1 && std::strcmp(argv[1], "load") == 0) {
        what = command::load;
        skip = 2;
    }

    po::options_description visible;
    visible.add(common_options());
    visible.add(tls_option_descriptions());
    if (what == command::message) {
        visible.add(message_options());
    } else if (what == command::ping) {
        visible.add(ping_options());
    } else {
        visible.add(load_options());
    }
    po::options_description all;
    all.add(visible).add_options()("message", po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add("message", -1);

    std::vector<std::string> args(argv + skip, argv + argc);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw usage_error(describe(e) + " (see --help)");
    }

    parse_result result;
    if (vm.count("help")) {
        std::ostringstream help;
        help << usage_line(what) << visible << exit_codes;
        result.output = help.str();
        return result;
    }
    if (vm.count("version")) {
        result.output = std::string("echo-client ") + ASIO_ECHO_VERSION + "\n";
        return result;
    }

    options opts;
    opts.what = what;
    opts.udp = vm.count("udp") > 0;
    if (vm.count("connect")) {
        parse_connect(vm["connect"].as<std::string>(), opts);
    }
    opts.json = vm.count("json") > 0;
    if (vm.count("timeout")) {
        opts.timeout = seconds(vm, "timeout", 0, false, 0);
    }
    if (vm.count("expect")) {
        const auto& given = vm["expect"].as<std::string>();
        if (given != "echo" && given != "upper") {
            bad_value("expect", given, "expected echo or upper");
        }
        opts.expect = parse_mode(given);
    }
    if (vm.count("deflate") > 0) {
        if (!opts.websocket.enabled) {
            throw usage_error("--deflate needs a WebSocket URL (--connect ws://...)");
        }
        opts.websocket.deflate = true;
    }
    if (vm.count("tls") > 0) {
        if (opts.websocket.enabled) {
            throw usage_error("--tls with a WebSocket URL: use wss:// for WebSocket over TLS");
        }
        opts.tls.enabled = true;
        if (opts.udp) {
            throw usage_error("--tls needs TCP: it cannot be used with --udp");
        }
    }
    auto file = [&](const char* option) -> std::optional<std::string> {
        if (!vm.count(option)) {
            return std::nullopt;
        }
        if (!opts.tls.enabled) {
            throw usage_error(std::string("--") + option + " needs --tls");
        }
        return vm[option].as<std::string>();
    };
    opts.tls.ca_file = file("tls-ca");
    opts.tls.servername = file("servername");
    opts.tls.cert_file = file("tls-cert");
    opts.tls.key_file = file("tls-key");
    if (vm.count("insecure") > 0) {
        if (!opts.tls.enabled) {
            throw usage_error("--insecure needs --tls");
        }
        opts.tls.insecure = true;
    }
    if (opts.tls.cert_file.has_value() != opts.tls.key_file.has_value()) {
        throw usage_error(opts.tls.cert_file
                              ? "--tls-cert needs --tls-key (the certificate's key)"
                              : "--tls-key needs --tls-cert (the key's certificate)");
    }
    if (opts.tls.servername && opts.tls.servername->empty()) {
        bad_value("servername", "", "must not be empty");
    }
    if (vm.count("message")) {
        opts.message = vm["message"].as<std::vector<std::string>>();
        if (what != command::message) {
            throw usage_error("unexpected argument '" + opts.message.front() + "' (see --help)");
        }
    }

    constexpr std::uint64_t max_size = 16 * 1024 * 1024;
    constexpr std::uint64_t max_datagram = 65507;
    switch (what) {
    case command::message:
        opts.retries = static_cast<unsigned>(whole(vm, "retries", 0, 100, 2));
        opts.verify = vm.count("verify") > 0;
        if (vm.count("binary") > 0) {
            if (!opts.websocket.enabled) {
                throw usage_error("--binary needs a WebSocket URL (--connect ws://...)");
            }
            opts.websocket.binary = true;
        }
        if (opts.json && opts.message.empty()) {
            throw usage_error("--json needs a MESSAGE (or ping or load)");
        }
        break;
    case command::ping:
        opts.count = whole(vm, "count", 0, std::numeric_limits<std::uint32_t>::max(), 5);
        opts.interval = seconds(vm, "interval", 0, true, 1.0);
        opts.size = whole(vm, "size", 1, opts.udp ? max_datagram : max_size, 64);
        break;
    case command::load:
        opts.connections = static_cast<unsigned>(whole(vm, "connections", 1, 100000, 10));
        opts.size = whole(vm, "size", opts.udp ? 8 : 1, opts.udp ? max_datagram : max_size, 64);
        opts.duration = seconds(vm, "duration", 0, false, 10.0);
        opts.pipeline = static_cast<unsigned>(whole(vm, "pipeline", 1, 1024, 1));
        opts.rate = seconds(vm, "rate", 0, true, 0.0);
        opts.threads = static_cast<unsigned>(whole(vm, "threads", 1, 256, 1));
        opts.warmup = seconds(vm, "warmup", 0, true, 0.0);
        if (opts.size * opts.pipeline > 64 * 1024 * 1024) {
            throw usage_error("--size times --pipeline must be at most 64 MiB per connection");
        }
        if (opts.websocket.enabled && (opts.pipeline > 1 || opts.rate > 0)) {
            // Each connection is a closed loop: one message, its echo, the next.
            throw usage_error("--pipeline and --rate need a TCP or UDP --connect, not a "
                              "WebSocket URL");
        }
        opts.reconnect = vm.count("reconnect") > 0;
        // One message per connection, sent as soon as it is connected: nothing to pipeline or
        // pace (a paced reconnect would need its connects at intended times: not built).
        if (opts.reconnect && opts.udp) {
            throw usage_error("--reconnect needs TCP: it cannot be used with --udp");
        }
        if (opts.reconnect && opts.pipeline > 1) {
            throw usage_error("--reconnect sends one message per connection: it cannot be used "
                              "with --pipeline " +
                              std::to_string(opts.pipeline));
        }
        if (opts.reconnect && opts.websocket.enabled) {
            throw usage_error("--reconnect needs a TCP or TLS --connect, not a WebSocket URL");
        }
        if (opts.reconnect && opts.rate > 0) {
            throw usage_error("--reconnect cannot be used with --rate (each connection follows "
                              "the last as soon as it is closed)");
        }
        break;
    }
    result.run = opts;
    return result;
}

} // namespace asio_echo::client
