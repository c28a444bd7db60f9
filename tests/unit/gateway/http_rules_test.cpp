// Unit tests for the MCP HTTP request rules (gateway/http/request_rules.hpp): one case per status.
#include "gateway/http/request_rules.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace http = exai::gateway::http;
namespace json = boost::json;

namespace {

http::request_head post() {
  http::request_head h;
  h.method = "POST";
  h.target = "/mcp";
  h.accept = "application/json, text/event-stream";
  h.content_type = "application/json";
  return h;
}

int error_code_of(const http::rejection& r) {
  return static_cast<int>(json::parse(r.body).at("error").at("code").as_int64());
}

}  // namespace

BOOST_AUTO_TEST_CASE(routes_and_methods) {
  auto h = post();
  auto r = http::route_request(h);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(r.ok->kind == http::exchange::post);
  h.method = "GET";
  BOOST_CHECK(http::route_request(h).ok->kind == http::exchange::get_stream);
  h.method = "DELETE";
  BOOST_CHECK(http::route_request(h).ok->kind == http::exchange::end_session);
  h.method = "PUT";
  r = http::route_request(h);
  BOOST_REQUIRE(r.error);
  BOOST_TEST(r.error->status == 405u);
  BOOST_TEST(r.error->allow == "GET, POST, DELETE");

  h.target = "/sse";
  BOOST_TEST(http::route_request(h).error->allow == "GET");
  h.method = "GET";
  BOOST_CHECK(http::route_request(h).ok->kind == http::exchange::legacy_open);

  h.target = "/messages?sessionId=a%2Eb&x=1";
  h.method = "POST";
  r = http::route_request(h);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(r.ok->kind == http::exchange::legacy_post);
  BOOST_TEST(r.ok->legacy_session == "a.b");
  h.target = "/messages";
  BOOST_TEST(http::route_request(h).error->status == 400u);
  h.target = "/messages?sessionId=%zz";
  BOOST_TEST(http::route_request(h).error->status == 400u);
  h.method = "GET";
  BOOST_TEST(http::route_request(h).error->status == 405u);

  for (std::string_view t : {"/", "/mcp/", "/MCP", "/metrics", "/mcpx"}) {
    h.target = t;
    h.method = "POST";
    BOOST_TEST_CONTEXT(t) { BOOST_TEST(http::route_request(h).error->status == 404u); }
  }
  // A query string does not change the route.
  h.target = "/mcp?x=1";
  BOOST_TEST(static_cast<bool>(http::route_request(h).ok));
}

BOOST_AUTO_TEST_CASE(origin) {
  auto h = post();
  BOOST_TEST(!http::check_origin(h, {}));
  h.origin = "http://localhost:6274";
  BOOST_TEST(!http::check_origin(h, {}));
  h.origin = "https://evil.example";
  auto r = http::check_origin(h, {});
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 403u);
  BOOST_TEST(!http::check_origin(h, {"https://EVIL.example"}));
}

BOOST_AUTO_TEST_CASE(bearer_token) {
  auto h = post();
  BOOST_TEST(!http::check_token(h, ""));
  auto r = http::check_token(h, "s3cret");
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 401u);
  BOOST_TEST(r->bearer_challenge);
  h.authorization = "Bearer wrong";
  BOOST_TEST(http::check_token(h, "s3cret")->status == 401u);
  h.authorization = "Bearer s3cre";
  BOOST_TEST(http::check_token(h, "s3cret")->status == 401u);
  h.authorization = "Basic s3cret";
  BOOST_TEST(http::check_token(h, "s3cret")->status == 401u);
  h.authorization = "bearer  s3cret ";
  BOOST_TEST(!http::check_token(h, "s3cret"));
  // The refusal never echoes the token.
  BOOST_TEST(r->body.find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(accept_header) {
  auto h = post();
  BOOST_TEST(!http::check_accept(h, http::exchange::post));
  h.accept = "application/json";
  BOOST_TEST(http::check_accept(h, http::exchange::post)->status == 406u);
  h.accept = "text/event-stream";
  BOOST_TEST(http::check_accept(h, http::exchange::post)->status == 406u);
  BOOST_TEST(!http::check_accept(h, http::exchange::get_stream));
  BOOST_TEST(!http::check_accept(h, http::exchange::legacy_open));
  h.accept = "*/*";
  BOOST_TEST(!http::check_accept(h, http::exchange::post));
  h.accept = "application/*, text/*;q=0.5";
  BOOST_TEST(!http::check_accept(h, http::exchange::post));
  h.accept = "application/json, text/event-stream;q=0";
  BOOST_TEST(http::check_accept(h, http::exchange::post)->status == 406u);
  h.accept = "";
  BOOST_TEST(http::check_accept(h, http::exchange::get_stream)->status == 406u);
  BOOST_TEST(!http::check_accept(h, http::exchange::end_session));
  BOOST_TEST(!http::check_accept(h, http::exchange::legacy_post));
}

BOOST_AUTO_TEST_CASE(content_type) {
  auto h = post();
  BOOST_TEST(!http::check_content_type(h, http::exchange::post));
  h.content_type = "Application/JSON; charset=utf-8";
  BOOST_TEST(!http::check_content_type(h, http::exchange::legacy_post));
  h.content_type = "text/plain";
  BOOST_TEST(http::check_content_type(h, http::exchange::post)->status == 415u);
  h.content_type = "";
  BOOST_TEST(http::check_content_type(h, http::exchange::post)->status == 415u);
  BOOST_TEST(!http::check_content_type(h, http::exchange::get_stream));
}

BOOST_AUTO_TEST_CASE(size) {
  auto h = post();
  BOOST_TEST(!http::check_size(h, 10));
  h.content_length = 10;
  BOOST_TEST(!http::check_size(h, 10));
  h.content_length = 11;
  BOOST_TEST(http::check_size(h, 10)->status == 413u);
  BOOST_TEST(http::body_too_large(10).status == 413u);
}

BOOST_AUTO_TEST_CASE(session_and_version) {
  BOOST_TEST(http::session_missing().status == 400u);
  BOOST_TEST(http::session_unknown().status == 404u);
  BOOST_TEST(http::legacy_session_unknown().status == 404u);
  auto h = post();
  BOOST_TEST(!http::check_protocol_version(h, "2025-06-18"));
  h.protocol_version = "2025-06-18";
  BOOST_TEST(!http::check_protocol_version(h, "2025-06-18"));
  h.protocol_version = "2025-03-26";
  BOOST_TEST(http::check_protocol_version(h, "2025-06-18")->status == 400u);
  h.protocol_version = "garbage";
  BOOST_TEST(http::check_protocol_version(h, "2025-06-18")->status == 400u);
}

BOOST_AUTO_TEST_CASE(body) {
  auto bad = http::parse_body("{not json");
  BOOST_REQUIRE(bad.error);
  BOOST_TEST(bad.error->status == 400u);
  BOOST_TEST(error_code_of(*bad.error) == -32700);
  BOOST_TEST(json::parse(bad.error->body).at("id").is_null());
  BOOST_TEST(http::parse_body("").error->status == 400u);
  BOOST_TEST(http::parse_body(std::string(100, '[') + std::string(100, ']'), 64).error->status ==
             400u);
  auto ok = http::parse_body(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})");
  BOOST_REQUIRE(ok.ok);
  BOOST_TEST(http::is_initialize(*ok.ok));
  BOOST_TEST(http::has_request(*ok.ok));
  auto note = json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  BOOST_TEST(!http::is_initialize(note));
  BOOST_TEST(!http::has_request(note));
  auto response = json::parse(R"({"jsonrpc":"2.0","id":3,"result":{}})");
  BOOST_TEST(!http::has_request(response));
  auto batch = json::parse(R"([{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":"x","method":"ping"}])");
  BOOST_TEST(http::has_request(batch));
  BOOST_TEST(!http::has_request(json::parse(R"([{"jsonrpc":"2.0","method":"n"}])")));
}

BOOST_AUTO_TEST_CASE(error_bodies_are_jsonrpc) {
  auto h = post();
  h.method = "PATCH";
  auto r = http::route_request(h);
  BOOST_TEST(r.error->content_type == "application/json");
  BOOST_TEST(error_code_of(*r.error) == -32600);
}
