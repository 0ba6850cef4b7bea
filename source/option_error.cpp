// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/option_error.hpp"

#include <map>
#include <utility>
#include <vector>

#include "asio_echo/printable.hpp"

namespace po = boost::program_options;

namespace asio_echo {
namespace {

/// Reads the substituted words, which Program_options keeps protected: a pointer to a
/// protected member may be formed in a derived class and used on any base object.
struct substitutions_of : po::error_with_option_name {
    static const std::map<std::string, std::string>& of(const po::error_with_option_name& e) {
        return e.*(&substitutions_of::m_substitutions);
    }
};

void replace_once_each(std::string& text, const std::string& marker, const std::string& word) {
    // Scans forward past each replacement, so a word holding the marker cannot loop.
    for (auto at = text.find(marker); at != std::string::npos;
         at = text.find(marker, at + word.size())) {
        text.replace(at, marker.size(), word);
    }
}

} // namespace

std::string describe(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    if (named == nullptr) {
        return printable_line(e.what());
    }
    // Words that need it are swapped for markers while Boost formats: what() returns a C
    // string, so a NUL in a word would cut it there, and a word holding a placeholder loops.
    std::vector<std::pair<std::string, std::string>> swapped; // marker, word as printed
    auto safe = *named;
    for (const auto& [key, word] : substitutions_of::of(*named)) {
        if (word == printable(word) && word.find('%') == std::string::npos && word.size() <= 200) {
            continue; // some words steer the formatting (the prefix): leave the plain ones
        }
        auto marker = "\x1f" + std::to_string(swapped.size()) + "\x1f";
        safe.set_substitute(key, marker);
        auto shown = quote(word);
        swapped.emplace_back(marker, shown.substr(1, shown.size() - 2));
    }
    std::string message = safe.what();
    for (const auto& [marker, word] : swapped) {
        replace_once_each(message, marker, word);
    }
    return printable_line(message);
}

} // namespace asio_echo
