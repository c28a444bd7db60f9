// exai-daemon over real sockets: every op, errors that carry op and request_id, multiplexed
// (out of order) and serial (in order) replies, real cancel, progress, load over several
// connections, and --compat reference (exai-op-protocol.md sections 3-4, issue 3).
#define BOOST_TEST_MODULE daemon_integration_ops
#include "daemon_fixture.hpp"

#include <map>
#include <set>

using namespace exai::test;
using namespace exai::test::daemon;

namespace {

json::object status_of(ws_client& c, const std::string& id) {
  c.send_json(call_msg(id, "status", {}));
  auto m = next_non_progress(c);
  BOOST_REQUIRE(m.at("request_id") == json::value(id));
  return m.at("structured").as_object();
}

}  // namespace

BOOST_AUTO_TEST_CASE(list_tools_ping_and_calls) {
  daemon_process d;
  auto c = open_session(d);
  c->send_json(simple("list_tools", "l1"));
  auto l = c->read_json().as_object();
  BOOST_TEST(l.at("op") == "list_tools_res");
  BOOST_TEST(l.at("request_id") == "l1");
  BOOST_TEST(l.at("timestamp").is_number());
  std::set<std::string> names;
  for (const auto& t : l.at("tools").as_array()) {
    names.insert(std::string(t.as_object().at("name").as_string()));
    BOOST_TEST(t.as_object().at("inputSchema").is_object());
  }
  BOOST_TEST(names == (std::set<std::string>{"status", "version", "listmodels", "echo", "delay", "fail", "blob"}));

  c->send_json(simple("ping", "p1"));
  auto p = c->read_json().as_object();
  BOOST_TEST(p.at("op") == "pong");
  BOOST_TEST(p.at("request_id") == "p1");

  c->send_json(echo_call("e1", "hello ✓"));
  auto e = next_non_progress(*c);
  BOOST_TEST(e.at("op") == "call_tool_res");
  BOOST_TEST(e.at("request_id") == "e1");
  BOOST_TEST(text_of(e) == "hello ✓");
  BOOST_TEST(!e.contains("is_error"));

  // The older tool_call spelling, and a suffixed name as MCP clients alias it.
  json::object legacy = {{"op", "tool_call"}, {"request_id", "t1"}, {"tool", {{"name", "echo_EXAI-WS"}}},
                         {"arguments", {{"text", "old"}}}};
  c->send_json(legacy);
  auto t = next_non_progress(*c);
  BOOST_TEST(t.at("op") == "call_tool_res");
  BOOST_TEST(t.at("request_id") == "t1");
  BOOST_TEST(text_of(t) == "old");

  c->send_json(simple("cancel", "nothing-running"));
  auto k = c->read_json().as_object();
  BOOST_TEST(k.at("op") == "cancelled");
  BOOST_TEST(k.at("request_id") == "nothing-running");
}

BOOST_AUTO_TEST_CASE(core_tools_answer) {
  daemon_process d({"--tools", "core"});
  auto c = open_session(d);
  c->send_json(call_msg("v", "version", {}));
  auto v = next_non_progress(*c);
  BOOST_TEST(json::parse(text_of(v)).at("content").as_string().starts_with("# exai-daemon 0.1.0"));
  BOOST_TEST(v.at("structured").as_object().at("version") == "0.1.0");
  c->send_json(call_msg("m", "listmodels", {}));
  auto m = next_non_progress(*c);
  BOOST_TEST(m.at("structured").as_object().at("models").as_array().empty());
  BOOST_TEST(m.at("structured").as_object().contains("hint"));
  auto st = status_of(*c, "s");
  BOOST_TEST(st.at("sessions") == 1);
  BOOST_TEST(st.at("tools").as_array().size() == 3u);
  // diagnostics are off without --tools diagnostics
  c->send_json(echo_call("e", "x"));
  auto e = next_non_progress(*c);
  BOOST_TEST(e.at("error").as_object().at("code") == "TOOL_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(listmodels_shows_providers_with_a_key_and_never_the_key) {
  daemon_process d({"--tools", "core"}, {"GLM_API_KEY=sk-test-secret-123", "GLM_API_URL=http://127.0.0.1:9/v4"});
  auto c = open_session(d);
  c->send_json(call_msg("m", "listmodels", {}));
  auto res = next_non_progress(*c);
  auto m = res.at("structured").as_object();
  BOOST_TEST(m.at("models").as_array().size() == 5u);  // the GLM models of the catalogue
  BOOST_TEST(m.at("providers").as_array().at(0).as_object().at("name") == "glm");
  BOOST_TEST(m.at("providers").as_array().at(0).as_object().at("configured") == true);
  BOOST_TEST(json::serialize(res).find("sk-test-secret-123") == std::string::npos);
  auto st = status_of(*c, "s");
  BOOST_TEST(json::serialize(st).find("sk-test-secret-123") == std::string::npos);
  BOOST_TEST(st.at("providers_configured").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(errors_carry_op_and_request_id) {
  daemon_process d;
  auto c = open_session(d);

  c->send("{this is not json");
  auto bad = c->read_json().as_object();
  BOOST_TEST(bad.at("op") == "error");
  BOOST_TEST(bad.at("request_id").is_null());
  BOOST_TEST(bad.at("error").as_object().at("code") == "INVALID_REQUEST");

  c->send_json(simple("frobnicate", "u1"));
  auto unknown_op = c->read_json().as_object();
  BOOST_TEST(unknown_op.at("op") == "error");
  BOOST_TEST(unknown_op.at("request_id") == "u1");
  BOOST_TEST(unknown_op.at("error").as_object().at("code") == "NOT_FOUND");

  c->send_json(call_msg("u2", "no_such_tool", {}));
  auto unknown_tool = c->read_json().as_object();
  BOOST_TEST(unknown_tool.at("op") == "call_tool_res");
  BOOST_TEST(unknown_tool.at("request_id") == "u2");
  BOOST_TEST(unknown_tool.at("error").as_object().at("code") == "TOOL_NOT_FOUND");
  BOOST_TEST(unknown_tool.at("error").as_object().at("message") == "Tool not found: no_such_tool");

  json::object wrong = {{"text", 42}};
  c->send_json(call_msg("u3", "echo", wrong));
  auto invalid = c->read_json().as_object();
  BOOST_TEST(invalid.at("op") == "call_tool_res");
  BOOST_TEST(invalid.at("request_id") == "u3");
  BOOST_TEST(invalid.at("error").as_object().at("code") == "VALIDATION_ERROR");
  BOOST_TEST(invalid.at("error").as_object().at("message") == "arguments.text: expected string, got integer");

  c->send_json(call_msg("u4", "delay", {}));
  auto missing = c->read_json().as_object();
  BOOST_TEST(missing.at("error").as_object().at("message") == "arguments: missing required property 'ms'");

  json::object no_id = {{"op", "call_tool"}, {"name", "echo"}, {"arguments", {{"text", "x"}}}};
  c->send_json(no_id);
  auto idless = c->read_json().as_object();
  BOOST_TEST(idless.at("op") == "call_tool_res");
  BOOST_TEST(idless.at("request_id").is_null());
  BOOST_TEST(idless.at("error").as_object().at("code") == "INVALID_REQUEST");

  c->send_json(call_msg("u5", "fail", {{"message", "it broke"}}));
  auto failed = next_non_progress(*c);
  BOOST_TEST(failed.at("request_id") == "u5");
  BOOST_TEST(failed.at("is_error") == true);
  BOOST_TEST(text_of(failed) == "it broke");

  // None of that poisoned the connection.
  c->send_json(echo_call("after", "fine"));
  BOOST_TEST(text_of(next_non_progress(*c)) == "fine");
}

BOOST_AUTO_TEST_CASE(reused_request_ids) {
  daemon_process d;
  // Serial: the same id, one after another, is simply answered twice.
  auto s = open_session(d);
  s->send_json(echo_call("same", "one"));
  s->send_json(echo_call("same", "two"));
  BOOST_TEST(text_of(next_non_progress(*s)) == "one");
  BOOST_TEST(text_of(next_non_progress(*s)) == "two");
  // After a failing call the id still works (reference hazard 2).
  s->send_json(call_msg("again", "no_such_tool", {}));
  BOOST_TEST(next_non_progress(*s).contains("error"));
  s->send_json(echo_call("again", "works"));
  BOOST_TEST(text_of(next_non_progress(*s)) == "works");

  // Multiplexed: a duplicate of a call in flight is refused; the original is unaffected.
  auto m = open_session(d, true, true);
  m->send_json(delay_call("dup", 300));
  m->send_json(echo_call("dup", "second"));
  auto first = next_non_progress(*m);
  BOOST_TEST(first.at("request_id") == "dup");
  BOOST_TEST(first.at("error").as_object().at("code") == "INVALID_REQUEST");
  auto second = next_non_progress(*m);
  BOOST_TEST(second.at("request_id") == "dup");
  BOOST_TEST(text_of(second) == "waited 300 ms");
  m->send_json(echo_call("dup", "reuse after completion"));
  BOOST_TEST(text_of(next_non_progress(*m)) == "reuse after completion");
}

BOOST_AUTO_TEST_CASE(multiplex_replies_out_of_order) {
  daemon_process d;
  auto c = open_session(d, true);
  c->send_json(delay_call("slow", 800));
  c->send_json(echo_call("fast", "quick"));
  c->send_json(simple("ping", "pp"));
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) order.emplace_back(next_non_progress(*c).at("request_id").as_string());
  BOOST_TEST(order.back() == "slow");
  BOOST_TEST((order[0] == "fast" || order[0] == "pp"));
}

BOOST_AUTO_TEST_CASE(serial_replies_in_request_order) {
  daemon_process d;
  auto c = open_session(d);  // no extensions
  c->send_json(delay_call("slow", 400));
  c->send_json(echo_call("fast", "quick"));
  c->send_json(simple("ping", "pp"));
  BOOST_TEST(next_non_progress(*c).at("request_id") == "slow");
  BOOST_TEST(next_non_progress(*c).at("request_id") == "fast");
  BOOST_TEST(next_non_progress(*c).at("request_id") == "pp");
}

BOOST_AUTO_TEST_CASE(cancel_stops_a_long_delay) {
  daemon_process d;
  auto c = open_session(d, true, true);
  c->send_json(delay_call("long", 60'000));
  std::this_thread::sleep_for(100ms);
  auto start = std::chrono::steady_clock::now();
  c->send_json(simple("cancel", "long"));
  auto k = next_non_progress(*c, 5s);
  BOOST_TEST(k.at("op") == "cancelled");
  BOOST_TEST(k.at("request_id") == "long");
  BOOST_TEST(elapsed_ms(start) < 2000);  // "promptly", with a wide margin for a busy machine
  // No call_tool_res for it may follow.
  auto deadline = std::chrono::steady_clock::now() + 700ms;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = c->read(100ms);
    if (m) BOOST_TEST_FAIL("unexpected message after cancelled: " << *m);
  }
  auto st = status_of(*c, "st");
  BOOST_TEST(st.at("cancelled") == 1);
  BOOST_TEST(st.at("in_flight") == 1);  // only the status call itself
  // The id is free again.
  c->send_json(echo_call("long", "reused"));
  BOOST_TEST(text_of(next_non_progress(*c)) == "reused");
}

BOOST_AUTO_TEST_CASE(cancel_in_serial_mode_with_the_extension) {
  daemon_process d;
  auto c = open_session(d, false, true);  // cancel without multiplex
  c->send_json(delay_call("running", 60'000));
  c->send_json(delay_call("queued", 60'000));
  c->send_json(echo_call("after", "next"));
  std::this_thread::sleep_for(100ms);
  c->send_json(simple("cancel", "queued"));
  c->send_json(simple("cancel", "running"));
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto m = next_non_progress(*c, 5s);
    seen.push_back(std::string(m.at("op").as_string()) + ":" + std::string(m.at("request_id").as_string()));
  }
  BOOST_TEST(seen == (std::vector<std::string>{"cancelled:queued", "cancelled:running", "call_tool_res:after"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cancel_without_the_extension_only_acknowledges) {
  daemon_process d;
  auto c = open_session(d, true, false);  // multiplex, no cancel
  c->send_json(delay_call("keeps", 300));
  c->send_json(simple("cancel", "keeps"));
  auto k = next_non_progress(*c);
  BOOST_TEST(k.at("op") == "cancelled");
  auto r = next_non_progress(*c);
  BOOST_TEST(r.at("op") == "call_tool_res");
  BOOST_TEST(r.at("request_id") == "keeps");
  BOOST_TEST(text_of(r) == "waited 300 ms");
}

BOOST_AUTO_TEST_CASE(numeric_progress_with_the_extension) {
  daemon_process d;
  auto c = open_session(d, true, true, true);
  c->send_json(delay_call("p", 300, 60));
  std::vector<double> values;
  json::object result;
  for (;;) {
    auto m = c->read_json().as_object();
    if (m.at("op") == "progress") {
      BOOST_TEST(m.at("request_id") == "p");
      values.push_back(m.at("progress").to_number<double>());
      BOOST_TEST(m.at("total").to_number<double>() == 300.0);
      continue;
    }
    result = m;
    break;
  }
  BOOST_TEST(result.at("op") == "call_tool_res");
  BOOST_TEST(values.size() == 4u);  // 60, 120, 180, 240
  for (std::size_t i = 1; i < values.size(); ++i) BOOST_TEST(values[i] > values[i - 1]);
}

BOOST_AUTO_TEST_CASE(text_heartbeat_without_the_extension) {
  auto cfg = write_config(R"({"timeouts":{"progress_interval_ms":100}})");
  daemon_process d({"--tools", "core,diagnostics", "--config", cfg});
  auto c = open_session(d);
  c->send_json(delay_call("h", 450, 50));
  int beats = 0;
  for (;;) {
    auto m = c->read_json().as_object();
    if (m.at("op") != "progress") {
      BOOST_TEST(m.at("op") == "call_tool_res");
      break;
    }
    BOOST_TEST(m.at("request_id") == "h");
    BOOST_TEST(m.at("message") == "Tool execution in progress...");
    BOOST_TEST(!m.contains("progress"));  // text only: the client did not ask for numbers
    ++beats;
  }
  BOOST_TEST(beats >= 2);
  // None after the result.
  BOOST_TEST(!c->read(300ms).has_value());
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(over_capacity_beyond_max_inflight) {
  auto cfg = write_config(R"({"limits":{"max_inflight":2}})");
  daemon_process d({"--tools", "core,diagnostics", "--config", cfg});
  auto c = open_session(d, true, true);
  c->send_json(delay_call("a", 400));
  c->send_json(delay_call("b", 400));
  c->send_json(delay_call("c", 400));
  auto first = next_non_progress(*c);
  BOOST_TEST(first.at("request_id") == "c");
  BOOST_TEST(first.at("error").as_object().at("code") == "OVER_CAPACITY");
  std::set<std::string> rest;
  for (int i = 0; i < 2; ++i) rest.insert(std::string(next_non_progress(*c).at("request_id").as_string()));
  BOOST_TEST(rest == (std::set<std::string>{"a", "b"}));
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(a_thousand_calls_on_ten_connections) {
  daemon_process d;
  constexpr int conns = 10, per_conn = 100;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < conns; ++i) clients.push_back(open_session(d, true, true));
  for (int i = 0; i < conns; ++i)
    for (int j = 0; j < per_conn; ++j) {
      auto id = "c" + std::to_string(i) + "-" + std::to_string(j);
      if (j % 10 == 0)
        clients[i]->send_json(delay_call(id, 20 + j % 7));
      else
        clients[i]->send_json(echo_call(id, "text of " + id));
    }
  int correct = 0;
  for (int i = 0; i < conns; ++i) {
    std::set<std::string> seen;
    for (int j = 0; j < per_conn; ++j) {
      auto m = next_non_progress(*clients[i], 30s);
      BOOST_REQUIRE(m.at("op") == "call_tool_res");
      std::string id(m.at("request_id").as_string());
      BOOST_TEST(seen.insert(id).second);
      BOOST_TEST(id.rfind("c" + std::to_string(i) + "-", 0) == 0);  // never another connection's
      const int j_id = std::stoi(id.substr(id.find('-') + 1));
      const auto want = j_id % 10 == 0 ? "waited " + std::to_string(20 + j_id % 7) + " ms" : "text of " + id;
      if (text_of(m) == want) ++correct;
    }
  }
  BOOST_TEST(correct == conns * per_conn);
  auto st = status_of(*clients[0], "final");
  BOOST_TEST(st.at("completed").to_number<int>() >= conns * per_conn);
  BOOST_TEST(st.at("sessions") == conns);
}

BOOST_AUTO_TEST_CASE(large_results) {
  daemon_process d;
  auto c = open_session(d, true);
  c->send_json(call_msg("b", "blob", {{"bytes", 5'000'000}}));
  auto m = next_non_progress(*c, 30s);
  BOOST_TEST(text_of(m).size() == 5'000'000u);
}

BOOST_AUTO_TEST_CASE(compat_reference_behaviour) {
  auto cfg = write_config(R"({"timeouts":{"progress_interval_ms":100}})");
  daemon_process d({"--tools", "core,diagnostics", "--compat", "reference", "--config", cfg});
  auto c = d.connect();
  c->send_json(hello_msg(true, true, true));
  auto ack = c->read_json().as_object();
  BOOST_TEST(ack.at("ok") == true);
  BOOST_TEST(!ack.contains("capabilities"));
  BOOST_TEST(!ack.contains("server"));

  c->send_json(simple("list_tools", "l"));
  auto l = c->read_json().as_object();
  for (const auto& t : l.at("tools").as_array()) {
    const auto& o = t.as_object();
    BOOST_TEST(o.size() == 3u);  // name, description, inputSchema only
    BOOST_TEST(o.contains("inputSchema"));
  }

  // stream_complete before a fresh result; text-only progress while it runs.
  c->send_json(delay_call("d", 350, 50));
  int beats = 0;
  json::object m;
  for (;;) {
    m = c->read_json().as_object();
    if (m.at("op") != "progress") break;
    BOOST_TEST(!m.contains("progress"));
    ++beats;
  }
  BOOST_TEST(beats >= 1);
  BOOST_TEST(m.at("op") == "stream_complete");
  BOOST_TEST(m.at("request_id") == "d");
  auto r = c->read_json().as_object();
  BOOST_TEST(r.at("op") == "call_tool_res");
  BOOST_TEST(r.at("request_id") == "d");
  BOOST_TEST(!r.contains("structured"));

  // A tool-level failure looks like any other result (no is_error in the reference shape).
  c->send_json(call_msg("f", "fail", {{"message", "bad"}}));
  BOOST_TEST(c->read_json().as_object().at("op") == "stream_complete");
  auto f = c->read_json().as_object();
  BOOST_TEST(!f.contains("is_error"));
  BOOST_TEST(text_of(f) == "bad");

  // One call at a time, even though multiplex was asked for: replies in order.
  c->send_json(delay_call("slow", 300));
  c->send_json(echo_call("fast", "x"));
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto x = next_non_progress(*c);
    order.push_back(std::string(x.at("op").as_string()) + ":" + std::string(x.at("request_id").as_string()));
  }
  BOOST_TEST(order == (std::vector<std::string>{"stream_complete:slow", "call_tool_res:slow",
                                                "stream_complete:fast", "call_tool_res:fast"}),
             boost::test_tools::per_element());

  // cancel is only acknowledged: the call runs on and its result still comes.
  c->send_json(delay_call("x", 300));
  c->send_json(simple("cancel", "x"));
  bool result = false, acked = false;
  for (int i = 0; i < 3; ++i) {
    auto x = next_non_progress(*c);
    if (x.at("op") == "call_tool_res" && x.at("request_id") == "x") result = text_of(x) == "waited 300 ms";
    if (x.at("op") == "cancelled" && x.at("request_id") == "x") acked = true;
  }
  BOOST_TEST(result);
  BOOST_TEST(acked);

  // Errors still carry op and request_id.
  c->send_json(call_msg("nt", "nope", {}));
  auto e = next_non_progress(*c);
  BOOST_TEST(e.at("op") == "call_tool_res");
  BOOST_TEST(e.at("request_id") == "nt");
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(disconnect_stops_running_calls) {
  daemon_process d;
  {
    auto c = open_session(d, true, true);
    c->send_json(delay_call("orphan", 60'000));
    std::this_thread::sleep_for(100ms);
  }  // socket dropped
  auto o = open_session(d);
  json::object st;
  for (int i = 0; i < 100; ++i) {
    st = status_of(*o, "s" + std::to_string(i));
    if (st.at("cancelled") == 1) break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(st.at("cancelled") == 1);
  BOOST_TEST(st.at("sessions") == 1);
}
