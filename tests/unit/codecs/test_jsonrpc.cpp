// JSON-RPC 2.0 codec (mcp-server-rules.md "JSON-RPC base"): ids of every JSON type, the envelope
// checks, responses, batches, the encoders and encode -> decode round trips.
#include "codecs/jsonrpc.hpp"
#include "describe.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace exai::codecs;
namespace json = boost::json;

namespace {

auto decode_text(std::string_view text) { return jsonrpc::decode(json::parse(text)); }

// The decode error code of a request whose id member is `id_json`.
errc id_verdict(std::string_view id_json, std::optional<client_id>* id_out = nullptr) {
  std::string text = R"({"jsonrpc":"2.0","method":"tools/list","id":)" + std::string(id_json) + "}";
  auto r = decode_text(text);
  if (r) {
    if (id_out) *id_out = r->id;
    return errc::ok;
  }
  if (id_out) *id_out = r.error().id;
  return r.error().err.code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jsonrpc_codec)

BOOST_AUTO_TEST_CASE(ids_of_every_type) {
  std::optional<client_id> id;
  BOOST_TEST((id_verdict(R"("abc")", &id) == errc::ok));
  BOOST_TEST_REQUIRE(id.has_value());
  BOOST_TEST(id->value.is_string());
  BOOST_TEST(id->key() == "s:abc");

  BOOST_TEST((id_verdict("7", &id) == errc::ok));
  BOOST_TEST(id->value.is_int64());
  BOOST_TEST(id->key() == "i:7");

  BOOST_TEST((id_verdict("0", &id) == errc::ok));
  BOOST_TEST(id->key() == "i:0");

  BOOST_TEST((id_verdict("-42", &id) == errc::ok));
  BOOST_TEST(id->value.as_int64() == -42);
  BOOST_TEST(id->key() == "i:-42");

  BOOST_TEST((id_verdict("18446744073709551615", &id) == errc::ok));
  BOOST_TEST(id->value.is_uint64());
  BOOST_TEST(id->key() == "i:18446744073709551615");

  BOOST_TEST((id_verdict(R"("")", &id) == errc::ok));
  BOOST_TEST(id->key() == "s:");

  // Not ids: null, fractional, bool, object, array; none is echoed back.
  for (auto bad : {"null", "1.5", "1.0", "1e3", "true", "false", "{}", "[1]", "18446744073709551616"}) {
    BOOST_TEST_CONTEXT("id " << bad) {
      BOOST_TEST((id_verdict(bad, &id) == errc::invalid_request));
      BOOST_TEST(!id.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(id_keys_keep_json_type) {
  client_id one_int{json::value(std::int64_t{1})};
  client_id one_uint{json::value(std::uint64_t{1})};
  client_id one_str{json::value("1")};
  client_id one_double{json::value(1.0)};
  BOOST_TEST(one_int.key() == one_uint.key());
  BOOST_TEST((one_int == one_uint));
  BOOST_TEST(!(one_int == one_str));
  BOOST_TEST(one_str.key() == "s:1");
  BOOST_TEST(one_int.key() != one_double.key());
  // A string that looks like a tagged key cannot collide with an integer.
  BOOST_TEST(client_id{json::value("i:1")}.key() != one_int.key());
  BOOST_TEST(client_id{json::value(nullptr)}.key() == "n:");
  BOOST_TEST(client_id{json::value(true)}.key() == "b:true");
}

BOOST_AUTO_TEST_CASE(envelope_checks) {
  auto code = [](std::string_view text) {
    auto r = decode_text(text);
    return r ? errc::ok : r.error().err.code;
  };
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":"ping","id":1})") == errc::ok));
  BOOST_TEST((code(R"({"method":"ping","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2","method":"ping","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0 ","method":"ping","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":2.0,"method":"ping","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"1.0","method":"ping","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":5,"id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":null,"id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":"x","params":null,"id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":"x","params":"a","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":"x","params":[1],"id":1})") == errc::invalid_params));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","method":"x","params":[]})") == errc::invalid_params));
  BOOST_TEST((code(R"({"jsonrpc":"2.0"})") == errc::invalid_request));
  BOOST_TEST((code("[]") == errc::invalid_request));
  BOOST_TEST((code("null") == errc::invalid_request));
  BOOST_TEST((code(R"("x")") == errc::invalid_request));
  // The failure keeps a usable id so the error reply can carry it.
  auto r = decode_text(R"({"jsonrpc":"1.0","method":"ping","id":"q"})");
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST_REQUIRE(r.error().id.has_value());
  BOOST_TEST(r.error().id->key() == "s:q");
}

BOOST_AUTO_TEST_CASE(requests_and_notifications) {
  auto r = decode_text(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"progressToken":"p1","x-trace":[1,{"a":null}]}}})");
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST((r->type == message_type::request));
  BOOST_TEST((r->from == dialect::jsonrpc));
  BOOST_TEST(r->method == "tools/call");
  BOOST_TEST(r->id->key() == "i:3");
  BOOST_TEST(r->params.at("_meta") ==
             json::parse(R"({"progressToken":"p1","x-trace":[1,{"a":null}]})"));
  BOOST_TEST(r->op.empty());
  BOOST_TEST(!r->result_or_error.has_value());

  auto n = decode_text(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  BOOST_TEST_REQUIRE(n.has_value());
  BOOST_TEST((n->type == message_type::notification));
  BOOST_TEST(!n->id.has_value());
  BOOST_TEST(n->params.empty());
}

BOOST_AUTO_TEST_CASE(responses_from_the_client) {
  auto ok = decode_text(R"({"jsonrpc":"2.0","id":"s1","result":{}})");
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST((ok->type == message_type::response));
  BOOST_TEST(ok->id->key() == "s:s1");
  BOOST_TEST(*ok->result_or_error == json::parse(R"({"result":{}})"));

  auto err = decode_text(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  BOOST_TEST_REQUIRE(err.has_value());
  BOOST_TEST(!err->id.has_value());
  BOOST_TEST(err->result_or_error->at("error").at("code").as_int64() == -32700);

  auto code = [](std::string_view text) {
    auto r = decode_text(text);
    return r ? errc::ok : r.error().err.code;
  };
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":null,"result":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","result":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}})") ==
              errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"error":"boom"})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}})") ==
              errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}})") ==
              errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})") == errc::invalid_request));
  BOOST_TEST((code(R"({"jsonrpc":"2.0","id":1,"result":null})") == errc::ok));
}

BOOST_AUTO_TEST_CASE(batches) {
  auto empty = jsonrpc::decode_batch(json::array{});
  BOOST_TEST_REQUIRE(!empty.has_value());
  BOOST_TEST((empty.error().code == errc::invalid_request));

  auto mixed = jsonrpc::decode_batch(json::parse(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},1,{"jsonrpc":"2.0","method":"n"},[],{"jsonrpc":"2.0","id":true,"method":"ping"}])")
                                         .as_array());
  BOOST_TEST_REQUIRE(mixed.has_value());
  BOOST_TEST_REQUIRE(mixed->size() == 5u);
  BOOST_TEST((*mixed)[0].has_value());
  BOOST_TEST(((*mixed)[1].error().err.code == errc::invalid_request));
  BOOST_TEST(((*mixed)[2]->type == message_type::notification));
  BOOST_TEST(((*mixed)[3].error().err.code == errc::invalid_request));
  BOOST_TEST(((*mixed)[4].error().err.code == errc::invalid_request));
  BOOST_TEST(!(*mixed)[4].error().id.has_value());

  // The element cap: at it the batch decodes, over it one error names the cap.
  json::array pings;
  for (int i = 0; i < 3; ++i) pings.push_back(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"));
  BOOST_TEST(jsonrpc::decode_batch(pings, 3).has_value());
  pings.push_back(pings.front());
  auto over = jsonrpc::decode_batch(pings, 3);
  BOOST_TEST_REQUIRE(!over.has_value());
  BOOST_TEST((over.error().code == errc::invalid_request));
  BOOST_TEST(over.error().message.find("cap of 3") != std::string::npos);
  BOOST_TEST(jsonrpc::default_max_batch_elements == 256u);
}

BOOST_AUTO_TEST_CASE(encoders) {
  client_id str_id{json::value("1")};
  client_id big_id{json::value(std::uint64_t{18446744073709551615ull})};
  BOOST_TEST(jsonrpc::encode_result(str_id, json::object{}) ==
             json::parse(R"({"jsonrpc":"2.0","id":"1","result":{}})"));
  auto big = jsonrpc::encode_result(big_id, json::value(nullptr));
  BOOST_TEST(big.at("id").is_uint64());
  BOOST_TEST(big == json::parse(R"({"jsonrpc":"2.0","id":18446744073709551615,"result":null})"));

  error e(errc::tool_not_found, "Unknown tool: nope");
  BOOST_TEST(jsonrpc::encode_error(client_id{json::value(-5)}, e) ==
             json::parse(
                 R"({"jsonrpc":"2.0","id":-5,"error":{"code":-32602,"message":"Unknown tool: nope"}})"));
  error parse_err(errc::parse_error, "");
  BOOST_TEST(jsonrpc::encode_error(std::nullopt, parse_err) ==
             json::parse(
                 R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})"));
  error version(errc::unsupported_version, "Unsupported protocol version");
  version.data = json::parse(R"({"supported":["2026-07-28"],"requested":"1999-01-01"})");
  auto v = jsonrpc::encode_error(client_id{json::value("a")}, version);
  BOOST_TEST(v.at("error").at("code").as_int64() == -32022);
  BOOST_TEST(v.at("error").at("data") == *version.data);
  version.upstream_code = "X";  // never leaks into a JSON-RPC error
  BOOST_TEST(jsonrpc::encode_error(client_id{json::value("a")}, version) == v);

  BOOST_TEST(jsonrpc::encode_notification("notifications/progress",
                                          json::object{{"progressToken", 1}, {"progress", 2}}) ==
             json::parse(
                 R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":2}})"));
}

BOOST_AUTO_TEST_CASE(call_tool_result_shapes) {
  auto plain = jsonrpc::to_call_tool_result(tool_result::text("hi"));
  BOOST_TEST(plain == json::parse(R"({"content":[{"type":"text","text":"hi"}]})"));
  auto failed = jsonrpc::to_call_tool_result(tool_result::text("TIMEOUT: slow", true));
  BOOST_TEST(failed ==
             json::parse(R"({"content":[{"type":"text","text":"TIMEOUT: slow"}],"isError":true})"));
  tool_result rich;
  rich.structured = json::object{{"n", 1}};
  auto structured = jsonrpc::to_call_tool_result(rich);
  BOOST_TEST(structured == json::parse(R"({"content":[],"structuredContent":{"n":1}})"));
}

// encode -> decode gives back the same message, with the id's JSON type intact.
BOOST_AUTO_TEST_CASE(round_trips) {
  for (auto id_text : {R"("x")", "1", "-1", "0", "9223372036854775807", "18446744073709551615"}) {
    BOOST_TEST_CONTEXT("id " << id_text) {
      client_id id{json::parse(id_text)};
      auto back = jsonrpc::decode(jsonrpc::encode_result(id, json::object{{"tools", json::array{}}}));
      BOOST_TEST_REQUIRE(back.has_value());
      BOOST_TEST((back->type == message_type::response));
      BOOST_TEST(back->id->value == id.value);
      BOOST_TEST(back->id->value.kind() == id.value.kind());
      BOOST_TEST(back->id->key() == id.key());

      auto err = jsonrpc::decode(jsonrpc::encode_error(id, error(errc::method_not_found, "m")));
      BOOST_TEST_REQUIRE(err.has_value());
      BOOST_TEST(err->id->key() == id.key());
      BOOST_TEST(err->result_or_error->at("error").at("code").as_int64() == -32601);
    }
  }
  json::object params{{"progressToken", "t"}, {"progress", 0.5}, {"_meta", json::object{{"k", 1}}}};
  auto n = jsonrpc::decode(jsonrpc::encode_notification("notifications/progress", params));
  BOOST_TEST_REQUIRE(n.has_value());
  BOOST_TEST((n->type == message_type::notification));
  BOOST_TEST(n->method == "notifications/progress");
  BOOST_TEST(n->params == params);
}

BOOST_AUTO_TEST_CASE(decode_failure_value_throws) {
  auto r = decode_text(R"({"jsonrpc":"2.0","id":1.5,"method":"x"})");
  BOOST_CHECK_THROW((void)r.value(), boost::system::system_error);
}

BOOST_AUTO_TEST_SUITE_END()

// The session decodes with the moving overload (params are moved, not copied): it must agree
// with the copying one on every kind of message, failures included.
BOOST_AUTO_TEST_CASE(moving_jsonrpc_decode_matches_copying_decode) {
  const char* cases[] = {
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"progressToken":"p1"}}})",
      R"({"jsonrpc":"2.0","id":"s","method":"tools/list"})",
      R"({"jsonrpc":"2.0","method":"notifications/initialized","params":{}})",
      R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":[1,2]})",
      R"({"jsonrpc":"2.0","id":5,"method":"x","params":"str"})",
      R"({"jsonrpc":"2.0","id":6,"result":{"ok":true}})",
      R"({"jsonrpc":"1.0","id":7,"method":"ping"})",
  };
  for (const char* text : cases) {
    const json::value v = json::parse(text);
    auto copied = jsonrpc::decode(v);
    auto moved = jsonrpc::decode(json::parse(text));
    BOOST_TEST_REQUIRE(copied.has_value() == moved.has_value(), text);
    BOOST_TEST(v == json::parse(text), "the copying decoder left its input alone: " << text);
    if (!copied) {
      BOOST_TEST((copied.error().err.code == moved.error().err.code), text);
      BOOST_TEST((copied.error().id == moved.error().id), text);
      continue;
    }
    BOOST_TEST(copied->method == moved->method, text);
    BOOST_TEST((copied->id == moved->id), text);
    BOOST_TEST(copied->params == moved->params, text);
    BOOST_TEST((copied->result_or_error == moved->result_or_error), text);
  }
}

// The session writes results with encode_result_text: the same bytes as the envelope object.
BOOST_AUTO_TEST_CASE(encode_result_text_is_serialize_of_encode_result) {
  const json::value results[] = {
      json::object{},
      json::parse(R"({"content":[{"type":"text","text":"h\u00e9\"llo\n"}],"isError":true})"),
      json::value(nullptr),
      json::object{{"blob", std::string(5000, 'z')}},  // longer than the serializer's buffer
  };
  const client_id ids[] = {client_id{json::value(7)}, client_id{json::value("we\"ird\\id")},
                           client_id{json::value(std::uint64_t{18446744073709551615u})},
                           client_id{json::value(-3)}};
  for (const auto& id : ids) {
    for (const auto& r : results) {
      BOOST_TEST(jsonrpc::encode_result_text(id, r) == json::serialize(jsonrpc::encode_result(id, r)));
    }
  }
}
