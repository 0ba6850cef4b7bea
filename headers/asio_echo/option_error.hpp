// SPDX-License-Identifier: BSL-1.0
#pragma once
// The one-line message of a Boost.Program_options error, safe for any input.

#include <string>

#include <boost/program_options/errors.hpp>

namespace asio_echo {

/// e.what(), except that it cannot hang: Program_options fills its message template by
/// replacing each %placeholder% until none is left, so a user's word that itself holds the
/// placeholder (`--%canonical_option%`) makes what() loop forever (Boost 1.81), and a NUL in
/// a word would cut the C string what() returns. The words are swapped for markers while
/// Boost formats, then put back printable and cut (see quote()) in one pass.
std::string describe(const boost::program_options::error& e);

} // namespace asio_echo
