// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/endpoint.hpp"

#include <charconv>

#include <net/if.h>

#include "asio_echo/printable.hpp"

namespace asio_echo {
namespace {

/// subject: "invalid endpoint 'TEXT'", with " for --OPTION" when the caller named one.
[[noreturn]] void fail(const std::string& subject, std::string_view why) {
    throw usage_error(subject + ": " + std::string(why));
}

std::uint16_t parse_port(const std::string& subject, std::string_view port) {
    if (port.empty()) {
        fail(subject, "missing port after ':'");
    }
    unsigned long value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && value > 65535)) {
        fail(subject, "port " + printable(port.substr(0, 200)) + " is out of range 0-65535");
    }
    if (ec != std::errc{} || end != port.data() + port.size()) {
        fail(subject, "port " + quote(port) + " is not a number");
    }
    return static_cast<std::uint16_t>(value);
}

/// "fe80::1%eth0": the zone must name an interface that exists (or be its index); Asio would
/// take an unknown name for no zone at all.
void check_scope(const std::string& subject, std::string_view host) {
    auto percent = host.find('%');
    if (percent == std::string_view::npos) {
        return;
    }
    auto zone = host.substr(percent + 1);
    if (zone.empty()) {
        fail(subject, "missing interface after '%'");
    }
    bool index = zone.find_first_not_of("0123456789") == std::string_view::npos;
    if (!index && ::if_nametoindex(std::string(zone).c_str()) == 0) {
        fail(subject, "unknown interface " + quote(zone));
    }
}

} // namespace

endpoint parse_endpoint(std::string_view text, std::string_view option) {
    auto subject = "invalid endpoint " + quote(text);
    if (!option.empty()) {
        subject += " for --" + std::string(option);
    }
    if (text.empty()) {
        fail(subject, "empty, expected HOST:PORT");
    }
    if (text.front() == '[') {
        // "[v6]:port": the brackets keep the address's colons apart from the port's.
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            fail(subject, "missing ']' after IPv6 address");
        }
        auto host = text.substr(1, close - 1);
        check_scope(subject, host);
        boost::system::error_code ec;
        auto address = boost::asio::ip::make_address_v6(std::string(host), ec);
        if (ec) {
            fail(subject, quote(host) + " is not an IPv6 address");
        }
        auto rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':') {
            fail(subject, "expected ':PORT' after ']'");
        }
        auto port = parse_port(subject, rest.substr(1));
        if (address.is_v4_mapped()) {
            // Our IPv6 sockets are IPv6-only: such an address could never be bound.
            auto v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address);
            fail(subject, quote(host) + " is an IPv4-mapped address: write it as " +
                              v4.to_string() + ":" + std::to_string(port));
        }
        return {address.to_string(), port};
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        fail(subject, "missing ':PORT'");
    }
    auto host = text.substr(0, colon);
    if (host.empty()) {
        fail(subject, "missing host before ':'");
    }
    if (host.find(':') != std::string_view::npos) {
        fail(subject, "write IPv6 addresses in brackets, as [::1]:PORT");
    }
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok) {
            fail(subject, "host " + quote(host) + " has an invalid character");
        }
    }
    if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
        // All digits and dots: meant as IPv4, so it must be one (not a name to resolve).
        boost::system::error_code ec;
        boost::asio::ip::make_address_v4(std::string(host), ec);
        if (ec) {
            fail(subject, quote(host) + " is not an IPv4 address");
        }
    }
    return {std::string(host), parse_port(subject, text.substr(colon + 1))};
}

std::string format_endpoint(const boost::asio::ip::address& address, std::uint16_t port) {
    if (address.is_v6()) {
        return "[" + address.to_string() + "]:" + std::to_string(port);
    }
    return address.to_string() + ":" + std::to_string(port);
}

std::string format_endpoint(const endpoint& ep) {
    if (ep.host.find(':') != std::string::npos) {
        return "[" + ep.host + "]:" + std::to_string(ep.port);
    }
    return ep.host + ":" + std::to_string(ep.port);
}

} // namespace asio_echo
