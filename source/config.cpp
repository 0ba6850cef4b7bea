// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/config.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>

#include "asio_echo/errors.hpp"
#include "asio_echo/option_error.hpp"
#include "asio_echo/printable.hpp"

#ifndef ASIO_ECHO_VERSION
#define ASIO_ECHO_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

namespace asio_echo {
namespace {

po::options_description make_options() {
    po::options_description general("General");
    general.add_options()("help,h", "print this help and exit")("version,V",
                                                                "print the version and exit")(
        "config,c", po::value<std::string>()->value_name("FILE"),
        "read options from an INI file (keys as the long options: listen = 127.0.0.1:9999);"
        " the command line overrides it");
    po::options_description service("Service");
    service.add_options()(
        "listen,l", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve TCP and UDP on HOST:PORT (IPv6 as [::1]:PORT; port 0 picks a free port);"
        " repeatable; default 127.0.0.1:9999")(
        "tcp", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve TCP only on HOST:PORT; repeatable")(
        "udp", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve UDP only on HOST:PORT; repeatable")(
        "mode,m", po::value<std::string>()->value_name("MODE")->default_value("echo"),
        "echo (RFC 862: bytes back unchanged) or upper (ASCII a-z upper-cased)")(
        "threads,t", po::value<std::string>()->value_name("N"),
        "io threads (default: the number of hardware threads)")(
        "buffer-size", po::value<std::string>()->value_name("BYTES")->default_value("65536"),
        "TCP read buffer per io thread, 512 to 16777216 bytes")(
        "io-model", po::value<std::string>()->value_name("MODEL")->default_value("per-thread"),
        "per-thread (one io_context per thread, default), shared (one io_context, N threads)"
        " or reuse-port (a SO_REUSEPORT listener per thread)")(
        "log-level", po::value<std::string>()->value_name("LEVEL")->default_value("info"),
        "error, warn, notice, info or debug (listening lines are notices)")(
        "metrics", po::value<std::string>()->value_name("HOST:PORT"),
        "serve Prometheus metrics at http://HOST:PORT/metrics (default: off; keep it on"
        " loopback or a private network)")(
        "reuse-port", po::bool_switch(),
        "set SO_REUSEPORT on every listener (TCP, UDP, metrics) so that several echo-server"
        " processes can share one port");
    po::options_description limits("Limits");
    limits.add_options()(
        "max-connections", po::value<std::string>()->value_name("N")->default_value("10000"),
        "TCP connections served at once; further ones wait in the listen backlog until a slot"
        " frees")("idle-timeout",
                  po::value<std::string>()->value_name("SECONDS")->default_value("300"),
                  "close a TCP connection that moved no byte for this long (sent nothing, and took"
                  " none of the echo it is owed); 0 = never")(
        "write-timeout", po::value<std::string>()->value_name("SECONDS")->default_value("60"),
        "close a TCP connection whose peer has not taken one buffer of its echo within this"
        " long (it reads too slowly, for ever); 0 = never")(
        "drain-timeout", po::value<std::string>()->value_name("SECONDS")->default_value("5"),
        "on SIGTERM/SIGINT, time given to open connections to finish; a second signal ends"
        " the drain at once")(
        "udp-drop-ports",
        po::value<std::string>()->value_name("LIST")->default_value(
            "0,7,13,17,19,37,53,123,137,138,161,162,389,1900,5353,11211"),
        "drop UDP datagrams from these source ports too, besides the defaults (services that"
        " answer by themselves); 'none' alone drops none, 'none,P,...' only P,...")(
        "udp-rate", po::value<std::string>()->value_name("N")->default_value("0"),
        "UDP datagrams per second answered per source address; 0 = unlimited")(
        "udp-burst", po::value<std::string>()->value_name("N")->default_value("0"),
        "UDP datagrams a source may send at once before --udp-rate applies; 0 = same as"
        " --udp-rate")("stats-interval",
                       po::value<std::string>()->value_name("SECONDS")->default_value("0"),
                       "log the counters every SECONDS; 0 = never");
    po::options_description access("Access");
    access.add_options()(
        "allow", po::value<std::vector<std::string>>()->value_name("CIDR"),
        "serve only sources in this network (10.0.0.0/8, 2001:db8::/32; an address alone is one"
        " host); repeatable; default: every source")(
        "deny", po::value<std::vector<std::string>>()->value_name("CIDR"),
        "refuse sources in this network, allowed or not; repeatable")(
        "max-connections-per-source", po::value<std::string>()->value_name("N")->default_value("0"),
        "TCP connections one client address may hold at once; one more is closed at once;"
        " 0 = no limit");
    po::options_description proxy("PROXY protocol");
    proxy.add_options()(
        "accept-proxy", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve TCP on HOST:PORT behind a load balancer: every connection starts with a PROXY"
        " protocol header (v1 or v2), and the client it names is the one served, limited and"
        " logged; repeatable")(
        "trusted-proxy", po::value<std::vector<std::string>>()->value_name("CIDR"),
        "accept PROXY headers only from this network, closing other connections at once;"
        " repeatable; default: from anyone, who could then claim any address")(
        "proxy-header-timeout", po::value<std::string>()->value_name("SECONDS")->default_value("5"),
        "close a connection whose PROXY header is not complete by then");
    po::options_description tls("TLS");
    tls.add_options()("tls", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
                      "serve echo over TLS on HOST:PORT (needs --tls-cert and --tls-key);"
                      " repeatable")(
        "tls-cert", po::value<std::string>()->value_name("FILE"),
        "the server's certificate chain, PEM, its own certificate first")(
        "tls-key", po::value<std::string>()->value_name("FILE"),
        "the certificate's private key, PEM")(
        "tls-client-ca", po::value<std::string>()->value_name("FILE"),
        "require a client certificate issued by one of these CAs (PEM): mutual TLS")(
        "tls-min-version", po::value<std::string>()->value_name("VERSION")->default_value("1.2"),
        "the oldest TLS version accepted: 1.2 or 1.3")(
        "tls-handshake-timeout",
        po::value<std::string>()->value_name("SECONDS")->default_value("10"),
        "close a TLS connection whose handshake is not done by then");
    po::options_description websocket("WebSocket");
    websocket.add_options()(
        "websocket", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve WebSocket echo (ws://) on HOST:PORT, and the page to try it at /; repeatable")(
        "websocket-tls", po::value<std::vector<std::string>>()->value_name("HOST:PORT"),
        "serve WebSocket echo over TLS (wss://) on HOST:PORT (needs --tls-cert and --tls-key);"
        " repeatable")("websocket-max-message",
                       po::value<std::string>()->value_name("BYTES")->default_value("1048576"),
                       "the largest message echoed; a larger one is refused with close code 1009")(
        "websocket-deflate", po::bool_switch(),
        "compress messages (permessage-deflate) for clients that offer it; costs CPU and about"
        " 300 KiB per connection")(
        "websocket-handshake-timeout",
        po::value<std::string>()->value_name("SECONDS")->default_value("10"),
        "close a WebSocket connection whose upgrade request is not complete by then");
    po::options_description all;
    all.add(general).add(service).add(limits).add(access).add(proxy).add(tls).add(websocket);
    return all;
}

/// One number syntax for every option: plain decimal digits, no sign, space, hex or exponent.
bool all_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

[[noreturn]] void bad_value(const std::string& option, const std::string& text,
                            const std::string& why) {
    throw usage_error("invalid value " + quote(text) + " for --" + option + ": " + why);
}

/// Parses a whole decimal number within [low, high]; the option name goes in the message.
unsigned long parse_number(const std::string& option, const std::string& text, unsigned long low,
                           unsigned long high) {
    unsigned long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!all_digits(text) || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
        bad_value(option, text, "not a number");
    }
    if (ec == std::errc::result_out_of_range || value < low || value > high) {
        bad_value(option, text, "must be " + std::to_string(low) + " to " + std::to_string(high));
    }
    return value;
}

/// Parses seconds, digits with an optional ".digits" ("1.5"), within [0, high] into
/// milliseconds. A value that is not 0 but rounds to 0 ms is refused: 0 means "never".
std::chrono::milliseconds parse_seconds(const std::string& option, const std::string& text,
                                        double high) {
    auto dot = text.find('.');
    bool plain = dot == std::string::npos ? all_digits(text)
                                          : all_digits(std::string_view(text).substr(0, dot)) &&
                                                all_digits(std::string_view(text).substr(dot + 1));
    if (!plain) {
        bad_value(option, text, "not a number");
    }
    // Plain decimal only from here, so strtod cannot see hex, exponents, inf or nan.
    double value = std::strtod(text.c_str(), nullptr);
    if (value > high) {
        bad_value(option, text,
                  "must be 0 to " + std::to_string(static_cast<long>(high)) + " seconds");
    }
    auto ms = std::chrono::milliseconds(static_cast<long long>(value * 1000.0 + 0.5));
    if (value > 0 && ms.count() == 0) {
        bad_value(option, text, "below the resolution of 0.001 seconds (0 means never)");
    }
    return ms;
}

/// The file's text, without a leading UTF-8 byte order mark (some editors write one).
std::string read_config_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw usage_error("cannot read config file " + quote(path) + ": " + std::strerror(EISDIR));
    }
    std::ifstream in(path);
    if (!in) {
        throw usage_error("cannot read config file " + quote(path) + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw usage_error("cannot read config file " + quote(path) + ": " + std::strerror(errno));
    }
    auto content = text.str();
    constexpr std::string_view bom = "\xEF\xBB\xBF";
    if (std::string_view(content).substr(0, bom.size()) == bom) {
        content.erase(0, bom.size());
    }
    return content;
}

/// The options that name endpoints: given on the command line, they replace the file's.
constexpr std::string_view endpoint_keys[] = {"listen", "tcp",       "udp",          "accept-proxy",
                                              "tls",    "websocket", "websocket-tls"};

bool is_endpoint_key(std::string_view key) {
    return std::find(std::begin(endpoint_keys), std::end(endpoint_keys), key) !=
           std::end(endpoint_keys);
}

std::vector<endpoint> endpoints_of(const po::variables_map& vm, const char* key) {
    std::vector<endpoint> result;
    if (vm.count(key)) {
        for (const auto& text : vm[key].as<std::vector<std::string>>()) {
            result.push_back(parse_endpoint(text, key));
        }
    }
    return result;
}

/// The networks of a repeatable CIDR option (--allow, --deny).
std::vector<network> networks_of(const po::variables_map& vm, const char* key) {
    std::vector<network> result;
    if (vm.count(key)) {
        for (const auto& text : vm[key].as<std::vector<std::string>>()) {
            std::string why;
            auto net = parse_network(text, why);
            if (!net) {
                bad_value(key, text, why);
            }
            result.push_back(*net);
        }
    }
    return result;
}

/// --tls-*: files named, checked when loaded (tls_credentials); versions and pairs here.
void read_tls_options(const po::variables_map& vm, server_config& config) {
    auto file = [&vm](const char* key) -> std::optional<std::string> {
        if (!vm.count(key)) {
            return std::nullopt;
        }
        auto path = vm[key].as<std::string>();
        if (path.empty()) {
            bad_value(key, path, "an empty file name");
        }
        return path;
    };
    config.tls_cert = file("tls-cert");
    config.tls_key = file("tls-key");
    config.tls_client_ca = file("tls-client-ca");
    auto version = vm["tls-min-version"].as<std::string>();
    if (version == "1.2") {
        config.tls_min_version = tls_version::v1_2;
    } else if (version == "1.3") {
        config.tls_min_version = tls_version::v1_3;
    } else {
        bad_value("tls-min-version", version, "expected 1.2 or 1.3");
    }
    config.tls_handshake_timeout =
        parse_seconds("tls-handshake-timeout", vm["tls-handshake-timeout"].as<std::string>(), 3600);
    if (config.tls_handshake_timeout.count() == 0) {
        bad_value("tls-handshake-timeout", vm["tls-handshake-timeout"].as<std::string>(),
                  "must be above 0 seconds (a handshake that never ends would hold a slot)");
    }
    if (config.tls_cert.has_value() != config.tls_key.has_value()) {
        throw usage_error(config.tls_cert ? "--tls-cert needs --tls-key (the certificate's key)"
                                          : "--tls-key needs --tls-cert (its certificate)");
    }
    if (!config.tls.empty() && !config.tls_cert) {
        throw usage_error("--tls needs --tls-cert and --tls-key");
    }
    if (config.tls_client_ca && !config.tls_cert) {
        throw usage_error("--tls-client-ca needs --tls-cert and --tls-key");
    }
}

/// --websocket-*: the endpoints are read with the others.
void read_websocket_options(const po::variables_map& vm, server_config& config) {
    auto text = [&vm](const char* key) { return vm[key].as<std::string>(); };
    config.websocket_max_message =
        parse_number("websocket-max-message", text("websocket-max-message"), 1, 64 * 1024 * 1024);
    config.websocket_deflate = vm["websocket-deflate"].as<bool>();
    config.websocket_handshake_timeout =
        parse_seconds("websocket-handshake-timeout", text("websocket-handshake-timeout"), 3600);
    if (config.websocket_handshake_timeout.count() == 0) {
        bad_value("websocket-handshake-timeout", text("websocket-handshake-timeout"),
                  "must be above 0 seconds (an upgrade that never comes would hold a slot)");
    }
    if (!config.websocket_tls.empty() && !config.tls_cert) {
        throw usage_error("--websocket-tls needs --tls-cert and --tls-key");
    }
}

} // namespace

io_model parse_io_model(const std::string& text) {
    if (text == "per-thread") {
        return io_model::per_thread;
    }
    if (text == "shared") {
        return io_model::shared;
    }
    if (text == "reuse-port") {
        return io_model::reuse_port;
    }
    throw usage_error("unknown io model " + quote(text) +
                      " (expected per-thread, shared or reuse-port)");
}

std::string_view to_string(io_model model) noexcept {
    switch (model) {
    case io_model::shared:
        return "shared";
    case io_model::reuse_port:
        return "reuse-port";
    case io_model::per_thread:
        break;
    }
    return "per-thread";
}

std::ostream& operator<<(std::ostream& out, io_model model) {
    return out << to_string(model);
}

const char* version() noexcept {
    return ASIO_ECHO_VERSION;
}

parse_result parse_server_config(int argc, const char* const argv[]) {
    auto options = make_options();
    po::variables_map cli;
    po::variables_map vm;
    try {
        // Command line first: Program_options keeps the first value stored, so it wins.
        // Positional words are collected only to be reported by name.
        po::options_description with_stray;
        with_stray.add(options).add_options()("stray", po::value<std::vector<std::string>>());
        po::positional_options_description stray;
        stray.add("stray", -1);
        auto parsed =
            po::command_line_parser(argc, argv).options(with_stray).positional(stray).run();
        po::store(parsed, cli);
        po::store(parsed, vm);
        if (vm.count("stray")) {
            throw usage_error("unexpected argument " +
                              quote(vm["stray"].as<std::vector<std::string>>().front()));
        }
        if (vm.count("help")) {
            std::ostringstream text;
            text << "Usage: echo-server [OPTIONS]\n"
                    "TCP and UDP echo service (RFC 862) on Boost.Asio C++20 coroutines.\n\n"
                 << options
                 << "\nExit codes: 0 success (also after SIGINT/SIGTERM), 64 bad usage,\n"
                    "69 cannot bind or listen, 71 operating-system failure at start-up.\n";
            return {std::nullopt, text.str()};
        }
        if (vm.count("version")) {
            return {std::nullopt, std::string("echo-server ") + version() + "\n"};
        }
        std::optional<std::string> file;
        if (vm.count("config")) {
            file = vm["config"].as<std::string>();
            std::istringstream in(read_config_file(*file));
            po::variables_map from_file;
            try {
                po::store(po::parse_config_file(in, options), from_file);
            } catch (const po::error& e) {
                throw usage_error("config file " + quote(*file) + ": " + describe(e));
            }
            bool cli_has_endpoints =
                std::any_of(std::begin(endpoint_keys), std::end(endpoint_keys),
                            [&cli](auto key) { return cli.count(std::string(key)) > 0; });
            for (const auto& [key, value] : from_file) {
                bool endpoint_key = is_endpoint_key(key);
                if (key == "config" || key == "help" || key == "version") {
                    throw usage_error("config file " + quote(*file) + ": option " + quote(key) +
                                      " is only valid on the command line");
                }
                if (endpoint_key && cli_has_endpoints) {
                    continue;
                }
                // A value the command line set explicitly wins; a default does not.
                auto it = vm.find(key);
                if (it == vm.end() || it->second.defaulted()) {
                    vm.erase(key);
                    vm.emplace(key, value);
                }
            }
        }
        po::notify(vm);

        server_config config;
        config.config_file = file;
        config.arguments.assign(argv + std::min(argc, 1), argv + argc);
        config.listen = endpoints_of(vm, "listen");
        config.tcp = endpoints_of(vm, "tcp");
        config.udp = endpoints_of(vm, "udp");
        config.accept_proxy = endpoints_of(vm, "accept-proxy");
        config.tls = endpoints_of(vm, "tls");
        config.websocket = endpoints_of(vm, "websocket");
        config.websocket_tls = endpoints_of(vm, "websocket-tls");
        if (config.listen.empty() && config.tcp.empty() && config.udp.empty() &&
            config.accept_proxy.empty() && config.tls.empty() && config.websocket.empty() &&
            config.websocket_tls.empty()) {
            config.listen.push_back({"127.0.0.1", 9999});
        }
        config.echo_mode = parse_mode(vm["mode"].as<std::string>());
        if (vm.count("threads")) {
            config.threads = static_cast<unsigned>(
                parse_number("threads", vm["threads"].as<std::string>(), 1, 1024));
        } else {
            config.threads = std::max(1u, std::thread::hardware_concurrency());
        }
        config.buffer_size =
            parse_number("buffer-size", vm["buffer-size"].as<std::string>(), 512, 16 * 1024 * 1024);
        config.model = parse_io_model(vm["io-model"].as<std::string>());
        config.level = parse_log_level(vm["log-level"].as<std::string>());
        auto text = [&vm](const char* key) { return vm[key].as<std::string>(); };
        config.max_connections =
            parse_number("max-connections", text("max-connections"), 1, 1000000);
        config.idle_timeout = parse_seconds("idle-timeout", text("idle-timeout"), 86400 * 365);
        config.write_timeout = parse_seconds("write-timeout", text("write-timeout"), 86400 * 365);
        config.drain_timeout = parse_seconds("drain-timeout", text("drain-timeout"), 3600);
        config.udp_drop_ports = parse_port_list(text("udp-drop-ports"));
        config.udp_rate =
            static_cast<double>(parse_number("udp-rate", text("udp-rate"), 0, 100000000));
        config.udp_burst =
            static_cast<double>(parse_number("udp-burst", text("udp-burst"), 0, 100000000));
        config.stats_interval =
            parse_seconds("stats-interval", text("stats-interval"), 86400 * 365);
        if (vm.count("metrics")) {
            config.metrics = parse_endpoint(text("metrics"));
        }
        config.reuse_port = vm["reuse-port"].as<bool>();
        config.allow = networks_of(vm, "allow");
        config.deny = networks_of(vm, "deny");
        config.max_connections_per_source = parse_number(
            "max-connections-per-source", text("max-connections-per-source"), 0, 1000000);
        config.trusted_proxies = networks_of(vm, "trusted-proxy");
        config.proxy_header_timeout =
            parse_seconds("proxy-header-timeout", text("proxy-header-timeout"), 3600);
        if (config.proxy_header_timeout.count() == 0) {
            bad_value("proxy-header-timeout", text("proxy-header-timeout"),
                      "must be above 0 seconds (a header that never comes would hold a slot)");
        }
        read_tls_options(vm, config);
        read_websocket_options(vm, config);
        return {config, {}};
    } catch (const po::error& e) {
        throw usage_error(describe(e));
    }
}

} // namespace asio_echo
