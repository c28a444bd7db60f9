// Pure route logic: version negotiation, cursors, token comparison, route lookup per dialect.
#define BOOST_TEST_MODULE routes_unit
#include "routes/cursor.hpp"
#include "routes/table.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace exai::routes;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(version_negotiation) {
  BOOST_TEST(negotiate_version("2024-11-05") == "2024-11-05");
  BOOST_TEST(negotiate_version("2025-03-26") == "2025-03-26");
  BOOST_TEST(negotiate_version("2025-06-18") == "2025-06-18");
  BOOST_TEST(negotiate_version("2025-11-25") == "2025-11-25");
  BOOST_TEST(negotiate_version("2026-07-28") == "2025-11-25");  // modern era: not via initialize
  BOOST_TEST(negotiate_version("") == "2025-11-25");
  BOOST_TEST(negotiate_version("2025-06-18 ") == "2025-11-25");
}

BOOST_AUTO_TEST_CASE(base64url_round_trip_and_rejects) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto e = base64url_encode(s);
    BOOST_TEST(e.find_first_of("+/=") == std::string::npos);
    auto d = base64url_decode(e);
    BOOST_REQUIRE(d);
    BOOST_TEST(*d == s);
  }
  BOOST_TEST(!base64url_decode("a"));      // impossible length
  BOOST_TEST(!base64url_decode("ab+c"));   // standard alphabet is not ours
  BOOST_TEST(!base64url_decode("YR"));     // non-zero leftover bits
  BOOST_TEST(base64url_decode("YQ").value() == "a");
}

BOOST_AUTO_TEST_CASE(cursor_round_trip) {
  list_cursor c{37, 0xdeadbeefcafef00dull};
  auto text = encode_cursor(c);
  auto back = decode_cursor(text);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->offset == 37u);
  BOOST_TEST(back->fingerprint == 0xdeadbeefcafef00dull);
}

BOOST_AUTO_TEST_CASE(bad_cursors) {
  BOOST_TEST(!decode_cursor(""));
  BOOST_TEST(!decode_cursor("!!!"));
  BOOST_TEST(!decode_cursor(base64url_encode("v2:1:2")));
  BOOST_TEST(!decode_cursor(base64url_encode("v1:1")));
  BOOST_TEST(!decode_cursor(base64url_encode("v1:-1:2")));
  BOOST_TEST(!decode_cursor(base64url_encode("v1:1:2x")));
  BOOST_TEST(!decode_cursor(base64url_encode("v1::2")));
  BOOST_TEST(!decode_cursor(std::string(200, 'A')));
}

BOOST_AUTO_TEST_CASE(fingerprint_depends_on_names_and_order) {
  json::array a{json::object{{"name", "ab"}}, json::object{{"name", "c"}}};
  json::array b{json::object{{"name", "a"}}, json::object{{"name", "bc"}}};
  json::array c{json::object{{"name", "c"}}, json::object{{"name", "ab"}}};
  json::array a2{json::object{{"name", "ab"}, {"description", "changed"}},
                 json::object{{"name", "c"}}};
  BOOST_TEST(tools_fingerprint(a) != tools_fingerprint(b));
  BOOST_TEST(tools_fingerprint(a) != tools_fingerprint(c));
  BOOST_TEST(tools_fingerprint(a) == tools_fingerprint(a2));
}

BOOST_AUTO_TEST_CASE(routes_per_dialect) {
  using exai::codecs::dialect;
  BOOST_TEST(find_route("initialize", dialect::jsonrpc) != nullptr);
  BOOST_TEST(find_route("initialize", dialect::op) == nullptr);
  BOOST_TEST(find_route("hello", dialect::jsonrpc) == nullptr);
  BOOST_TEST(find_route("hello", dialect::op) != nullptr);
  BOOST_TEST(find_route("cancel", dialect::jsonrpc) == nullptr);
  BOOST_TEST(find_route("tools/call", dialect::op) == find_route("tools/call", dialect::jsonrpc));
  BOOST_TEST(find_route("resources/list", dialect::jsonrpc) == nullptr);
  BOOST_TEST(is_inline_method("notifications/cancelled", dialect::jsonrpc));
  BOOST_TEST(is_inline_method("initialize", dialect::jsonrpc));
  BOOST_TEST(!is_inline_method("tools/call", dialect::jsonrpc));
  BOOST_TEST(is_inline_method("cancel", dialect::op));
  BOOST_TEST(!is_inline_method("cancel", dialect::jsonrpc));
}

BOOST_AUTO_TEST_CASE(timeouts_and_messages) {
  route_options o;
  o.call_timeout = std::chrono::milliseconds(300000);
  o.tool_timeouts["thinkdeep"] = std::chrono::milliseconds(600000);
  BOOST_TEST(o.timeout_for("thinkdeep").count() == 600000);
  BOOST_TEST(o.timeout_for("chat").count() == 300000);
  auto m = timeout_message("delay", std::chrono::milliseconds(1500));
  BOOST_TEST(m.find("'delay'") != std::string::npos);
  BOOST_TEST(m.find("1500 ms") != std::string::npos);
}
