// SPDX-License-Identifier: BSL-1.0
#include "exposition.hpp"

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace asio_echo::test {

namespace {

bool name_char(char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
}

/// Length of the metric or label name at the start of text (0: none).
std::size_t name_length(const std::string& text, std::size_t from = 0) {
    std::size_t n = from;
    while (n < text.size() && name_char(text[n], n == from)) {
        ++n;
    }
    return n - from;
}

bool is_number(const std::string& text) {
    if (text == "NaN" || text == "+Inf" || text == "-Inf") {
        return true;
    }
    if (text.empty()) {
        return false;
    }
    char* end = nullptr;
    std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}

/// Checks a {label="value",...} block starting at text[at] == '{'; returns the index after
/// the '}', or nothing when malformed.
std::optional<std::size_t> labels_end(const std::string& text, std::size_t at) {
    ++at;
    if (at < text.size() && text[at] == '}') {
        return at + 1;
    }
    for (;;) {
        auto n = name_length(text, at);
        if (n == 0 || text.compare(at + n, 2, "=\"") != 0) {
            return std::nullopt;
        }
        at += n + 2;
        while (at < text.size() && text[at] != '"') {
            if (text[at] == '\\') {
                if (at + 1 >= text.size() ||
                    std::string("\\\"n").find(text[at + 1]) == std::string::npos) {
                    return std::nullopt;
                }
                ++at;
            }
            ++at;
        }
        if (at >= text.size()) {
            return std::nullopt;
        }
        ++at; // the closing quote
        if (at < text.size() && text[at] == '}') {
            return at + 1;
        }
        if (at >= text.size() || text[at] != ',') {
            return std::nullopt;
        }
        ++at;
    }
}

/// The family a sample belongs to: histogram samples carry _bucket, _sum or _count.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
            auto base = name.substr(0, name.size() - s.size());
            auto it = types.find(base);
            if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
                return base;
            }
        }
    }
    return name;
}

} // namespace

std::vector<std::string> exposition_problems(const std::string& text) {
    std::vector<std::string> problems;
    if (text.empty() || text.back() != '\n') {
        problems.push_back("the text does not end with a newline");
    }
    std::map<std::string, std::string> types;
    std::set<std::string> helped;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        auto where = "line " + std::to_string(number) + " '" + line + "': ";
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            auto n = name_length(line, 7);
            if (n == 0 || line.size() <= 7 + n || line[7 + n] != ' ') {
                problems.push_back(where + "no metric name and text");
                continue;
            }
            auto name = line.substr(7, n);
            auto rest = line.substr(8 + n);
            if (line[2] == 'H') {
                if (!helped.insert(name).second) {
                    problems.push_back(where + "second HELP for " + name);
                }
                continue;
            }
            static const std::set<std::string> known{"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
            if (!known.count(rest)) {
                problems.push_back(where + "unknown type");
            } else if (!types.emplace(name, rest).second) {
                problems.push_back(where + "second TYPE for " + name);
            }
            continue;
        }
        if (!line.empty() && line[0] == '#') {
            continue; // other comments are allowed
        }
        auto n = name_length(line);
        if (n == 0) {
            problems.push_back(where + "neither a comment nor a sample");
            continue;
        }
        auto name = line.substr(0, n);
        std::size_t at = n;
        if (at < line.size() && line[at] == '{') {
            auto end = labels_end(line, at);
            if (!end) {
                problems.push_back(where + "malformed labels");
                continue;
            }
            at = *end;
        }
        if (at >= line.size() || line[at] != ' ' || !is_number(line.substr(at + 1))) {
            problems.push_back(where + "no single number after the name");
            continue;
        }
        auto family = family_of(name, types);
        if (!types.count(family)) {
            problems.push_back(where + "sample before the TYPE line of " + family);
        } else if (!helped.count(family)) {
            problems.push_back(where + "sample before the HELP line of " + family);
        }
    }
    return problems;
}

std::map<std::string, double> exposition_samples(const std::string& text) {
    std::map<std::string, double> samples;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto space = line.rfind(' ');
        if (line.empty() || line[0] == '#' || space == std::string::npos) {
            continue;
        }
        samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return samples;
}

std::optional<double> sample_value(const std::string& text, const std::string& key) {
    auto samples = exposition_samples(text);
    auto it = samples.find(key);
    if (it == samples.end()) {
        return std::nullopt;
    }
    return it->second;
}

} // namespace asio_echo::test
