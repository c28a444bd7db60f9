// The two MCP eras through one session on an in-memory transport, with the scripted backend:
// each 2026-07-28 error, the modern result shapes, log lines and their thresholds in both eras.
#include "harness.hpp"

using namespace exai;
using namespace exai::test;

namespace {

json::object meta(json::object extra = {}) {
  json::object m{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                 {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  for (auto& kv : extra) m[kv.key()] = kv.value();
  return m;
}

json::object modern(json::value id, std::string_view method, json::object params = {},
                    json::object m = meta()) {
  params["_meta"] = std::move(m);
  return request(std::move(id), method, std::move(params));
}

std::int64_t code_of(const json::value& r) { return r.at("error").at("code").as_int64(); }

// Messages up to and including the response with `id`; notifications/message ones collected.
std::vector<json::value> logs_until(harness& h, std::int64_t id) {
  std::vector<json::value> logs;
  for (;;) {
    auto m = h.next();
    if (m.as_object().contains("id") && m.at("id").as_int64() == id) return logs;
    if (m.at("method").as_string() == "notifications/message") logs.push_back(m);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eras)

BOOST_AUTO_TEST_CASE(modern_errors_without_initialize) {
  harness h;
  h.start();
  h.send(request(1, "server/discover"));
  BOOST_TEST(code_of(h.next()) == -32602);
  auto no_caps = meta();
  no_caps.erase("io.modelcontextprotocol/clientCapabilities");
  h.send(modern(2, "tools/list", {}, no_caps));
  BOOST_TEST(code_of(h.next()) == -32602);
  h.send(modern(3, "tools/list", {}, meta({{"io.modelcontextprotocol/protocolVersion", "2025-11-25"}})));
  auto v = h.next();
  BOOST_TEST(code_of(v) == -32022);
  BOOST_TEST(v.at("error").at("data").at("requested").as_string() == "2025-11-25");
  h.send(modern(4, "initialize", {{"protocolVersion", "2025-11-25"}}));
  BOOST_TEST(code_of(h.next()) == -32601);
  h.send(modern(5, "ping"));
  BOOST_TEST(code_of(h.next()) == -32601);
  h.send(modern(6, "tools/call", {{"name", "needs_sampling"}, {"arguments", json::object()}}));
  auto cap = h.next();
  BOOST_TEST(code_of(cap) == -32021);
  BOOST_TEST(cap.at("error").at("data").at("requiredCapabilities").at("sampling").is_object());
  BOOST_TEST(h.backend.calls == 0);  // refused before the backend saw it
  h.send(modern(7, "tools/call", {{"name", "needs_sampling"}, {"arguments", json::object()}},
                meta({{"io.modelcontextprotocol/clientCapabilities",
                       json::object{{"sampling", json::object()}}}})));
  auto ok = h.next();
  BOOST_TEST(ok.at("result").at("resultType").as_string() == "complete");
  BOOST_TEST(h.backend.calls == 1);
  h.send(modern(8, "tools/call", {{"name", "no_such_tool"}, {"arguments", json::object()}}));
  BOOST_TEST(code_of(h.next()) == -32602);
}

BOOST_AUTO_TEST_CASE(modern_shapes_and_legacy_beside_them) {
  harness h;
  h.start();
  h.send(modern(1, "server/discover"));
  auto d = h.next();
  BOOST_TEST(d.at("result").at("_meta").at("io.modelcontextprotocol/serverInfo").at("version").as_string() ==
             "9.9.9");
  BOOST_TEST(d.at("result").at("capabilities").as_object().contains("logging"));
  h.send(modern(2, "tools/list"));
  auto l = h.next();
  BOOST_TEST(l.at("result").at("resultType").as_string() == "complete");
  BOOST_TEST(l.at("result").at("ttlMs").as_int64() == 60000);
  BOOST_TEST(l.at("result").at("cacheScope").as_string() == "public");

  h.send(initialize(3, "2025-11-25"));
  BOOST_TEST(h.next().at("result").at("capabilities").as_object().contains("logging"));
  h.send(request(4, "tools/list"));
  BOOST_TEST(!h.next().at("result").as_object().contains("resultType"));
  h.send(modern(5, "tools/list"));
  BOOST_TEST(h.next().at("result").at("resultType").as_string() == "complete");
}

BOOST_AUTO_TEST_CASE(log_lines_follow_each_eras_threshold) {
  harness h;
  h.start();
  h.send(initialize(1, "2025-11-25"));
  h.next();
  h.send(call(2, "logs"));
  BOOST_TEST(logs_until(h, 2).empty());  // no level set
  h.send(request(3, "logging/setLevel", {{"level", "warning"}}));
  BOOST_TEST(h.next().at("result").as_object().empty());
  h.send(call(4, "logs"));
  auto legacy = logs_until(h, 4);
  BOOST_REQUIRE(legacy.size() == 2u);  // warning and error
  BOOST_TEST(legacy[0].at("params").at("level").as_string() == "warning");
  BOOST_TEST(legacy[1].at("params").at("data").as_string() == "error");

  // A modern request: nothing without its own level, whatever the connection set.
  h.send(modern(5, "tools/call", {{"name", "logs"}, {"arguments", json::object()}}));
  BOOST_TEST(logs_until(h, 5).empty());
  h.send(modern(6, "tools/call", {{"name", "logs"}, {"arguments", json::object()}},
                meta({{"io.modelcontextprotocol/logLevel", "debug"}})));
  BOOST_TEST(logs_until(h, 6).size() == 4u);
  h.send(modern(7, "logging/setLevel", {{"level", "debug"}}));
  BOOST_TEST(code_of(h.next()) == -32601);
}

// ---- subscriptions/listen -----------------------------------------------------------------------

json::object listen(json::value id, json::object notifications, json::object m = meta()) {
  return modern(std::move(id), "subscriptions/listen", {{"notifications", std::move(notifications)}},
                std::move(m));
}

const json::value& subscription_id(const json::value& msg) {
  return msg.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId");
}

BOOST_AUTO_TEST_CASE(discover_declares_tools_list_changed) {
  harness h;
  h.start();
  h.send(modern(1, "server/discover"));
  BOOST_TEST(h.next().at("result").at("capabilities").at("tools").at("listChanged").as_bool());
}

BOOST_AUTO_TEST_CASE(listen_acknowledges_then_delivers_tools_list_changed) {
  harness h;
  h.start();
  h.send(listen("sub-1", {{"toolsListChanged", true}, {"promptsListChanged", true}}));
  auto ack = h.next();
  BOOST_TEST(ack.at("method").as_string() == "notifications/subscriptions/acknowledged");
  BOOST_TEST(subscription_id(ack).as_string() == "sub-1");
  // Only what is offered is agreed: no prompts here.
  BOOST_TEST(ack.at("params").at("notifications").as_object() ==
             (json::object{{"toolsListChanged", true}}));
  BOOST_TEST(h.session->subscriptions() == 1u);

  h.session->notify_tools_changed();
  auto changed = h.next();
  BOOST_TEST(changed.at("method").as_string() == "notifications/tools/list_changed");
  BOOST_TEST(subscription_id(changed).as_string() == "sub-1");
  // A modern-only connection was never initialized: the legacy notification is not sent too.
  BOOST_TEST(h.silent_for(100ms));

  // The listen request stays in flight beside ordinary requests.
  h.send(modern(2, "tools/list"));
  BOOST_TEST(h.next().at("id").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(listen_sends_only_requested_types) {
  harness h;
  h.start();
  h.send(listen(7, {{"promptsListChanged", true}}));
  auto ack = h.next();
  BOOST_TEST(subscription_id(ack).as_int64() == 7);
  BOOST_TEST(ack.at("params").at("notifications").as_object().empty());
  h.session->notify_tools_changed();
  BOOST_TEST(h.silent_for(150ms));
}

BOOST_AUTO_TEST_CASE(cancelled_listen_gets_no_reply_and_no_more_notifications) {
  harness h;
  h.start();
  h.send(listen(1, {{"toolsListChanged", true}}));
  h.next();  // ack
  h.send(listen(2, {{"toolsListChanged", true}}));
  h.next();  // ack
  h.send(notification("notifications/cancelled", {{"requestId", 1}}));
  BOOST_TEST(h.run_until([&] { return h.session->subscriptions() == 1u; }, 2s));
  BOOST_TEST(h.silent_for(100ms));  // no response for the cancelled listen
  h.session->notify_tools_changed();
  auto changed = h.next();
  BOOST_TEST(subscription_id(changed).as_int64() == 2);  // only the one still open
  BOOST_TEST(h.silent_for(100ms));
  BOOST_TEST(h.session->inflight() == 1u);
}

BOOST_AUTO_TEST_CASE(listen_errors_and_the_cap) {
  harness h;
  gateway::session_options o;
  o.max_subscriptions = 2;
  h.start(o);
  h.send(modern(1, "subscriptions/listen"));  // no notifications member
  BOOST_TEST(code_of(h.next()) == -32602);
  h.send(request(2, "subscriptions/listen", {{"notifications", json::object()}}));  // no _meta
  BOOST_TEST(code_of(h.next()) == -32602);
  h.send(listen(3, {{"toolsListChanged", "yes"}}));
  BOOST_TEST(code_of(h.next()) == -32602);
  h.send(listen(4, {{"toolsListChanged", true}}));
  h.next();
  h.send(listen(5, {{"toolsListChanged", true}}));
  h.next();
  h.send(listen(6, {{"toolsListChanged", true}}));
  auto over = h.next();
  BOOST_TEST(over.at("id").as_int64() == 6);
  BOOST_TEST(code_of(over) == -32603);
  BOOST_TEST(h.session->subscriptions() == 2u);
}

BOOST_AUTO_TEST_CASE(listen_in_a_batch_is_refused_rather_than_holding_it) {
  harness h;
  h.start();
  h.send(initialize(1, "2025-03-26"));
  h.next();
  h.send(json::array{listen(2, {{"toolsListChanged", true}}), request(3, "ping")});
  auto r = h.next();
  BOOST_REQUIRE(r.is_array());
  BOOST_REQUIRE(r.as_array().size() == 2u);
  for (const auto& e : r.as_array()) {
    if (e.at("id").as_int64() == 2) BOOST_TEST(code_of(e) == -32600);
  }
  BOOST_TEST(h.session->subscriptions() == 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_ends_listens_with_their_result_at_once) {
  harness h;
  h.start();
  h.send(listen("s", {{"toolsListChanged", true}}));
  h.next();
  const auto t0 = std::chrono::steady_clock::now();
  h.session->shutdown(5000ms);
  auto r = h.next();
  BOOST_TEST(r.at("id").as_string() == "s");
  BOOST_TEST(r.at("result").at("resultType").as_string() == "complete");
  BOOST_TEST(r.at("result").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string() ==
             "s");
  // Not held for the grace: a listen is not work to wait for.
  BOOST_TEST(h.run_until([&] { return h.session->drained(); }, 2s));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  BOOST_TEST(h.session->subscriptions() == 0u);
}

BOOST_AUTO_TEST_CASE(closed_input_ends_listens) {
  harness h;
  h.start();
  h.send(listen(1, {{"toolsListChanged", true}}));
  h.next();
  h.pipe->close_input();
  BOOST_TEST(h.run_until([&] { return h.ended; }, 3s));
  BOOST_TEST(h.session->subscriptions() == 0u);
  BOOST_TEST(h.session->inflight() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
