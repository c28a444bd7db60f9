// parse_json limits (bytes, depth), strict UTF-8, single value; to_line is one compact line.
#include "codecs/parse.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>

using namespace exai::codecs;
namespace json = boost::json;

namespace {

errc code_of(std::string_view text, parse_limits limits = {}) {
  auto r = parse_json(text, limits);
  return r ? errc::ok : r.error().code;
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parse)

BOOST_AUTO_TEST_CASE(valid_values) {
  auto r = parse_json(R"({"a":[1,-2,"x",null,true,1.5]})");
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->at("a").at(1).as_int64() == -2);
  auto big = parse_json("18446744073709551615");
  BOOST_TEST_REQUIRE(big.has_value());
  BOOST_TEST(big->is_uint64());
  BOOST_TEST(big->as_uint64() == 18446744073709551615ull);
  auto min = parse_json("-9223372036854775808");
  BOOST_TEST_REQUIRE(min.has_value());
  BOOST_TEST(min->is_int64());
  auto ws = parse_json(" \t\r\n{} \n");
  BOOST_TEST(ws.has_value());
}

BOOST_AUTO_TEST_CASE(malformed_is_parse_error) {
  BOOST_TEST((code_of("") == errc::parse_error));
  BOOST_TEST((code_of("   ") == errc::parse_error));
  BOOST_TEST((code_of("{") == errc::parse_error));
  BOOST_TEST((code_of("{\"a\":}") == errc::parse_error));
  BOOST_TEST((code_of("{'a':1}") == errc::parse_error));
  BOOST_TEST((code_of("{\"a\":1,}") == errc::parse_error));
  BOOST_TEST((code_of("[1,]") == errc::parse_error));
  BOOST_TEST((code_of("{} {}") == errc::parse_error));  // one message, one value
  BOOST_TEST((code_of("{}x") == errc::parse_error));
  BOOST_TEST((code_of("NaN") == errc::parse_error));
  BOOST_TEST((code_of("Infinity") == errc::parse_error));
  BOOST_TEST((code_of("// c\n{}") == errc::parse_error));  // no comments
  BOOST_TEST((code_of("\"tab\there\"") == errc::parse_error));  // raw control character
  BOOST_TEST((code_of(std::string_view("{\"a\":1}\0", 8)) == errc::parse_error));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_parse_error) {
  BOOST_TEST((code_of("\"\xC3\x28\"") == errc::parse_error));          // bad continuation
  BOOST_TEST((code_of("\"\xFF\"") == errc::parse_error));              // never valid
  BOOST_TEST((code_of("\"\xC0\xAF\"") == errc::parse_error));          // overlong "/"
  BOOST_TEST((code_of("\"\xED\xA0\x80\"") == errc::parse_error));      // UTF-16 surrogate
  BOOST_TEST((code_of("\"\xE2\x82\"") == errc::parse_error));          // truncated sequence
  BOOST_TEST((code_of("\"\xF4\x90\x80\x80\"") == errc::parse_error));  // above U+10FFFF
  BOOST_TEST((code_of("{\"k\xC3\x28\":1}") == errc::parse_error));     // in a key too
  BOOST_TEST((code_of("{\"op\":\"hello\",\"token\":\"\x80\"}") == errc::parse_error));
  // Valid multi-byte text is kept byte for byte.
  auto ok = parse_json("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(std::string(ok->as_string()) == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_CASE(byte_limit_is_inclusive) {
  const std::string text = R"({"a":"0123456789"})";  // 18 bytes
  BOOST_TEST(text.size() == 18u);
  BOOST_TEST((code_of(text, {18, 64}) == errc::ok));
  BOOST_TEST((code_of(text, {17, 64}) == errc::message_too_large));
  // Checked before parsing: oversize garbage is too large, not a parse error.
  BOOST_TEST((code_of(std::string(100, '{'), {99, 64}) == errc::message_too_large));
  auto r = parse_json(text, {17, 64});
  BOOST_TEST(r.error().message.find("17") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(depth_limit_is_inclusive) {
  for (std::size_t limit : {1u, 2u, 8u, 64u}) {
    BOOST_TEST_CONTEXT("limit " << limit) {
      BOOST_TEST((code_of(nested_arrays(limit), {1 << 20, limit}) == errc::ok));
      BOOST_TEST((code_of(nested_arrays(limit + 1), {1 << 20, limit}) == errc::too_deep));
      BOOST_TEST((code_of(nested_objects(limit), {1 << 20, limit}) == errc::ok));
      BOOST_TEST((code_of(nested_objects(limit + 1), {1 << 20, limit}) == errc::too_deep));
    }
  }
  // The default is 64 levels.
  BOOST_TEST((code_of(nested_arrays(64)) == errc::ok));
  BOOST_TEST((code_of(nested_arrays(65)) == errc::too_deep));
  // A hostile depth (far beyond the limit) is refused without recursion trouble.
  BOOST_TEST((code_of(std::string(100000, '[')) == errc::too_deep));
}

// Boost.JSON turns 1e400 into infinity, which serialises as `Infinity` (not JSON): refused.
BOOST_AUTO_TEST_CASE(out_of_range_numbers_are_parse_errors) {
  BOOST_TEST((code_of("1e400") == errc::parse_error));
  BOOST_TEST((code_of("{\"progress\":[-1e400]}") == errc::parse_error));
  BOOST_TEST((code_of("1e308") == errc::ok));
  BOOST_TEST((code_of("[2E+999]") == errc::parse_error));
  BOOST_TEST((code_of("[1.5e999]") == errc::parse_error));
  BOOST_TEST((code_of("1" + std::string(400, '0')) == errc::parse_error));  // no exponent at all
  BOOST_TEST((code_of("-1" + std::string(400, '0') + ".5") == errc::parse_error));
  BOOST_TEST((code_of("1" + std::string(299, '0')) == errc::ok));
  // Runs anywhere in the text, not only at its start: 331 digits after 171 other bytes overflow;
  // 300 digits across position 300 do not.
  BOOST_TEST((code_of("[" + std::string(170, ' ') + "1" + std::string(330, '7') + "]") ==
              errc::parse_error));
  BOOST_TEST((code_of("[" + std::string(100, ' ') + "1" + std::string(299, '7') + "]") == errc::ok));
  BOOST_TEST((code_of("{\"text\":\"1e400 in a string\"}") == errc::ok));
  auto tiny = parse_json("1e-400");  // underflow to zero is still a finite number
  BOOST_TEST_REQUIRE(tiny.has_value());
  BOOST_TEST(tiny->as_double() == 0.0);
}

BOOST_AUTO_TEST_CASE(to_line_writes_non_finite_as_null) {
  json::value v = {{"a", json::array{std::nan(""), 1.5, -std::numeric_limits<double>::infinity()}},
                   {"b", std::numeric_limits<double>::infinity()}};
  auto line = to_line(v);
  BOOST_TEST(json::parse(line) == json::parse(R"({"a":[null,1.5,null],"b":null})"));
  BOOST_TEST(v.at("b").is_double());  // the caller's value is untouched
}

BOOST_AUTO_TEST_CASE(to_line_is_compact_and_single_line) {
  auto v = json::parse(R"({ "a" : [ 1 , 2 ], "s" : "x\ny\r\u2028" })");
  auto line = to_line(v);
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(line.find('\r') == std::string::npos);
  BOOST_TEST(line.find(' ') == std::string::npos);
  BOOST_TEST(json::parse(line) == v);
  BOOST_TEST(to_line(json::parse(R"({"a":1})")) == R"({"a":1})");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(json_number_writes_whole_values_as_integers) {
  using exai::codecs::json_number;
  BOOST_TEST(json_number(3.0).is_int64());
  BOOST_TEST(json_number(3.0).as_int64() == 3);
  BOOST_TEST(json_number(-250.0).as_int64() == -250);
  BOOST_TEST(json_number(2.5).is_double());
  BOOST_TEST(json_number(2.5).as_double() == 2.5);
  BOOST_TEST(json_number(1e300).is_double());  // beyond 2^53: kept as a double
  BOOST_TEST(json_number(std::numeric_limits<double>::infinity()).is_null());
  BOOST_TEST(json_number(std::numeric_limits<double>::quiet_NaN()).is_null());
  BOOST_TEST(exai::codecs::to_line(json_number(100.0)) == "100");
}


// append_json copies strings that need no escape straight between quotes: the result must be
// what Boost.JSON's serializer writes, for every kind of string.
BOOST_AUTO_TEST_CASE(append_json_strings_match_the_serializer) {
  const std::string cases[] = {
      "",
      "echo",
      "0b0e4f4e-2a6c-4d7a-9d51-1f0c0a4c9e11",
      "h\xc3\xa9llo \xf0\x9f\x98\x80",  // UTF-8 passes through
      "slash/and\x7f" "del",
      "quote\"inside",
      "back\\slash",
      std::string("nul\0byte", 8),
      "tab\tnewline\ncr\rformfeed\fbell\x07",
      std::string(3000, 'a'),  // longer than the serializer's buffer
  };
  for (const auto& c : cases) {
    std::string out = "prefix:";
    append_json(out, std::string_view(c));
    BOOST_TEST(out == "prefix:" + boost::json::serialize(boost::json::string(c)), c.substr(0, 40));
  }
}
