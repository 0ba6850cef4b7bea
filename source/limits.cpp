// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/limits.hpp"

#include <algorithm>
#include <charconv>
#include <random>

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

namespace {

constexpr std::size_t ways_per_set = 8;

std::uint64_t rotl(std::uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

std::uint64_t little_endian_word(const unsigned char* bytes) {
    std::uint64_t word = 0;
    for (int i = 7; i >= 0; --i) {
        word = (word << 8) | bytes[i];
    }
    return word;
}

} // namespace

udp_rate_limiter::udp_rate_limiter(double rate, double burst, std::size_t table_size)
    : rate_(rate), burst_(std::max(1.0, burst)),
      ways_(std::clamp<std::size_t>(table_size, 1, ways_per_set)),
      sets_(std::max<std::size_t>(1, table_size / ways_)), table_(sets_ * ways_) {
    // A fresh key per limiter: which sources share a set is nobody's guess.
    std::random_device random;
    for (auto& word : seed_) {
        word = (std::uint64_t{random()} << 32) ^ random();
    }
}

std::uint64_t udp_rate_limiter::hash(const key_type& key) const noexcept {
    // SipHash-1-3 of the 16 address bytes under seed_: keyed, so collisions cannot be chosen.
    std::uint64_t v0 = seed_[0] ^ 0x736f6d6570736575ull, v1 = seed_[1] ^ 0x646f72616e646f6dull,
                  v2 = seed_[0] ^ 0x6c7967656e657261ull, v3 = seed_[1] ^ 0x7465646279746573ull;
    auto round = [&] {
        v0 += v1;
        v1 = rotl(v1, 13) ^ v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16) ^ v2;
        v0 += v3;
        v3 = rotl(v3, 21) ^ v0;
        v2 += v1;
        v1 = rotl(v1, 17) ^ v2;
        v2 = rotl(v2, 32);
    };
    auto absorb = [&](std::uint64_t m) {
        v3 ^= m;
        round();
        v0 ^= m;
    };
    absorb(little_endian_word(key.data()));
    absorb(little_endian_word(key.data() + 8));
    absorb(std::uint64_t{16} << 56); // the length block
    v2 ^= 0xff;
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
}

double udp_rate_limiter::refilled(const bucket& b, clock::time_point now) const {
    auto elapsed = std::max(0.0, std::chrono::duration<double>(now - b.last).count());
    return std::min(burst_, b.tokens + elapsed * rate_);
}

bool udp_rate_limiter::allow(const boost::asio::ip::address& source, clock::time_point now) {
    key_type key{};
    if (source.is_v4()) {
        auto bytes =
            boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, source.to_v4()).to_bytes();
        std::copy(bytes.begin(), bytes.end(), key.begin());
    } else {
        auto bytes = source.to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), key.begin());
    }
    auto* set = &table_[(hash(key) % sets_) * ways_];
    bucket* found = nullptr;
    bucket* unused = nullptr;
    bucket* full = nullptr; // the least recently used of the full ones
    for (std::size_t way = 0; way < ways_ && !found; ++way) {
        auto& b = set[way];
        if (!b.used) {
            unused = unused ? unused : &b;
        } else if (b.key == key) {
            found = &b;
        } else if (refilled(b, now) >= burst_ && (!full || b.last < full->last)) {
            full = &b;
        }
    }
    if (!found) {
        found = unused ? unused : full;
        if (!found) {
            // Every bucket here holds a debt: forgetting one would forgive it. The newcomer
            // waits until one refills (at most burst / rate seconds after its last datagram).
            return false;
        }
        *found = bucket{key, true, burst_, now};
    }
    found->tokens = refilled(*found, now);
    found->last = now;
    if (found->tokens < 1.0) {
        return false;
    }
    found->tokens -= 1.0;
    return true;
}

source_counts::key_type source_counts::key_of(const boost::asio::ip::address& source) {
    if (source.is_v4()) {
        return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, source.to_v4())
            .to_bytes();
    }
    return source.to_v6().to_bytes();
}

std::size_t source_counts::key_hash::operator()(const key_type& key) const noexcept {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

bool source_counts::admit(const boost::asio::ip::address& source) {
    if (limit_ == 0) {
        return true;
    }
    std::lock_guard lock(mutex_);
    auto& open = counts_[key_of(source)];
    if (open >= limit_) {
        return false;
    }
    ++open;
    return true;
}

void source_counts::release(const boost::asio::ip::address& source) {
    if (limit_ == 0) {
        return;
    }
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key_of(source));
    if (it != counts_.end() && --it->second == 0) {
        counts_.erase(it); // memory follows the open connections, not every address seen
    }
}

std::size_t source_counts::count(const boost::asio::ip::address& source) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key_of(source));
    return it == counts_.end() ? 0 : it->second;
}

} // namespace asio_echo
