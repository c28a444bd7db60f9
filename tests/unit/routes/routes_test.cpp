// Pure route logic: version negotiation, cursors, token comparison, route lookup per dialect.
#define BOOST_TEST_MODULE routes_unit
#include "codecs/base64url.hpp"
#include "routes/cursor.hpp"
#include "routes/era.hpp"
#include "routes/table.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace exai::routes;
using exai::codecs::base64url_decode;
using exai::codecs::base64url_encode;
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

// ---- the 2026-07-28 era (routes/era.hpp) ---------------------------------------------------

namespace {

json::object modern_params(json::value version = "2026-07-28", json::value caps = json::object()) {
  json::object meta;
  if (!version.is_null()) meta[era::protocol_version_key] = std::move(version);
  if (!caps.is_null()) meta[era::client_capabilities_key] = std::move(caps);
  json::object p;
  p["_meta"] = std::move(meta);
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(era_detection_is_by_meta_or_modern_only_method) {
  BOOST_TEST(!era::is_modern("tools/list", json::object()));
  BOOST_TEST(!era::is_modern("tools/call", json::parse(R"({"_meta":{"progressToken":1}})").as_object()));
  BOOST_TEST(era::is_modern("tools/list", modern_params()));
  // Either field alone is a modern request (the other one missing is then -32602, not legacy).
  BOOST_TEST(era::is_modern("tools/list", modern_params(nullptr)));
  BOOST_TEST(era::is_modern("tools/list", modern_params("2026-07-28", nullptr)));
  BOOST_TEST(era::is_modern("server/discover", json::object()));
  BOOST_TEST(era::is_modern("subscriptions/listen", json::object()));
}

BOOST_AUTO_TEST_CASE(era_validation_errors) {
  auto ok = era::validate(modern_params("2026-07-28", json::object{{"sampling", json::object()}}));
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->version == "2026-07-28");
  BOOST_TEST(ok->client_capabilities.contains("sampling"));

  for (auto p : {json::object(), modern_params(nullptr), modern_params("2026-07-28", nullptr),
                 modern_params(20260728), modern_params("2026-07-28", json::array())}) {
    auto r = era::validate(p);
    BOOST_REQUIRE(!r);
    BOOST_TEST(exai::codecs::jsonrpc_code(r.error().code) == -32602);
    BOOST_TEST(era::http_status_for(r.error()) == 400u);
  }

  auto old = era::validate(modern_params("2025-11-25"));
  BOOST_REQUIRE(!old);
  BOOST_TEST(exai::codecs::jsonrpc_code(old.error().code) == -32022);
  BOOST_TEST(era::http_status_for(old.error()) == 400u);
  BOOST_REQUIRE(old.error().data);
  BOOST_TEST(old.error().data->at("requested").as_string() == "2025-11-25");
  BOOST_TEST(old.error().data->at("supported").as_array().size() == 1u);
  BOOST_TEST(old.error().data->at("supported").at(0).as_string() == "2026-07-28");

  auto removed = era::removed_method("ping");
  BOOST_TEST(exai::codecs::jsonrpc_code(removed.code) == -32601);
  BOOST_TEST(era::http_status_for(removed) == 404u);
}

BOOST_AUTO_TEST_CASE(era_missing_capabilities) {
  auto required = json::parse(R"({"sampling":{},"roots":{"listChanged":true}})").as_object();
  auto declared = json::parse(R"({"roots":{}})").as_object();
  auto missing = era::missing_capabilities(required, declared);
  BOOST_TEST(missing.size() == 1u);
  BOOST_TEST(missing.contains("sampling"));
  BOOST_TEST(era::missing_capabilities(required, required).empty());
  auto e = era::missing_capability("tool 't'", std::move(missing));
  BOOST_TEST(exai::codecs::jsonrpc_code(e.code) == -32021);
  BOOST_TEST(era::http_status_for(e) == 400u);
  BOOST_TEST(e.data->at("requiredCapabilities").at("sampling").is_object());
}

BOOST_AUTO_TEST_CASE(era_result_shapes) {
  json::value list = json::object{{"tools", json::array()}};
  era::shape_result("tools/list", list, era::cache_hint{std::chrono::milliseconds(1234)});
  BOOST_TEST(list.at("resultType").as_string() == "complete");
  BOOST_TEST(list.at("ttlMs").as_int64() == 1234);
  BOOST_TEST(list.at("cacheScope").as_string() == "public");
  json::value call = json::object{{"content", json::array()}};
  era::shape_result("tools/call", call, {});
  BOOST_TEST(call.at("resultType").as_string() == "complete");
  BOOST_TEST(!call.as_object().contains("ttlMs"));

  era::discover_info info{"gw", "1.2.3"};
  auto d = era::discover_result(info);
  BOOST_TEST(d.at("resultType").as_string() == "complete");
  BOOST_TEST(d.at("supportedVersions").at(0).as_string() == "2026-07-28");
  BOOST_TEST(d.at("capabilities").at("tools").as_object().empty());  // no listChanged offered
  BOOST_TEST(!d.at("capabilities").as_object().contains("logging"));
  BOOST_TEST(d.at("ttlMs").as_int64() >= 0);
  BOOST_TEST(d.at("_meta").at(era::server_info_key).at("version").as_string() == "1.2.3");
}

BOOST_AUTO_TEST_CASE(era_listen_filter_and_shapes) {
  auto params = modern_params();
  BOOST_TEST((era::listen_filter_of(params).error().code == exai::codecs::errc::invalid_params));
  params["notifications"] = json::array();
  BOOST_TEST(!era::listen_filter_of(params));
  params["notifications"] = json::object{{"toolsListChanged", 1}};
  BOOST_TEST(!era::listen_filter_of(params));
  params["notifications"] = json::object{{"promptsListChanged", true}, {"resourceSubscriptions", json::array{"a"}}};
  BOOST_TEST(!era::listen_filter_of(params)->tools_list_changed);
  params["notifications"] = json::object{{"toolsListChanged", true}};
  auto f = era::listen_filter_of(params);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->tools_list_changed);

  auto ack = era::listen_acknowledged(json::value(42), *f);
  BOOST_TEST(ack.at("method").as_string() == "notifications/subscriptions/acknowledged");
  BOOST_TEST(ack.at("params").at("_meta").at(era::subscription_id_key).as_int64() == 42);
  BOOST_TEST(ack.at("params").at("notifications").at("toolsListChanged").as_bool());
  BOOST_TEST(era::listen_acknowledged("x", era::listen_filter{}).at("params").at("notifications").as_object().empty());
  auto n = era::listen_notification("notifications/tools/list_changed", "x");
  BOOST_TEST(n.at("params").at("_meta").at(era::subscription_id_key).as_string() == "x");
  BOOST_TEST(n.at("params").as_object().size() == 1u);
  auto r = era::listen_result("x");
  BOOST_TEST(r.at("resultType").as_string() == "complete");
  BOOST_TEST(r.at("_meta").at(era::subscription_id_key).as_string() == "x");
  BOOST_TEST(find_route("subscriptions/listen", exai::codecs::dialect::jsonrpc) != nullptr);
  BOOST_TEST(find_route("subscriptions/listen", exai::codecs::dialect::op) == nullptr);
}

BOOST_AUTO_TEST_CASE(era_http_header_check) {
  auto call = json::parse(R"({"name":"echo","arguments":{}})").as_object();
  era::http_headers good{"2026-07-28", "tools/call", "echo"};
  BOOST_TEST(!era::check_http_headers(good, "tools/call", call, "2026-07-28").has_error());

  era::http_headers wrong_version{"2025-11-25", "tools/call", "echo"};
  auto r = era::check_http_headers(wrong_version, "tools/call", call, "2026-07-28");
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(exai::codecs::jsonrpc_code(r.error().code) == -32020);
  BOOST_TEST(era::http_status_for(r.error()) == 400u);

  era::http_headers no_version{std::nullopt, "tools/call", "echo"};
  BOOST_TEST(era::check_http_headers(no_version, "tools/call", call, "2026-07-28").has_error());
  era::http_headers wrong_method{"2026-07-28", "tools/list", "echo"};
  BOOST_TEST(era::check_http_headers(wrong_method, "tools/call", call, "2026-07-28").has_error());
  era::http_headers wrong_name{"2026-07-28", "tools/call", "other"};
  BOOST_TEST(era::check_http_headers(wrong_name, "tools/call", call, "2026-07-28").has_error());
  era::http_headers no_name{"2026-07-28", "tools/call", std::nullopt};
  BOOST_TEST(era::check_http_headers(no_name, "tools/call", call, "2026-07-28").has_error());
  // tools/list has no name: Mcp-Name is not compared.
  era::http_headers list{"2026-07-28", "tools/list", std::nullopt};
  BOOST_TEST(!era::check_http_headers(list, "tools/list", json::object(), "2026-07-28").has_error());
  BOOST_TEST((era::expected_name("resources/read", json::parse(R"({"uri":"a://b"})").as_object()) == std::string_view("a://b")));
}

BOOST_AUTO_TEST_CASE(era_older_legacy_revisions_get_their_own_shapes) {
  const auto tools_text = R"([{"name":"t","title":"T","description":"d","inputSchema":{"type":"object"},
      "outputSchema":{"type":"object"},"annotations":{"readOnlyHint":true},"icons":[]}])";
  auto latest = json::parse(tools_text).as_array();
  era::downgrade_tools("2025-11-25", latest);
  BOOST_TEST(latest == json::parse(tools_text).as_array());

  auto june = json::parse(tools_text).as_array();
  era::downgrade_tools("2025-06-18", june);
  BOOST_TEST(!june.at(0).as_object().contains("icons"));
  BOOST_TEST(june.at(0).as_object().contains("outputSchema"));

  auto oldest = json::parse(tools_text).as_array();
  era::downgrade_tools("2024-11-05", oldest);
  const auto& t = oldest.at(0).as_object();
  BOOST_TEST(!t.contains("title"));
  BOOST_TEST(!t.contains("outputSchema"));
  BOOST_TEST(!t.contains("annotations"));
  BOOST_TEST(t.contains("inputSchema"));

  const auto result_text = R"({"content":[{"type":"text","text":"x"},
      {"type":"audio","data":"AA==","mimeType":"audio/wav"},
      {"type":"resource_link","uri":"file:///a","name":"a"}],"structuredContent":{"x":1}})";
  auto march = json::parse(result_text).as_object();
  era::downgrade_call_result("2025-03-26", march);
  BOOST_TEST(!march.contains("structuredContent"));
  BOOST_TEST(march.at("content").at(1).at("type").as_string() == "audio");  // audio exists there
  BOOST_TEST(march.at("content").at(2).at("type").as_string() == "text");
  BOOST_TEST(march.at("content").at(2).at("text").as_string() == "[resource: file:///a]");

  auto nov = json::parse(result_text).as_object();
  era::downgrade_call_result("2024-11-05", nov);
  BOOST_TEST(nov.at("content").at(1).at("type").as_string() == "text");
  auto current = json::parse(result_text).as_object();
  era::downgrade_call_result("2025-06-18", current);
  BOOST_TEST(current == json::parse(result_text).as_object());
}
