// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE transform
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

#include "asio_echo/errors.hpp"
#include "asio_echo/transform.hpp"

namespace bdata = boost::unit_test::data;
using namespace asio_echo;

BOOST_AUTO_TEST_CASE(upper_changes_exactly_the_26_lowercase_ascii_letters) {
    for (int value = 0; value < 256; ++value) {
        char byte = static_cast<char>(value);
        to_upper_ascii({&byte, 1});
        int expected = (value >= 'a' && value <= 'z') ? value - 32 : value;
        BOOST_TEST(static_cast<unsigned char>(byte) == expected, "byte value " << value);
    }
}

BOOST_AUTO_TEST_CASE(upper_turns_hello_into_HELLO_and_keeps_the_rest) {
    std::string text = "hello, World! 123 \xc3\xa9t\xc3\xa9\n";
    to_upper_ascii(text);
    BOOST_TEST(text == "HELLO, WORLD! 123 \xc3\xa9T\xc3\xa9\n");
}

BOOST_AUTO_TEST_CASE(echo_mode_has_no_transform_and_leaves_every_byte) {
    auto t = make_transform(mode::echo);
    BOOST_TEST(!t);
    std::string bytes(256, '\0');
    for (int i = 0; i < 256; ++i) {
        bytes[static_cast<std::size_t>(i)] = static_cast<char>(i);
    }
    auto copy = bytes;
    apply_transform(t, bytes);
    BOOST_TEST(bytes == copy);
}

BOOST_AUTO_TEST_CASE(upper_mode_transform_upper_cases) {
    auto t = make_transform(mode::upper);
    BOOST_REQUIRE(t);
    std::string text("abc\0xyz\0q", 9); // embedded NULs end nothing
    apply_transform(t, text);
    BOOST_TEST(text == std::string("ABC\0XYZ\0Q", 9));
}

BOOST_AUTO_TEST_CASE(empty_span_is_fine) {
    std::string empty;
    to_upper_ascii(empty);
    BOOST_TEST(empty.empty());
}

BOOST_DATA_TEST_CASE(mode_names_round_trip, bdata::make({"echo", "upper"}), name) {
    BOOST_TEST(to_string(parse_mode(name)) == name);
}

BOOST_DATA_TEST_CASE(unknown_modes_are_usage_errors_naming_the_value,
                     bdata::make({"", "ECHO", "Upper", "lower", "echo "}), name) {
    try {
        parse_mode(name);
        BOOST_FAIL("accepted '" << name << "'");
    } catch (const usage_error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "unknown mode '" + std::string(name) + "' (expected echo or upper)");
    }
}
