// Op codec (exai-op-protocol.md): error branches by code, encode -> decode round trips of every
// message, the canonical mapping (model.hpp) and the result translation both ways.
#include "codecs/jsonrpc.hpp"
#include "codecs/op.hpp"
#include "codecs/token.hpp"
#include "describe.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

using namespace exai::codecs;
namespace json = boost::json;

namespace {

errc client_code(std::string_view text) {
  auto r = op::decode_client(json::parse(text));
  return r ? errc::ok : r.error().code;
}

errc server_code(std::string_view text) {
  auto r = op::decode_server(json::parse(text));
  return r ? errc::ok : r.error().code;
}

template <class T>
void client_round_trip(const T& m) {
  json::object wire = op::encode(m);
  auto back = op::decode_client(wire);
  BOOST_TEST_REQUIRE(back.has_value(), "decode failed for " << json::serialize(wire));
  BOOST_TEST(test::describe(*back) == test::describe(op::client_message(m)),
             json::serialize(wire));
}

op::progress progress_of(std::string rid, std::optional<double> value, std::optional<double> total,
                         std::string message) {
  op::progress p;
  p.request_id = std::move(rid);
  p.progress = value;
  p.total = total;
  p.message = std::move(message);
  return p;
}

template <class T>
void server_round_trip(const T& m) {
  json::object wire = op::encode(m);
  auto back = op::decode_server(wire);
  BOOST_TEST_REQUIRE(back.has_value(), "decode failed for " << json::serialize(wire));
  BOOST_TEST(test::describe(*back) == test::describe(op::server_message(m)),
             json::serialize(wire));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(op_codec)

// A tool's log line rides on a progress message as a "log" member; without a level it is refused.
BOOST_AUTO_TEST_CASE(progress_carries_log_lines) {
  auto p = progress_of("r", std::nullopt, std::nullopt, "");
  p.log_level = "warning";
  p.logger = "tool";
  p.log_data = json::object{{"step", 2}};
  auto wire = op::encode(p);
  BOOST_TEST(wire.at("log").at("level").as_string() == "warning");
  auto back = op::decode_server(wire);
  BOOST_REQUIRE(back.has_value());
  const auto& q = std::get<op::progress>(*back);
  BOOST_TEST(q.log_level == "warning");
  BOOST_TEST(q.logger == "tool");
  BOOST_TEST(q.log_data.at("step").as_int64() == 2);
  BOOST_TEST(!op::encode(progress_of("r", 1.0, std::nullopt, "")).contains("log"));
  auto bad = json::parse(R"({"op":"progress","request_id":"r","log":{"logger":"x"}})").as_object();
  BOOST_TEST(!op::decode_server(bad).has_value());
}

// A tool's report crosses the op wire and comes back the same, bar the streaming chunk.
BOOST_AUTO_TEST_CASE(progress_report_round_trip) {
  progress_update u;
  u.progress = 3;
  u.total = 7;
  u.message = "reading";
  u.chunk = "text";
  u.log_level = "info";
  u.logger = "chat";
  u.log_data = json::object{{"k", 1}};
  auto p = op::to_progress(u, std::string("r9"));
  BOOST_TEST(*p.request_id == "r9");
  auto back = op::decode_server(op::encode(p));
  BOOST_REQUIRE(back.has_value());
  auto v = op::to_progress_update(std::get<op::progress>(*back));
  BOOST_TEST(*v.progress == 3);
  BOOST_TEST(*v.total == 7);
  BOOST_TEST(v.message == "reading");
  BOOST_TEST(v.chunk.empty());
  BOOST_TEST(v.log_level == "info");
  BOOST_TEST(v.logger == "chat");
  BOOST_TEST(v.log_data.at("k").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(client_error_branches) {
  BOOST_TEST((client_code(R"({"op":"list_tools","request_id":"a"})") == errc::ok));
  BOOST_TEST((client_code(R"({"op":"frobnicate","request_id":"a"})") == errc::method_not_found));
  BOOST_TEST((client_code(R"({"op":"pong","request_id":"a"})") == errc::method_not_found));
  BOOST_TEST((client_code(R"({"op":"LIST_TOOLS"})") == errc::method_not_found));
  BOOST_TEST((client_code(R"({"request_id":"a"})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":7})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":null})") == errc::invalid_request));
  BOOST_TEST((client_code(R"([{"op":"ping"}])") == errc::invalid_request));
  BOOST_TEST((client_code(R"("ping")") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"ping","request_id":5})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"ping","request_id":["a"]})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"ping","request_id":null})") == errc::ok));
  BOOST_TEST((client_code(R"({"op":"call_tool","request_id":"a"})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"call_tool","name":""})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"call_tool","name":3})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"call_tool","name":"x","arguments":[1]})") ==
              errc::invalid_params));
  BOOST_TEST((client_code(R"({"op":"call_tool","name":"x","arguments":"a=1"})") ==
              errc::invalid_params));
  BOOST_TEST((client_code(R"({"op":"tool_call","tool":"x"})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"tool_call","tool":{}})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"hello","token":5})") == errc::invalid_request));
  BOOST_TEST((client_code(R"({"op":"hello","session_id":false})") == errc::invalid_request));
  // Unknown members are ignored (the reference daemon ignores protocolVersion, clientInfo, ...).
  BOOST_TEST((client_code(R"({"op":"hello","protocolVersion":"x","clientInfo":{}})") == errc::ok));
}

BOOST_AUTO_TEST_CASE(server_error_branches) {
  BOOST_TEST((server_code(R"({"op":"pong","request_id":"a"})") == errc::ok));
  BOOST_TEST((server_code(R"({"op":"list_tools"})") == errc::method_not_found));
  BOOST_TEST((server_code(R"({"op":"mystery"})") == errc::method_not_found));
  BOOST_TEST((server_code(R"({"request_id":"a"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"error":null})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"error":5})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"error"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"error","error":{"code":{}}})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"error","error":{"code":"X","message":1}})") ==
              errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"pong","request_id":1})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"hello_ack","ok":"yes"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"hello_ack","ok":true,"error":3})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"list_tools_res","request_id":"a"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"list_tools_res","tools":{}})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"list_tools_res","tools":["x"]})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"list_tools_res","tools":[{"description":"d"}]})") ==
              errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"progress","progress":"3"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"progress","total":true})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"progress","message":{}})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"stream_chunk","chunk":1})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_ack","timeout":"30"})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","outputs":{}})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","outputs":["x"]})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","is_error":1})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","structured":[1]})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","text":1})") == errc::invalid_request));
  BOOST_TEST((server_code(R"({"op":"call_tool_res","error":[]})") == errc::invalid_request));
}

BOOST_AUTO_TEST_CASE(client_round_trips) {
  client_round_trip(op::hello{"tok", "gw-3f9c2a1b", op::capabilities{true, true, false, {}, {}}});
  client_round_trip(op::hello{"", std::nullopt, std::nullopt});
  client_round_trip(op::list_tools{"r-1"});
  client_round_trip(op::list_tools{std::nullopt});
  client_round_trip(op::call_tool{"r-2", "echo", json::object{{"text", "hi"}}, false});
  client_round_trip(op::call_tool{std::nullopt, "status", json::object{}, false});
  client_round_trip(op::ping{"p"});
  client_round_trip(op::cancel{"r-2"});
  // A legacy tool_call is re-encoded as call_tool (section 3: accept it, send call_tool).
  auto legacy = op::decode_client(json::parse(R"({"op":"tool_call","request_id":"z","tool":{"name":"chat"}})"));
  BOOST_TEST_REQUIRE(legacy.has_value());
  auto wire = std::visit([](const auto& m) { return op::encode(m); }, *legacy);
  BOOST_TEST(wire == json::parse(R"({"op":"call_tool","request_id":"z","name":"chat","arguments":{}})"));
}

BOOST_AUTO_TEST_CASE(server_round_trips) {
  op::hello_ack ack;
  ack.ok = true;
  ack.session_id = "s-1";
  ack.caps = op::capabilities{true, true, true, 256, 32u << 20};
  ack.server = json::object{{"name", "exai-daemon"}, {"version", "0.1.0"}};
  server_round_trip(ack);
  server_round_trip(op::hello_ack{false, std::nullopt, "unauthorized", std::nullopt, std::nullopt});
  server_round_trip(op::list_tools_res{
      "r", json::parse(R"([{"name":"a","description":"d","inputSchema":{"type":"object"}}])").as_array(),
      json::value("2025-01-01T00:00:00Z")});
  server_round_trip(op::list_tools_res{std::nullopt, json::array{}, json::value(1700000000.25)});
  server_round_trip(progress_of("r", 3.0, 10.0, "three of ten"));
  server_round_trip(progress_of("r", 0.25, std::nullopt, ""));
  server_round_trip(progress_of("r", std::nullopt, std::nullopt, "Tool execution in progress..."));
  server_round_trip(op::stream_chunk{"r", "partial text"});
  server_round_trip(op::stream_complete{"r"});
  server_round_trip(op::call_tool_ack{"r", 600.0});
  server_round_trip(op::call_tool_ack{"r", std::nullopt});
  op::call_tool_res res;
  res.request_id = "r";
  res.outputs = json::parse(R"([{"type":"text","text":"x"},{"type":"image","data":"AA==","mimeType":"image/png"}])").as_array();
  res.is_error = true;
  res.structured = json::object{{"k", "v"}};
  res.from_cache = true;
  res.from_inflight = true;
  res.text = "x";
  server_round_trip(res);
  op::call_tool_res failed;
  failed.request_id = "r";
  failed.error = op::wire_error{"TIMEOUT", "slow", json::object{{"after_s", 300}}};
  server_round_trip(failed);
  server_round_trip(op::pong{"r"});
  server_round_trip(op::cancelled{"r"});
  server_round_trip(op::error_msg{std::nullopt, op::wire_error{"OVER_CAPACITY", "slow down", {}}, false});
  server_round_trip(op::error_msg{"r", op::wire_error{"TOOL_NOT_FOUND", "Tool not found: x", {}}, false});
  server_round_trip(op::error_msg{std::nullopt, op::wire_error{"TOOL_NOT_FOUND", "Tool not found: x", {}}, true});
}

BOOST_AUTO_TEST_CASE(numbers_written_cleanly) {
  auto p = op::encode(progress_of("r", 3.0, 10.0, ""));
  BOOST_TEST(p.at("progress").is_int64());
  BOOST_TEST(p.at("total").as_int64() == 10);
  BOOST_TEST(json::serialize(p).find("E0") == std::string::npos);
  auto frac = op::encode(progress_of("r", 0.5, std::nullopt, ""));
  BOOST_TEST(frac.at("progress").as_double() == 0.5);
  BOOST_TEST(!frac.contains("total"));
  // Non-finite numbers are not JSON: left out rather than written as garbage.
  auto nan = op::encode(progress_of("r", std::nan(""), std::numeric_limits<double>::infinity(), "m"));
  BOOST_TEST(!nan.contains("progress"));
  BOOST_TEST(!nan.contains("total"));
  BOOST_TEST(op::encode(op::call_tool_ack{"r", 1.5}).at("timeout").as_double() == 1.5);
}

BOOST_AUTO_TEST_CASE(optional_members_only_when_set) {
  op::call_tool_res plain;
  plain.outputs = json::array{};
  BOOST_TEST(op::encode(plain) == json::parse(R"({"op":"call_tool_res","outputs":[]})"));
  BOOST_TEST(op::encode(op::hello{"t", std::nullopt, std::nullopt}) ==
             json::parse(R"({"op":"hello","token":"t"})"));
  BOOST_TEST(op::encode(op::ping{std::nullopt}) == json::parse(R"({"op":"ping"})"));
  BOOST_TEST(op::encode(op::hello_ack{true, "s", std::nullopt, std::nullopt, std::nullopt}) ==
             json::parse(R"({"op":"hello_ack","ok":true,"session_id":"s"})"));
}

BOOST_AUTO_TEST_CASE(capabilities_are_lenient) {
  auto caps_of = [](std::string_view text) {
    auto r = op::decode_client(json::parse(text));
    BOOST_TEST_REQUIRE(r.has_value());
    return std::get<op::hello>(*r).caps;
  };
  BOOST_TEST(!caps_of(R"({"op":"hello"})").has_value());
  BOOST_TEST(!caps_of(R"({"op":"hello","capabilities":"all"})").has_value());
  auto mcp_shaped = caps_of(R"({"op":"hello","capabilities":{"tools":{},"multiplex":"yes"}})");
  BOOST_TEST_REQUIRE(mcp_shaped.has_value());
  BOOST_TEST(!mcp_shaped->multiplex);
  BOOST_TEST(!mcp_shaped->cancel);
  auto ours = caps_of(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true,"progress":true}})");
  BOOST_TEST((ours->multiplex && ours->cancel && ours->progress));

  auto inflight = [](std::string_view n) {
    auto r = op::decode_server(json::parse(R"({"op":"hello_ack","ok":true,"capabilities":{"max_inflight":)" +
                                           std::string(n) + "}}"));
    BOOST_TEST_REQUIRE(r.has_value());
    return std::get<op::hello_ack>(*r).caps->max_inflight;
  };
  BOOST_TEST(inflight("256").value() == 256u);
  BOOST_TEST(inflight("4294967295").value() == 4294967295u);
  BOOST_TEST(!inflight("4294967296").has_value());
  BOOST_TEST(!inflight("0").has_value());
  BOOST_TEST(!inflight("-1").has_value());
  BOOST_TEST(!inflight("2.5").has_value());
}

BOOST_AUTO_TEST_CASE(canonical_mapping) {
  auto in = [](std::string_view text) {
    auto r = op::decode_client(json::parse(text));
    BOOST_TEST_REQUIRE(r.has_value());
    return op::to_inbound(*r);
  };
  auto call = in(R"({"op":"tool_call","request_id":"c1","tool":{"name":"chat"},"arguments":null})");
  BOOST_TEST((call.from == dialect::op));
  BOOST_TEST((call.type == message_type::request));
  BOOST_TEST(call.method == "tools/call");
  BOOST_TEST(call.op == "tool_call");
  BOOST_TEST(call.id->key() == "s:c1");
  BOOST_TEST(call.params == json::parse(R"({"name":"chat","arguments":{}})"));

  auto list = in(R"({"op":"list_tools","request_id":"l"})");
  BOOST_TEST(list.method == "tools/list");
  BOOST_TEST(list.op == "list_tools");
  BOOST_TEST(list.params.empty());

  auto cancel = in(R"({"op":"cancel","request_id":"c1"})");
  BOOST_TEST(cancel.method == "cancel");
  BOOST_TEST(cancel.params == json::parse(R"({"requestId":"c1"})"));
  BOOST_TEST(cancel.id->key() == "s:c1");

  auto hello = in(R"({"op":"hello","token":"t","session_id":"abc","capabilities":{"cancel":true}})");
  BOOST_TEST(hello.method == "hello");
  BOOST_TEST(!hello.id.has_value());
  BOOST_TEST(hello.params.at("token") == "t");
  BOOST_TEST(hello.params.at("capabilities").at("cancel") == true);
  BOOST_TEST(hello.params.at("capabilities").at("multiplex") == false);

  auto ping = in(R"({"op":"ping"})");
  BOOST_TEST(ping.method == "ping");
  BOOST_TEST(!ping.id.has_value());
}

BOOST_AUTO_TEST_CASE(results_both_ways) {
  op::call_tool_res res;
  res.outputs = json::parse(
      R"([{"type":"text","text":"a","metadata":{"tokens":3}},{"type":"image","data":"AA==","mimeType":"image/png","metadata":{"k":1}}])")
                    .as_array();
  auto r = op::to_tool_result(res);
  BOOST_TEST(r.content == json::parse(
      R"([{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png","metadata":{"k":1}}])"));
  BOOST_TEST(!r.is_error);

  op::call_tool_res err;
  err.error = op::wire_error{"TOOL_NOT_FOUND", "Tool not found: x", {}};
  err.outputs = json::array{};  // error wins
  auto e = op::to_tool_result(err);
  BOOST_TEST(e.is_error);
  BOOST_TEST(e.content == json::parse(R"([{"type":"text","text":"TOOL_NOT_FOUND: Tool not found: x"}])"));
  BOOST_TEST(op::to_tool_result(op::wire_error{"", "only a message", {}}).content.at(0).at("text") ==
             "only a message");
  BOOST_TEST(op::to_tool_result(op::wire_error{"TIMEOUT", "", {}}).content.at(0).at("text") ==
             "TIMEOUT");

  op::call_tool_res old;
  old.text = "legacy text";
  BOOST_TEST(op::to_tool_result(old).content == json::parse(R"([{"type":"text","text":"legacy text"}])"));
  old.outputs = json::parse(R"([{"type":"text","text":"from outputs"}])").as_array();
  BOOST_TEST(op::to_tool_result(old).content.size() == 1u);
  BOOST_TEST(op::to_tool_result(old).content.at(0).at("text") == "from outputs");

  tool_result ours = tool_result::text("done");
  auto back = op::to_call_tool_res(ours, "rid");
  BOOST_TEST(op::encode(back) ==
             json::parse(R"({"op":"call_tool_res","request_id":"rid","outputs":[{"type":"text","text":"done"}]})"));
  ours.is_error = true;
  ours.structured = json::object{{"x", 1}};
  BOOST_TEST(op::encode(op::to_call_tool_res(ours, std::nullopt)) ==
             json::parse(
                 R"({"op":"call_tool_res","outputs":[{"type":"text","text":"done"}],"is_error":true,"structured":{"x":1}})"));
  // And through the wire back to the same MCP result.
  auto again = op::decode_server(op::encode(op::to_call_tool_res(ours, "q")));
  BOOST_TEST_REQUIRE(again.has_value());
  auto mcp = jsonrpc::to_call_tool_result(op::to_tool_result(std::get<op::call_tool_res>(*again)));
  BOOST_TEST(mcp == jsonrpc::to_call_tool_result(ours));
}

BOOST_AUTO_TEST_CASE(tools_both_ways) {
  auto mcp = op::to_mcp_tool(json::parse(R"({"name":"chat","description":"Chat","extra":1})").as_object());
  BOOST_TEST(mcp == json::parse(R"({"name":"chat","description":"Chat","inputSchema":{"type":"object"}})"));
  auto full = json::parse(
      R"({"name":"t","title":"T","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"string"}}},"outputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}})")
                  .as_object();
  BOOST_TEST(op::to_mcp_tool(full) == full);
  BOOST_TEST(op::to_op_tool(full) == full);
  BOOST_TEST(op::to_op_tool(op::to_mcp_tool(full)) == full);
}

BOOST_AUTO_TEST_CASE(peek_request_id) {
  BOOST_TEST(op::peek_request_id(json::parse(R"({"op":"x","request_id":"r9"})")).value() == "r9");
  BOOST_TEST(!op::peek_request_id(json::parse(R"({"op":"x","request_id":9})")).has_value());
  BOOST_TEST(!op::peek_request_id(json::parse(R"({"op":"x"})")).has_value());
  BOOST_TEST(!op::peek_request_id(json::parse(R"(["request_id"])")).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(session_id_rule_of_section_2) {
  using exai::codecs::op::valid_session_id;
  BOOST_TEST(valid_session_id("gw-3f9c2a1b"));
  BOOST_TEST(valid_session_id("a_-"));
  BOOST_TEST(valid_session_id(std::string(64, 'x')));
  BOOST_TEST(!valid_session_id("ab"));
  BOOST_TEST(!valid_session_id(std::string(65, 'x')));
  BOOST_TEST(!valid_session_id("gw.1"));
  BOOST_TEST(!valid_session_id("gw 1"));
  BOOST_TEST(!valid_session_id(""));
}

BOOST_AUTO_TEST_CASE(token_compare_is_exact) {
  using exai::codecs::constant_time_equal;
  BOOST_TEST(constant_time_equal("secret", "secret"));
  BOOST_TEST(!constant_time_equal("secret", "secreT"));
  BOOST_TEST(!constant_time_equal("secret", "secret1"));
  BOOST_TEST(!constant_time_equal("secret", "secre"));
  BOOST_TEST(!constant_time_equal("secret", ""));
  BOOST_TEST(!constant_time_equal("", "x"));
  BOOST_TEST(constant_time_equal("", ""));
}

// The pool's hot path writes call_tool frames with encode_text and takes results apart with the
// moving decoders: both must give exactly what the copying codec gives.
BOOST_AUTO_TEST_CASE(encode_text_is_serialize_of_encode) {
  op::call_tool m;
  m.name = "echo";
  m.arguments = json::parse(R"({"text":"h\u00e9\"llo\n","n":[1,2.5,{"deep":null}],"b":true})").as_object();
  BOOST_TEST(op::encode_text(m) == json::serialize(op::encode(m)));
  m.request_id = "0b0e4f4e-2a6c-4d7a-9d51-1f0c0a4c9e11";
  BOOST_TEST(op::encode_text(m) == json::serialize(op::encode(m)));
  m.name = "we\"ird\\name\x01";
  m.arguments = {};
  BOOST_TEST(op::encode_text(m) == json::serialize(op::encode(m)));
  m.arguments.emplace("big", std::string(5000, 'x'));  // longer than the serializer's buffer
  BOOST_TEST(op::encode_text(m) == json::serialize(op::encode(m)));
  BOOST_TEST(json::parse(op::encode_text(m)).at("arguments").at("big").as_string().size() == 5000u);
}

BOOST_AUTO_TEST_CASE(moving_decode_server_matches_copying_decode) {
  const char* cases[] = {
      R"({"op":"call_tool_res","request_id":"r1","outputs":[{"type":"text","text":"a","metadata":{"t":3}},{"type":"image","data":"AA==","mimeType":"image/png"}],"structured":{"k":[1,2]}})",
      R"({"op":"call_tool_res","request_id":"r2","outputs":[{"type":"text","text":{"not":"a string"},"annotations":{"a":1},"_meta":{"m":2}}],"is_error":true})",
      R"({"op":"call_tool_res","request_id":"r3","outputs":[{"text":"no type"}]})",
      R"({"op":"call_tool_res","request_id":"r8","outputs":[{"type":"text","text":"k","annotations":{"audience":["user"]},"_meta":{"m":1}},{"text":"order","type":"text"}]})",
      R"({"op":"call_tool_res","request_id":"r9","outputs":[{"type":"text","text":"k","annotations":3,"_meta":[1]}]})",
      R"({"op":"call_tool_res","request_id":"r4","outputs":[],"text":"legacy"})",
      R"({"op":"call_tool_res","request_id":"r5","error":{"code":"TOOL_NOT_FOUND","message":"nope"}})",
      R"({"op":"progress","request_id":"r6","progress":1,"total":4,"message":"m"})",
      R"({"op":"call_tool_res","request_id":"r7","outputs":["x"]})",
  };
  for (const char* text : cases) {
    const json::value v = json::parse(text);
    auto copied = op::decode_server(v);
    auto moved = op::decode_server(json::parse(text));
    BOOST_TEST_REQUIRE(copied.has_value() == moved.has_value(), text);
    if (!copied) {
      BOOST_TEST((copied.error().code == moved.error().code), text);
      continue;
    }
    BOOST_TEST(test::describe(*copied) == test::describe(*moved), text);
    BOOST_TEST(v == json::parse(text), "the copying decoder left its input alone: " << text);
    if (auto* res = std::get_if<op::call_tool_res>(&*moved)) {
      const auto from_copy = op::to_tool_result(std::get<op::call_tool_res>(*copied));
      const auto from_move = op::to_tool_result(std::move(*res));
      BOOST_TEST(from_copy.content == from_move.content, text);
      BOOST_TEST(from_copy.is_error == from_move.is_error, text);
      BOOST_TEST((from_copy.structured == from_move.structured), text);
    }
  }
}
