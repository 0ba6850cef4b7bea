// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/cidr.hpp"

#include <charconv>

#include "asio_echo/printable.hpp"

namespace asio_echo {
namespace {

using boost::asio::ip::address;

/// A network's problem, carried out of the parser.
struct bad_network {
    std::string why;
};

[[noreturn]] void fail(std::string_view, const std::string& why) {
    throw bad_network{why};
}

/// The address as bytes (4 or 16) for bitwise comparison.
template <typename Address>
auto bytes_of(const Address& a) {
    return a.to_bytes();
}

/// Whether the first prefix bits of a and b agree.
template <typename Bytes>
bool same_prefix(const Bytes& a, const Bytes& b, unsigned prefix) {
    std::size_t whole = prefix / 8;
    for (std::size_t i = 0; i < whole; ++i) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    unsigned rest = prefix % 8;
    if (rest == 0) {
        return true;
    }
    auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/// Whether any bit after the first prefix bits is set.
template <typename Bytes>
bool host_bits_set(const Bytes& a, unsigned prefix) {
    for (std::size_t bit = prefix; bit < a.size() * 8; ++bit) {
        if (a[bit / 8] & (0x80 >> (bit % 8))) {
            return true;
        }
    }
    return false;
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; any other as it is.
address unmapped(const address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

/// The parser; throws bad_network.
network parse_network_or_throw(std::string_view text) {
    auto slash = text.find('/');
    auto host = text.substr(0, slash);
    boost::system::error_code ec;
    auto base = boost::asio::ip::make_address(std::string(host), ec);
    if (ec || host.empty()) {
        fail(text, "not an IPv4 or IPv6 address" +
                       std::string(slash == std::string_view::npos ? "" : " before '/'"));
    }
    if (base.is_v6() && base.to_v6().scope_id() != 0) {
        fail(text, "a network has no interface (scope) suffix");
    }
    unsigned width = base.is_v4() ? 32 : 128;
    unsigned prefix = width;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() ||
            (digits.size() > 1 && digits.front() == '0')) {
            fail(text, "prefix length " + quote(digits) + " is not a number");
        }
        if (prefix > width) {
            fail(text, "prefix length " + std::to_string(prefix) + " is out of range 0-" +
                           std::to_string(width));
        }
    }
    bool set = base.is_v4() ? host_bits_set(bytes_of(base.to_v4()), prefix)
                            : host_bits_set(bytes_of(base.to_v6()), prefix);
    if (set) {
        fail(text, "host bits set beyond /" + std::to_string(prefix));
    }
    // ::ffff:a.b.c.d/96+n is a.b.c.d/n: sources are judged as IPv4 too.
    if (base.is_v6() && base.to_v6().is_v4_mapped() && prefix >= 96) {
        return {unmapped(base), prefix - 96};
    }
    return {base, prefix};
}

} // namespace

std::optional<network> parse_network(std::string_view text, std::string& why) {
    try {
        return parse_network_or_throw(text);
    } catch (const bad_network& e) {
        why = e.why;
        return std::nullopt;
    }
}

network parse_network(std::string_view text) {
    std::string why;
    auto net = parse_network(text, why);
    if (!net) {
        throw usage_error("invalid network " + quote(text) + ": " + why);
    }
    return *net;
}

std::string format_network(const network& net) {
    return net.base.to_string() + "/" + std::to_string(net.prefix);
}

bool contains(const network& net, const address& address_) {
    auto a = unmapped(address_);
    if (a.is_v4() != net.base.is_v4()) {
        return false;
    }
    return a.is_v4() ? same_prefix(bytes_of(a.to_v4()), bytes_of(net.base.to_v4()), net.prefix)
                     : same_prefix(bytes_of(a.to_v6()), bytes_of(net.base.to_v6()), net.prefix);
}

access_list::access_list(std::vector<network> allow, std::vector<network> deny)
    : allow_(std::move(allow)), deny_(std::move(deny)) {}

bool access_list::permits(const address& source) const {
    for (const auto& net : deny_) {
        if (contains(net, source)) {
            return false;
        }
    }
    if (allow_.empty()) {
        return true;
    }
    for (const auto& net : allow_) {
        if (contains(net, source)) {
            return true;
        }
    }
    return false;
}

} // namespace asio_echo
