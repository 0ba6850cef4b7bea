// SPDX-License-Identifier: BSL-1.0
#pragma once
// Reads Prometheus text exposition (format 0.0.4) in tests: a strict syntax check and the
// samples by name, so tests assert exact values rather than grep for substrings.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace asio_echo::test {

/// Every way text breaks the format, one message per problem (empty when valid): each line a
/// "# HELP name text" or "# TYPE name type" comment or a "name{label="value",...} number"
/// sample; each sample after its family's TYPE line; each family typed once; the text ends
/// with a newline.
std::vector<std::string> exposition_problems(const std::string& text);

/// The samples, keyed as written before the value: "name" or "name{label="value"}".
std::map<std::string, double> exposition_samples(const std::string& text);

/// One sample's value, or nothing when the text has no such sample.
std::optional<double> sample_value(const std::string& text, const std::string& key);

} // namespace asio_echo::test
