#include "asio_echo/limits.hpp"

#include <algorithm>
#include <charconv>

#include "asio_echo/errors.hpp"
#include "asio_echo/printable.hpp"

namespace asio_echo {

const std::vector<std::uint16_t>& udp_port_guard::default_ports() {
    static const std::vector<std::uint16_t> ports = {
        0,     // no sender can be answered on port 0
        7,     // echo
        13,    // daytime
        17,    // qotd
        19,    // chargen
        37,    // time
        53,    // DNS
        123,   // NTP
        137,   // NetBIOS name
        138,   // NetBIOS datagram
        161,   // SNMP
        162,   // SNMP trap
        389,   // CLDAP
        1900,  // SSDP
        5353,  // mDNS
        11211, // memcached
    };
    return ports;
}

udp_port_guard::udp_port_guard(const std::vector<std::uint16_t>& ports) {
    for (auto port : ports) {
        dropped_.set(port);
    }
}

std::vector<std::uint16_t> parse_port_list(std::string_view text) {
    auto bad = [text](std::string_view item, const char* why) {
        throw usage_error("invalid port " + quote(item) + " in --udp-drop-ports " + quote(text) +
                          why);
    };
    // A list adds to the defaults (naming one more port must not open the well-known ones);
    // "none" first starts from an empty list instead.
    std::vector<std::uint16_t> ports = udp_port_guard::default_ports();
    bool first = true;
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find_first_of(", ", at);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        auto item = text.substr(at, end - at);
        at = end + 1;
        if (item.empty()) {
            continue;
        }
        if (item == "none") {
            if (!first) {
                bad(item, " ('none' must come first)");
            }
            ports.clear();
            first = false;
            continue;
        }
        first = false;
        unsigned value = 0;
        auto [stop, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (ec != std::errc{} || stop != item.data() + item.size() || value > 65535) {
            bad(item, "");
        }
        ports.push_back(static_cast<std::uint16_t>(value));
    }
    if (first) {
        throw usage_error("invalid value " + quote(text) +
                          " for --udp-drop-ports: empty (write 'none' to drop none)");
    }
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    return ports;
}

udp_rate_limiter::udp_rate_limiter(double rate, double burst, std::size_t table_size)
    : rate_(rate), burst_(std::max(1.0, burst)), table_(std::max<std::size_t>(1, table_size)) {}

bool udp_rate_limiter::allow(const boost::asio::ip::address& source, clock::time_point now) {
    std::array<unsigned char, 16> key{};
    if (source.is_v4()) {
        auto bytes =
            boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, source.to_v4()).to_bytes();
        std::copy(bytes.begin(), bytes.end(), key.begin());
    } else {
        auto bytes = source.to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), key.begin());
    }
    // FNV-1a over the address: cheap, and spreads neighbouring addresses.
    std::uint64_t hash = 1469598103934665603ull;
    for (auto byte : key) {
        hash = (hash ^ byte) * 1099511628211ull;
    }
    auto& slot = table_[hash % table_.size()];
    if (!slot.used || slot.key != key) {
        slot = bucket{key, true, burst_, now};
    } else {
        auto elapsed = std::chrono::duration<double>(now - slot.last).count();
        slot.tokens = std::min(burst_, slot.tokens + elapsed * rate_);
        slot.last = now;
    }
    if (slot.tokens < 1.0) {
        return false;
    }
    slot.tokens -= 1.0;
    return true;
}

} // namespace asio_echo
