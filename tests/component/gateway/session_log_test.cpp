// The per-request log record of a session (issue 6: session, client id, tool, latency, outcome at
// debug), the call context the backend gets for its own record, and what is never logged: the
// client's token and the call's arguments.
#include "harness.hpp"
#include "observability/log.hpp"

#include <map>

using namespace exai;
using namespace exai::test;

namespace {

// Debug on for one test case, the previous level back afterwards.
struct debug_level {
  bool was_debug = obs::enabled(obs::level::debug);
  debug_level() { obs::set_level(obs::level::debug); }
  ~debug_level() {
    if (!was_debug) obs::set_level(obs::level::info);
  }
};

// The session's "request" records, by client_id.
std::map<std::string, json::object> request_records(const obs::capture& cap) {
  std::map<std::string, json::object> out;
  for (const auto& line : cap.lines()) {
    auto v = json::parse(line).as_object();
    if (v.at("channel").as_string() != "session" || v.at("msg").as_string() != "request") continue;
    out[std::string(v.at("client_id").as_string())] = v;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_log)

BOOST_AUTO_TEST_CASE(each_request_leaves_a_debug_record_with_its_fields_and_no_secrets) {
  debug_level debug;
  obs::capture cap;
  harness h;
  h.ropts.token = "tok-never-logged";
  h.ropts.tool_timeouts["slow"] = 50ms;
  gateway::session_options o;
  o.id = "gw-log";
  o.authenticated = false;
  h.start(o);

  h.send(json::object{{"op", "hello"}, {"token", "tok-never-logged"}});
  BOOST_TEST_REQUIRE(h.next().at("ok").as_bool());
  h.send(call(7, "echo", {{"text", "argument-never-logged"}}));
  BOOST_TEST(text_of(h.next()) == "argument-never-logged");
  h.send(call("x", "broken"));
  BOOST_TEST(h.next().at("result").at("isError").as_bool());
  h.send(call(9, "slow", {{"ms", 10000}}));  // the 50 ms budget fires
  BOOST_TEST(h.next(3s).at("result").at("isError").as_bool());
  h.send(call(10, "slow", {{"ms", 10000}}));
  h.run_for(30ms);
  json::object p;
  p["requestId"] = 10;
  h.send(notification("notifications/cancelled", p));
  json::object c{{"op", "call_tool"}, {"request_id", "r1"}, {"name", "echo"}};
  c["arguments"] = json::object{{"text", "argument-never-logged"}};
  h.send(c);
  BOOST_TEST(h.next().at("op").as_string() == "call_tool_res");
  BOOST_TEST_REQUIRE(h.run_until([&] { return request_records(cap).size() >= 5; }, 2s));

  auto records = request_records(cap);
  struct expect { std::string client, method, tool, outcome; };
  for (const auto& e : {expect{"ji:7", "tools/call", "echo", "ok"},
                        expect{"js:x", "tools/call", "broken", "error"},
                        expect{"ji:9", "tools/call", "slow", "timeout"},
                        expect{"ji:10", "tools/call", "slow", "cancelled"},
                        expect{"os:r1", "call_tool", "echo", "ok"}}) {
    BOOST_TEST_CONTEXT("request " << e.client) {
      BOOST_TEST_REQUIRE(records.count(e.client) == 1u);
      const auto& r = records[e.client];
      BOOST_TEST(r.at("level").as_string() == "debug");
      BOOST_TEST(r.at("session").as_string() == "gw-log");
      BOOST_TEST(r.at("method") == json::value(e.method));
      BOOST_TEST(r.at("tool") == json::value(e.tool));
      BOOST_TEST(r.at("outcome") == json::value(e.outcome));
      BOOST_TEST(r.at("latency_ms").is_number());
      BOOST_TEST(r.at("latency_ms").to_number<double>() >= 0.0);
    }
  }
  // The slow call that timed out took at least its budget.
  BOOST_TEST(records["ji:9"].at("latency_ms").to_number<double>() >= 45.0);

  // The backend got the same session and client id for its own record (the daemon pool's, which
  // adds the upstream request_id).
  BOOST_TEST_REQUIRE(h.backend.contexts.size() == 5u);
  std::vector<std::string> clients;
  for (const auto& ctx : h.backend.contexts) {
    BOOST_TEST(ctx.session == "gw-log");
    clients.push_back(ctx.client_id);
  }
  BOOST_TEST(clients == (std::vector<std::string>{"ji:7", "js:x", "ji:9", "ji:10", "os:r1"}),
             boost::test_tools::per_element());

  for (const auto& line : cap.lines()) {
    BOOST_TEST(line.find("tok-never-logged") == std::string::npos, line);
    BOOST_TEST(line.find("argument-never-logged") == std::string::npos, line);
  }
}

BOOST_AUTO_TEST_CASE(no_request_record_above_debug) {
  obs::capture cap;
  obs::set_level(obs::level::info);
  harness h;
  h.start();
  h.send(call(1, "echo", {{"text", "argument-never-logged"}}));
  h.next();
  BOOST_TEST(request_records(cap).empty());
  for (const auto& line : cap.lines()) BOOST_TEST(line.find("argument-never-logged") == std::string::npos, line);
}

BOOST_AUTO_TEST_SUITE_END()
