// Both MCP eras on the real exai-gateway, over stdio and over WebSocket: every 2026-07-28 error
// (-32602 missing `_meta` fields, -32022 unsupported version, -32021 missing client capability,
// -32601 for initialize and ping on a modern request), server/discover and the modern result
// shapes, subscriptions/listen (acknowledged, cancelled without a response, ended by the end of
// input), and a legacy initialize on the same connection keeping its own lifecycle and shapes.
// (The HTTP binding, with -32020 and the statuses, is tests/interop/tests/modern_http.test.mjs.)
#define BOOST_TEST_MODULE gateway_era_integration
#include "gateway_process.hpp"

#include <functional>

using namespace exai::test;

namespace {

const std::vector<std::string> tools = {"--tools", "core,diagnostics,conformance"};

json::object meta(json::value version = "2026-07-28", json::value caps = json::object()) {
  json::object m;
  if (!version.is_null()) m["io.modelcontextprotocol/protocolVersion"] = std::move(version);
  if (!caps.is_null()) m["io.modelcontextprotocol/clientCapabilities"] = std::move(caps);
  m["io.modelcontextprotocol/clientInfo"] = json::object{{"name", "era-test"}, {"version", "1"}};
  return m;
}

json::object modern(json::value id, std::string_view method, json::object params = {},
                    json::object m = meta()) {
  params["_meta"] = std::move(m);
  return rpc(std::move(id), method, std::move(params));
}

std::int64_t code_of(const json::value& r) { return r.at("error").at("code").as_int64(); }

// One connection, whatever carries it: send a message, read the next one.
struct connection {
  std::function<void(const json::value&)> send;
  std::function<json::value()> next;

  json::value ask(const json::value& v) {
    send(v);
    return next();
  }
};

// The checks, the same on every transport.
void check_both_eras(connection& c) {
  // server/discover: what the modern era serves, and who serves it.
  auto d = c.ask(modern(1, "server/discover"));
  BOOST_TEST(d.at("id").as_int64() == 1);
  const auto& dr = d.at("result");
  BOOST_TEST(dr.at("resultType").as_string() == "complete");
  BOOST_TEST(dr.at("supportedVersions").at(0).as_string() == "2026-07-28");
  BOOST_TEST(dr.at("capabilities").as_object().contains("tools"));
  BOOST_TEST(dr.at("ttlMs").as_int64() >= 0);
  BOOST_TEST(dr.at("cacheScope").as_string() == "public");
  BOOST_TEST(dr.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name").as_string() ==
             "exai-gateway");

  // -32602: `_meta` missing, or either required field missing (server/discover is modern-only).
  auto no_meta = c.ask(rpc("a", "server/discover"));
  BOOST_TEST(no_meta.at("id").as_string() == "a");
  BOOST_TEST(code_of(no_meta) == -32602);
  BOOST_TEST(code_of(c.ask(modern(2, "tools/list", {}, meta(nullptr)))) == -32602);
  BOOST_TEST(code_of(c.ask(modern(3, "tools/list", {}, meta("2026-07-28", nullptr)))) == -32602);

  // -32022 with the supported list and the requested version echoed.
  auto old = c.ask(modern(4, "tools/list", {}, meta("1999-01-01")));
  BOOST_TEST(code_of(old) == -32022);
  BOOST_TEST(old.at("error").at("data").at("requested").as_string() == "1999-01-01");
  BOOST_TEST(old.at("error").at("data").at("supported").at(0).as_string() == "2026-07-28");

  // -32601: the handshake and ping do not exist in the modern era.
  json::object init_params{{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}};
  BOOST_TEST(code_of(c.ask(modern(5, "initialize", init_params))) == -32601);
  BOOST_TEST(code_of(c.ask(modern(6, "ping"))) == -32601);
  BOOST_TEST(code_of(c.ask(modern(7, "logging/setLevel", {{"level", "info"}}))) == -32601);

  // -32021: the tool needs sampling, which the request did not declare; declared, it runs.
  json::object cap_call{{"name", "test_missing_capability"}, {"arguments", json::object()}};
  auto missing = c.ask(modern(8, "tools/call", cap_call));
  BOOST_TEST(code_of(missing) == -32021);
  BOOST_TEST(missing.at("error").at("data").at("requiredCapabilities").at("sampling").is_object());
  auto declared = c.ask(
      modern(9, "tools/call", cap_call, meta("2026-07-28", json::object{{"sampling", json::object()}})));
  BOOST_TEST(declared.at("result").at("resultType").as_string() == "complete");

  // Modern results: resultType everywhere, cache hints on tools/list.
  auto list = c.ask(modern(10, "tools/list"));
  BOOST_TEST(list.at("result").at("resultType").as_string() == "complete");
  BOOST_TEST(list.at("result").at("ttlMs").as_int64() >= 0);
  BOOST_TEST(list.at("result").at("cacheScope").as_string() == "public");
  auto echo = c.ask(modern(11, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "m"}}}}));
  BOOST_TEST(echo.at("result").at("resultType").as_string() == "complete");
  BOOST_TEST(result_text(echo) == "m");

  // initialize selects the legacy era for this connection; legacy results keep their shape, and
  // modern requests are still served statelessly beside it.
  json::object legacy_init{{"protocolVersion", "2025-06-18"},
                           {"capabilities", json::object()},
                           {"clientInfo", json::object{{"name", "era-test"}, {"version", "1"}}}};
  auto init = c.ask(rpc(12, "initialize", legacy_init));
  BOOST_TEST(init.at("result").at("protocolVersion").as_string() == "2025-06-18");
  c.send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  auto legacy_list = c.ask(rpc(13, "tools/list"));
  BOOST_TEST(!legacy_list.at("result").as_object().contains("resultType"));
  BOOST_TEST(!legacy_list.at("result").as_object().contains("ttlMs"));
  BOOST_TEST(c.ask(rpc(14, "ping")).at("result").as_object().empty());
  auto again = c.ask(modern(15, "tools/list"));
  BOOST_TEST(again.at("result").at("resultType").as_string() == "complete");
}

// subscriptions/listen: declared by server/discover, acknowledged with the subscription id and
// the agreed subset, ended by notifications/cancelled with no response. Leaves the listen "L2"
// open for the caller to see how the end of the connection ends it.
void check_listen(connection& c) {
  auto d = c.ask(modern(20, "server/discover"));
  BOOST_TEST(d.at("result").at("capabilities").at("tools").at("listChanged").as_bool());
  auto ack = c.ask(modern("L1", "subscriptions/listen",
                          {{"notifications", {{"toolsListChanged", true}, {"promptsListChanged", true}}}}));
  BOOST_TEST(ack.at("method").as_string() == "notifications/subscriptions/acknowledged");
  BOOST_TEST(ack.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string() == "L1");
  BOOST_TEST(ack.at("params").at("notifications").as_object() ==
             (json::object{{"toolsListChanged", true}}));
  c.send(json::object{{"jsonrpc", "2.0"},
                      {"method", "notifications/cancelled"},
                      {"params", {{"requestId", "L1"}}}});
  // The next message is this request's answer: none came for the cancelled listen.
  auto after = c.ask(modern(21, "tools/list"));
  BOOST_TEST(after.at("id").as_int64() == 21);
  auto ack2 = c.ask(modern("L2", "subscriptions/listen", {{"notifications", json::object()}}));
  BOOST_TEST(ack2.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string() == "L2");
  BOOST_TEST(ack2.at("params").at("notifications").as_object().empty());
}

}  // namespace

BOOST_AUTO_TEST_CASE(stdio_serves_both_eras) {
  std::vector<std::string> argv{gateway_bin(), "--stdio"};
  argv.insert(argv.end(), tools.begin(), tools.end());
  auto proc = child_process::start(argv, {}, /*pipe_stdio=*/true);
  connection c;
  c.send = [&](const json::value& v) { proc.write_stdin(json::serialize(v) + "\n"); };
  c.next = [&] {
    auto line = proc.read_stdout_line(10s);
    BOOST_REQUIRE_MESSAGE(line, "no stdout line from the gateway; stderr:\n" + proc.stderr_text());
    return json::parse(*line);
  };
  check_both_eras(c);
  check_listen(c);
  // End of input ends the open listen with its result, at once rather than after the grace.
  proc.close_stdin();
  auto end = c.next();
  BOOST_TEST(end.at("id").as_string() == "L2");
  BOOST_TEST(end.at("result").at("resultType").as_string() == "complete");
  auto rc = proc.wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
}

BOOST_AUTO_TEST_CASE(websocket_serves_both_eras) {
  ws_gateway g(tools);
  ws_options o;
  o.subprotocol = "mcp";
  ws_client ws("127.0.0.1", g.ws_port(), o);
  connection c;
  c.send = [&](const json::value& v) { ws.send_json(v); };
  c.next = [&] { return ws.read_json(); };
  check_both_eras(c);
  check_listen(c);
}

// An older legacy revision gets its own shapes: 2024-11-05 has no structuredContent, no tool
// titles or outputSchema, no audio content.
BOOST_AUTO_TEST_CASE(oldest_legacy_revision_gets_its_own_shapes) {
  ws_gateway g(tools);
  ws_client ws("127.0.0.1", g.ws_port());
  json::object init{{"protocolVersion", "2024-11-05"},
                    {"capabilities", json::object()},
                    {"clientInfo", json::object{{"name", "old"}, {"version", "1"}}}};
  ws.send_json(rpc(1, "initialize", init));
  BOOST_TEST(ws.read_json().at("result").at("protocolVersion").as_string() == "2024-11-05");
  ws.send_json(rpc(2, "tools/list"));
  auto list = ws.read_json();
  for (const auto& t : list.at("result").at("tools").as_array()) {
    BOOST_TEST(!t.as_object().contains("title"));
    BOOST_TEST(!t.as_object().contains("outputSchema"));
    BOOST_TEST(!t.as_object().contains("annotations"));
  }
  ws.send_json(tool_call(3, "version", {}));
  BOOST_TEST(!ws.read_json().at("result").as_object().contains("structuredContent"));
  ws.send_json(tool_call(4, "test_audio_content", {}));
  auto audio = ws.read_json();
  BOOST_TEST(audio.at("result").at("content").at(0).at("type").as_string() == "text");

  // The same gateway serves a 2025-06-18 client the audio block and structuredContent.
  ws_client current("127.0.0.1", g.ws_port());
  init["protocolVersion"] = "2025-06-18";
  current.send_json(rpc(1, "initialize", init));
  current.read_json();
  current.send_json(tool_call(2, "test_audio_content", {}));
  BOOST_TEST(current.read_json().at("result").at("content").at(0).at("type").as_string() == "audio");
  current.send_json(tool_call(3, "version", {}));
  BOOST_TEST(current.read_json().at("result").as_object().contains("structuredContent"));
}

// Tools' log lines (the conformance fixture sends three at info): a legacy connection gets them
// once it set a level at or below info, a modern request only when its own `_meta` asks.
BOOST_AUTO_TEST_CASE(log_lines_reach_only_clients_that_asked) {
  ws_gateway g(tools);
  ws_client ws("127.0.0.1", g.ws_port());
  auto call = [&](json::value id, json::object m = {}) {
    json::object p{{"name", "test_tool_with_logging"}, {"arguments", json::object()}};
    if (!m.empty()) p["_meta"] = std::move(m);
    ws.send_json(rpc(std::move(id), "tools/call", std::move(p)));
    // The notifications come before the response; count them until it arrives.
    std::vector<json::value> logs;
    for (;;) {
      auto msg = ws.read_json();
      if (msg.as_object().contains("id")) {
        BOOST_TEST(!msg.as_object().contains("error"));
        return logs;
      }
      if (msg.at("method").as_string() == "notifications/message") logs.push_back(msg);
    }
  };
  json::object init{{"protocolVersion", "2025-11-25"},
                    {"capabilities", json::object()},
                    {"clientInfo", json::object{{"name", "log"}, {"version", "1"}}}};
  ws.send_json(rpc(1, "initialize", init));
  BOOST_TEST(ws.read_json().at("result").at("capabilities").as_object().contains("logging"));

  BOOST_TEST(call(2).empty());  // no level set yet
  ws.send_json(rpc(3, "logging/setLevel", {{"level", "nonsense"}}));
  BOOST_TEST(code_of(ws.read_json()) == -32602);
  ws.send_json(rpc(4, "logging/setLevel", {{"level", "debug"}}));
  BOOST_TEST(ws.read_json().at("result").as_object().empty());
  auto logs = call(5);
  BOOST_REQUIRE(logs.size() == 3u);
  BOOST_TEST(logs[0].at("params").at("level").as_string() == "info");
  BOOST_TEST(logs[0].at("params").at("data").as_string() == "Tool execution started");
  BOOST_TEST(logs[2].at("params").at("data").as_string() == "Tool execution completed");
  ws.send_json(rpc(6, "logging/setLevel", {{"level", "error"}}));
  ws.read_json();
  BOOST_TEST(call(7).empty());  // info is below error

  // Modern requests ignore the connection's level: their own `_meta` decides.
  ws.send_json(rpc(8, "logging/setLevel", {{"level", "debug"}}));
  ws.read_json();
  BOOST_TEST(call(9, meta()).empty());
  auto with_level = meta();
  with_level["io.modelcontextprotocol/logLevel"] = "info";
  BOOST_TEST(call(10, with_level).size() == 3u);
  with_level["io.modelcontextprotocol/logLevel"] = "warning";
  BOOST_TEST(call(11, with_level).empty());
}
