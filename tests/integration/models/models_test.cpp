// chat, challenge, listmodels, status and version end to end (issue 13): through exai-daemon (op
// clients) and through exai-gateway (MCP over stdio and WebSocket, op over WebSocket; embedded and
// in front of a daemon), against the fake provider over TLS. The JSON the fake recorded is
// compared with golden files; progress is seen while the answer streams; a cancel closes the
// provider stream (the fake records the close).
#define BOOST_TEST_MODULE models_integration
#include "models_fixture.hpp"

#include <algorithm>
#include <set>

using namespace exai::test;
using namespace exai::test::models;

namespace {

std::string str(const json::value& v) { return std::string(v.as_string()); }
bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

json::object args(std::string_view text) { return json::parse(text).as_object(); }

// The bodies of the chat requests the fake received, in order.
std::vector<json::object> chat_bodies(const provider_env& pe) {
  std::vector<json::object> out;
  for (auto& r : pe.fp.requests())
    if (str(r.at("path")).ends_with("/chat/completions") || str(r.at("path")).ends_with("/messages"))
      out.push_back(r.at("body").as_object());
  return out;
}

std::set<std::string> tool_names(const json::array& tools) {
  std::set<std::string> out;
  for (const auto& t : tools) out.insert(str(t.at("name")));
  return out;
}

// A slow stream: 200 chunks, 20 ms apart (about 4 s), so a cancel lands mid-stream.
fake_provider_options slow_provider() {
  fake_provider_options o;
  o.args = {"--chunks", "200", "--chunk-interval-ms", "20"};
  return o;
}

}  // namespace

// --- exai-daemon, op clients -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(daemon_chat_sends_what_the_golden_files_say_and_continues_the_thread) {
  provider_env pe;
  const auto file = pe.write("design.md", "# Design\nOne writer per stream.\n");
  auto d = start_daemon(pe.env());
  auto c = op_session(d.port, /*extensions=*/true);

  json::object a1;
  // Longer than the 200 characters the fake quotes back, so its answer (replayed in the second
  // request) never reaches the temporary folder's name.
  a1["prompt"] =
      "Is one writer per stream enough? Each session owns a queue of replies and one coroutine drains it "
      "into the socket; readers never write. Progress notifications share that queue, and a slow client "
      "makes the queue grow until reading pauses.";
  a1["model"] = "glm-4.6";
  a1["thinking_mode"] = "high";
  a1["temperature"] = 0.3;
  a1["files"] = json::array{json::value(file)};
  c->send_json(op_call("c1", "chat", a1));
  auto r1 = op_until_result(*c, "c1");
  auto d1 = op_doc(r1);
  BOOST_TEST(str(d1.at("status")) == "continuation_available");
  BOOST_TEST(has(str(d1.at("content")), "[fake glm-4.6]"), str(d1.at("content")));
  BOOST_TEST(str(d1.at("metadata").at("provider_used")) == "glm");
  BOOST_TEST(d1.at("metadata").at("usage").at("output_tokens").to_number<int>() > 0);
  BOOST_TEST(!r1.progress.empty());  // the stream's deltas, as numeric progress
  BOOST_TEST(r1.progress.front().contains("progress"));
  const auto id = str(d1.at("continuation_offer").at("continuation_id"));

  json::object a2;
  a2["prompt"] = "And with two sessions?";
  a2["continuation_id"] = id;
  a2["use_websearch"] = false;
  a2["files"] = json::array{json::value(file)};  // already sent in this thread: not again
  c->send_json(op_call("c2", "chat", a2));
  auto d2 = op_doc(op_until_result(*c, "c2"));
  BOOST_TEST(str(d2.at("metadata").at("model_used")) == "glm-4.6");  // the thread's model
  BOOST_TEST(d2.at("continuation_offer").at("remaining_turns").to_number<int>() == 18);

  auto bodies = chat_bodies(pe);
  BOOST_REQUIRE(bodies.size() == 2u);
  const auto root = std::filesystem::canonical(pe.root.path).string();
  check_golden("chat_first_request.json", bodies[0], root);
  check_golden("chat_continued_request.json", bodies[1], root);
  // The key went in a header only, never into a body or a reply.
  for (const auto& b : bodies) BOOST_TEST(!has(json::serialize(b), "test-glm-key"));
  BOOST_TEST(!has(json::serialize(d1), "test-glm-key"));
}

BOOST_AUTO_TEST_CASE(daemon_cancel_closes_the_provider_stream) {
  provider_env pe(slow_provider());
  auto d = start_daemon(pe.env());
  auto c = op_session(d.port, /*extensions=*/true);
  c->send_json(op_call("slow", "chat", args(R"({"prompt":"write a long answer"})")));
  // Wait until the answer streams, then cancel.
  for (;;) {
    auto m = c->read_json(20s).as_object();
    if (m.at("op") == "progress") break;
    BOOST_FAIL("expected progress before anything else, got " << json::serialize(m));
  }
  json::object cancel;
  cancel["op"] = "cancel";
  cancel["request_id"] = "slow";
  c->send_json(cancel);
  for (;;) {
    auto m = c->read_json(20s).as_object();
    if (m.at("op") == "progress") continue;
    BOOST_TEST(str(m.at("op")) == "cancelled");
    break;
  }
  // The provider saw its client close the stream before the answer was complete.
  BOOST_TEST(pe.wait_record("client_closed", [](const json::object& r) { return !r.at("complete").as_bool(); }));
  // The daemon is fine afterwards.
  c->send_json(op_call("after", "challenge", args(R"({"prompt":"still here?"})")));
  BOOST_TEST(str(op_doc(op_until_result(*c, "after")).at("status")) == "success");
}

BOOST_AUTO_TEST_CASE(daemon_core_tools_for_a_reference_style_op_client) {
  provider_env pe;
  auto d = start_daemon(pe.env());
  auto c = op_session(d.port, /*extensions=*/false);  // no extensions: text heartbeat, stream_chunk
  json::object lt;
  lt["op"] = "list_tools";
  lt["request_id"] = "l";
  c->send_json(lt);
  auto list = c->read_json(10s).as_object();
  const auto names = tool_names(list.at("tools").as_array());
  for (const char* want : {"status", "version", "listmodels", "chat", "challenge"})
    BOOST_TEST(names.count(want) == 1u, want);
  BOOST_TEST(names.count("echo") == 0u);  // diagnostics are not a default profile

  c->send_json(op_call("m", "listmodels", {}));
  auto lm = op_doc(op_until_result(*c, "m"));
  BOOST_TEST(str(lm.at("status")) == "success");
  BOOST_TEST(has(str(lm.at("content")), "`glm-4.5-flash`"));
  BOOST_TEST(lm.at("metadata").at("configured_providers").to_number<int>() == 2);
  c->send_json(op_call("v", "version", {}));
  BOOST_TEST(has(str(op_doc(op_until_result(*c, "v")).at("content")), "exai-daemon"));
  c->send_json(op_call("s", "status", {}));
  auto st = op_doc(op_until_result(*c, "s"));
  BOOST_TEST(st.at("sessions").to_number<int>() == 1);
  BOOST_TEST(st.at("providers_configured").as_array().size() == 2u);
  BOOST_TEST(!has(json::serialize(st), "test-kimi-key"));
  // stream:true: the answer also arrives as stream_chunk messages (the reference's streaming).
  c->send_json(op_call("st", "chat", args(R"({"prompt":"stream it","stream":true})")));
  auto streamed = op_until_result(*c, "st");
  std::string joined;
  for (const auto& ch : streamed.chunks) joined += str(ch.at("chunk"));
  BOOST_TEST(!streamed.chunks.empty());
  BOOST_TEST(str(op_doc(streamed).at("content")).starts_with(joined), joined);
  c->send_json(op_call("x", "challenge", args(R"({"prompt":"tabs beat spaces"})")));
  auto ch = op_doc(op_until_result(*c, "x"));
  BOOST_TEST(str(json::parse(str(ch.at("content"))).at("original_statement")) == "tabs beat spaces");
}

BOOST_AUTO_TEST_CASE(without_keys_the_tools_are_listed_and_chat_says_what_to_set) {
  auto d = start_daemon(no_keys_env());
  auto c = op_session(d.port, true);
  c->send_json(op_call("c", "chat", args(R"({"prompt":"hello"})")));
  auto r = op_until_result(*c, "c");
  BOOST_TEST(r.reply.at("is_error").as_bool());
  auto doc = op_doc(r);
  BOOST_TEST(str(doc.at("status")) == "error");
  BOOST_TEST(has(str(doc.at("content")), "GLM_API_KEY"), str(doc.at("content")));
  c->send_json(op_call("m", "listmodels", {}));
  auto lm = op_until_result(*c, "m");
  BOOST_TEST(has(str(lm.reply.at("structured").at("hint")), "KIMI_API_KEY"));
}

// --- exai-gateway, embedded tools ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gateway_stdio_chat_streams_progress_and_answers) {
  provider_env pe;
  stdio_mcp g(pe.env());
  g.open();
  g.send(rpc(1, "tools/list"));
  auto list = g.next();
  const auto names = tool_names(list.at("result").at("tools").as_array());
  for (const char* want : {"status", "version", "listmodels", "chat", "challenge"})
    BOOST_TEST(names.count(want) == 1u, want);

  auto r = g.call(2, "chat", args(R"({"prompt":"Summarise the plan.","use_websearch":false})"), json::value("tok-1"));
  auto doc = mcp_doc(r.response);
  BOOST_TEST(str(doc.at("status")) == "continuation_available");
  BOOST_TEST(str(doc.at("metadata").at("model_used")) == "glm-4.5-flash");
  BOOST_REQUIRE(!r.progress.empty());
  BOOST_TEST(r.progress.front().at("progressToken") == json::value("tok-1"));
  BOOST_TEST(has(str(r.progress.back().at("message")), "glm-4.5-flash is answering"), str(r.progress.back().at("message")));

  auto ch = mcp_doc(g.call(3, "challenge", args(R"({"prompt":"It cannot deadlock."})")).response);
  BOOST_TEST(str(ch.at("content_type")) == "json");
  auto lm = g.call(4, "listmodels", {}).response;
  BOOST_TEST(lm.at("result").at("structuredContent").at("models").as_array().size() > 5u);
  auto v = mcp_doc(g.call(5, "version", {}).response);
  BOOST_TEST(has(str(v.at("content")), "exai-gateway"));
  auto st = g.call(6, "status", {}).response;
  const auto& sc = st.at("result").at("structuredContent").as_object();
  BOOST_TEST(str(sc.at("server")) == "exai-gateway");
  BOOST_TEST(sc.at("sessions").to_number<int>() == 1);  // the gateway's own stdio session
}

BOOST_AUTO_TEST_CASE(gateway_websocket_mcp_and_op_clients) {
  provider_env pe;
  auto gw = start_ws_gateway(pe.env());
  ws_mcp m(gw.port);
  m.open();
  auto op = op_session(gw.port, /*extensions=*/false);

  auto r = m.call(1, "chat", args(R"({"prompt":"first"})"), json::value(7));
  auto doc = mcp_doc(r.response);
  BOOST_TEST(!r.progress.empty());
  BOOST_TEST(r.progress.front().at("progressToken") == json::value(7));
  // The op client continues the MCP client's thread (threads are not tied to a session).
  json::object a;
  a["prompt"] = "second";
  a["continuation_id"] = doc.at("continuation_offer").at("continuation_id");
  op->send_json(op_call("o1", "chat", a));
  auto orr = op_until_result(*op, "o1");
  BOOST_TEST(!orr.progress.empty());
  BOOST_TEST(op_doc(orr).at("continuation_offer").at("remaining_turns").to_number<int>() == 18);
  auto bodies = chat_bodies(pe);
  BOOST_REQUIRE(bodies.size() == 2u);
  BOOST_TEST(bodies[1].at("messages").as_array().size() == 4u);  // system, first, answer, second

  // status describes the gateway and counts its two sessions (issue 20).
  op->send_json(op_call("s", "status", {}));
  auto st = op_until_result(*op, "s").reply;
  BOOST_TEST(str(st.at("structured").at("server")) == "exai-gateway");
  BOOST_TEST(st.at("structured").at("sessions").to_number<int>() == 2);
  const auto text = str(st.at("outputs").at(0).at("text"));
  BOOST_TEST(!has(text, "E+"), text);  // no exponent notation
  op->send_json(op_call("v", "version", {}));
  BOOST_TEST(has(str(op_doc(op_until_result(*op, "v")).at("content")), "exai-gateway"));
  op->send_json(op_call("l", "listmodels", {}));
  BOOST_TEST(str(op_doc(op_until_result(*op, "l")).at("status")) == "success");
  auto ch = mcp_doc(m.call(2, "challenge", args(R"({"prompt":"x"})")).response);
  BOOST_TEST(str(ch.at("status")) == "success");
}

BOOST_AUTO_TEST_CASE(gateway_mcp_cancel_closes_the_provider_stream) {
  provider_env pe(slow_provider());
  auto gw = start_ws_gateway(pe.env());
  ws_mcp m(gw.port);
  m.open();
  m.send(mcp_call(9, "chat", args(R"({"prompt":"long"})"), json::value("p")));
  auto first = m.next();
  BOOST_REQUIRE_MESSAGE(first.contains("method") && first.at("method") == "notifications/progress",
                        json::serialize(first));
  m.send(mcp_cancel(9));
  BOOST_TEST(pe.wait_record("client_closed", [](const json::object& r) { return !r.at("complete").as_bool(); }));
  // No response for the cancelled call; the session still answers.
  m.send(rpc(10, "ping"));
  for (;;) {
    auto msg = m.next();
    if (msg.contains("method")) continue;  // a progress notification already on its way
    BOOST_TEST(msg.at("id") == json::value(10));
    break;
  }
}

// --- exai-gateway in front of exai-daemon ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(gateway_through_daemon_chat_and_progress) {
  provider_env pe;
  auto d = start_daemon(pe.env());
  stdio_mcp g(no_keys_env(), {"--upstream", "ws://127.0.0.1:" + std::to_string(d.port)});
  g.open();
  auto r = g.call(1, "chat", args(R"({"prompt":"through the pool"})"), json::value("via-daemon"));
  auto doc = mcp_doc(r.response);
  BOOST_TEST(str(doc.at("status")) == "continuation_available");
  BOOST_TEST(str(doc.at("metadata").at("provider_used")) == "glm");  // the daemon's keys, not the gateway's
  BOOST_TEST(!r.progress.empty());
  auto st = g.call(2, "status", {}).response;
  BOOST_TEST(str(st.at("result").at("structuredContent").at("server")) == "exai-daemon");
}

BOOST_AUTO_TEST_CASE(print_config_never_shows_a_provider_key) {
  auto p = child_process::start({program("EXAI_GATEWAY_BIN"), "--print-config"},
                                {"GLM_API_KEY=sk-print-config-secret", "KIMI_API_KEY=sk-other-secret"});
  BOOST_REQUIRE(p.wait_exit(20s) == 0);
  const auto out = p.stderr_text();  // stdout and stderr are captured together
  BOOST_TEST(has(out, "\"profiles\""), out);
  BOOST_TEST(!has(out, "sk-print-config-secret"));
  BOOST_TEST(!has(out, "sk-other-secret"));
}
