// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/client/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace asio_echo::client {

std::size_t histogram::index_of(std::uint64_t value) noexcept {
    constexpr std::uint64_t largest = (std::uint64_t{2} << top_bit) - 1;
    value = std::min(value, largest);
    if (value < (std::uint64_t{2} << sub_bits)) {
        return static_cast<std::size_t>(value); // exact below 256
    }
    auto exponent = static_cast<unsigned>(std::bit_width(value) - 1);
    auto shift = exponent - sub_bits;
    return (static_cast<std::size_t>(shift) << sub_bits) + static_cast<std::size_t>(value >> shift);
}

std::uint64_t histogram::middle_of(std::size_t index) noexcept {
    if (index < (std::size_t{2} << sub_bits)) {
        return index;
    }
    auto shift = (index >> sub_bits) - 1;
    auto mantissa = static_cast<std::uint64_t>(index - (shift << sub_bits));
    return (mantissa << shift) + ((std::uint64_t{1} << shift) >> 1);
}

void histogram::record(std::uint64_t nanoseconds) noexcept {
    ++counts_[index_of(nanoseconds)];
    ++count_;
    min_ = std::min(min_, nanoseconds);
    max_ = std::max(max_, nanoseconds);
    auto value = static_cast<double>(nanoseconds);
    sum_ += value;
    sum_squares_ += value * value;
}

void histogram::merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets; ++i) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
    sum_squares_ += other.sum_squares_;
}

void histogram::reset() noexcept {
    *this = histogram{};
}

double histogram::mean() const noexcept {
    return count_ ? sum_ / static_cast<double>(count_) : 0.0;
}

double histogram::stddev() const noexcept {
    if (count_ == 0) {
        return 0.0;
    }
    auto n = static_cast<double>(count_);
    auto variance = sum_squares_ / n - (sum_ / n) * (sum_ / n);
    return variance > 0 ? std::sqrt(variance) : 0.0;
}

std::uint64_t histogram::percentile(double percent) const noexcept {
    if (count_ == 0) {
        return 0;
    }
    auto wanted =
        static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    wanted = std::clamp<std::uint64_t>(wanted, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
        seen += counts_[i];
        if (seen >= wanted) {
            return std::clamp(middle_of(i), min(), max_);
        }
    }
    return max_;
}

} // namespace asio_echo::client
