// The workflow tools end to end: exai-daemon with op clients (interleaved workflows on one and on
// two connections, no state crossing) and exai-gateway over stdio (a three-step codereview with
// progress and a golden expert request, a two-model consensus, a cancel in the middle of the
// expert call that closes the provider stream), against the fake provider over TLS.
#define BOOST_TEST_MODULE workflow_integration
#include "tests/integration/models/models_fixture.hpp"

using namespace exai::test;
using namespace exai::test::models;

namespace {

std::string str(const json::value& v) { return std::string(v.as_string()); }
bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }
json::object args(std::string_view text) { return json::parse(text).as_object(); }

std::vector<json::object> model_bodies(const provider_env& pe) {
  std::vector<json::object> out;
  for (auto& r : pe.fp.requests())
    if (str(r.at("path")).ends_with("/chat/completions") || str(r.at("path")).ends_with("/messages"))
      out.push_back(r.at("body").as_object());
  return out;
}

json::object step(const std::string& text, int n, int total, bool more, const std::string& findings,
                  const std::string& id = {}) {
  json::object a;
  a["step"] = text;
  a["step_number"] = n;
  a["total_steps"] = total;
  a["next_step_required"] = more;
  a["findings"] = findings;
  if (!id.empty()) a["continuation_id"] = id;
  return a;
}

}  // namespace

// Two codereviews interleaved on one connection and a third on another: each final expert request
// carries only its own findings.
BOOST_AUTO_TEST_CASE(daemon_interleaved_workflows_on_one_and_two_connections) {
  provider_env pe;
  const auto file = pe.write("queue.cpp", "void push(int v) { items.push_back(v); }\n");
  auto d = start_daemon(pe.env());
  auto c1 = op_session(d.port, /*extensions=*/true);
  auto c2 = op_session(d.port, /*extensions=*/true);

  auto first = [&](ws_client& c, const std::string& req, const std::string& marker) {
    auto a = step("review " + marker, 1, 2, true, marker + "-one");
    a["relevant_files"] = json::array{json::value(file)};
    c.send_json(op_call(req, "codereview", a));
    auto doc = op_doc(op_until_result(c, req));
    BOOST_TEST(str(doc.at("status")) == "next_step_required");
    BOOST_TEST(doc.at("code_review_status").at("steps_taken").as_int64() == 1);
    return str(doc.at("continuation_id"));
  };
  const auto ida = first(*c1, "a1", "alpha");
  const auto idb = first(*c1, "b1", "bravo");
  const auto idc = first(*c2, "c1", "charlie");
  BOOST_TEST(ida != idb);

  auto last = [&](ws_client& c, const std::string& req, const std::string& marker, const std::string& id) {
    c.send_json(op_call(req, "codereview", step("conclude " + marker, 2, 2, false, marker + "-two", id)));
    auto r = op_until_result(c, req);
    auto doc = op_doc(r);
    BOOST_TEST(str(doc.at("status")) == "calling_expert_analysis", json::serialize(doc));
    BOOST_TEST(!r.progress.empty());
    const auto summary = json::serialize(doc.at("complete_analysis"));
    for (std::string other : {"alpha", "bravo", "charlie"})
      BOOST_TEST(has(summary, other + "-") == (other == marker), marker << " sees " << other);
  };
  last(*c2, "c2", "charlie", idc);
  last(*c1, "b2", "bravo", idb);
  last(*c1, "a2", "alpha", ida);

  auto bodies = model_bodies(pe);
  BOOST_REQUIRE(bodies.size() == 3u);
  const std::string order[] = {"charlie", "bravo", "alpha"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto text = json::serialize(bodies[i]);
    for (const auto& other : order) BOOST_TEST(has(text, other + "-one") == (other == order[i]));
  }
}

BOOST_AUTO_TEST_CASE(gateway_stdio_codereview_consensus_and_cancel) {
  provider_env pe;
  const auto file = pe.write("cache.cpp", "int evict(int n) { return n - 1; }\n");
  stdio_mcp g(pe.env());
  g.open();
  g.send(rpc(1, "tools/list"));
  const auto tools = g.next().at("result").at("tools").as_array();
  BOOST_TEST(tools.size() == 17u);

  // codereview, three steps; the expert's request goes to the fake and is a golden file.
  auto a1 = step("Review the cache's eviction", 1, 3, true, "evict takes a count");
  a1["relevant_files"] = json::array{json::value(file)};
  auto s1 = mcp_doc(g.call(2, "codereview", a1).response);
  const auto id = str(s1.at("continuation_id"));
  auto a2 = step("Check the callers", 2, 3, true, "one caller passes 0", id);
  a2["issues_found"] = json::parse(R"([{"severity":"high","description":"underflow when n is 0"}])");
  auto s2 = mcp_doc(g.call(3, "codereview", a2).response);
  BOOST_TEST(s2.at("code_review_status").at("issues_found").as_int64() == 1);
  auto a3 = step("Conclude", 3, 3, false, "a guard fixes it", id);
  a3["model"] = "glm-4.6";
  auto r3 = g.call(4, "codereview", a3, json::value("cr"));
  auto s3 = mcp_doc(r3.response);
  BOOST_TEST(str(s3.at("status")) == "calling_expert_analysis", json::serialize(s3));
  // The fake's answer is prose: it is kept as raw_analysis with a parse_error.
  BOOST_TEST(has(str(s3.at("expert_analysis").at("raw_analysis")), "[fake glm-4.6]"));
  BOOST_TEST(s3.at("expert_analysis").as_object().contains("parse_error"));
  BOOST_REQUIRE(!r3.progress.empty());
  BOOST_TEST(r3.progress.front().at("progressToken") == json::value("cr"));
  auto bodies = model_bodies(pe);
  BOOST_REQUIRE(bodies.size() == 1u);
  check_golden("../workflow/codereview_gateway_request.json", bodies[0],
               std::filesystem::canonical(pe.root.path).string());

  // consensus over two models of two providers.
  auto c1 = args(R"({"step":"Replace the LRU with a ring buffer?","step_number":1,"total_steps":2,"next_step_required":true,
    "findings":"Simpler, but loses recency.","models":[{"model":"glm-4.6","stance":"for"},{"model":"kimi-k2","stance":"against"}]})");
  auto k1 = g.call(5, "consensus", c1, json::value("cs"));
  auto d1 = mcp_doc(k1.response);
  BOOST_TEST(str(d1.at("status")) == "analysis_and_first_model_consulted");
  BOOST_TEST(!k1.progress.empty());
  auto k2 = mcp_doc(g.call(6, "consensus", step("Noted", 2, 2, false, "", str(d1.at("continuation_id")))).response);
  BOOST_TEST(str(k2.at("status")) == "consensus_workflow_complete");
  BOOST_TEST(str(k2.at("model_response").at("metadata").at("provider")) == "kimi");
  BOOST_TEST(k2.at("complete_consensus").at("total_responses").as_int64() == 2);
  BOOST_TEST(model_bodies(pe).size() == 3u);
}

BOOST_AUTO_TEST_CASE(gateway_stdio_cancel_in_the_middle_of_the_expert_call) {
  fake_provider_options slow;
  slow.args = {"--chunks", "200", "--chunk-interval-ms", "20"};
  provider_env pe(slow);
  stdio_mcp g(pe.env());
  g.open();
  auto s1 = mcp_doc(g.call(1, "thinkdeep", step("Is the design sound?", 1, 2, true, "it has one writer")).response);
  const auto id = str(s1.at("continuation_id"));
  g.send(mcp_call(2, "thinkdeep", step("Conclude", 2, 2, false, "probably", id), json::value("slow")));
  // Wait until the expert's answer streams (a progress with a character count), then cancel.
  for (;;) {
    auto m = g.next();
    BOOST_REQUIRE_MESSAGE(m.contains("method"), json::serialize(m));
    if (m.at("method") == "notifications/progress" && has(str(m.at("params").at("message")), "characters so far")) break;
  }
  g.send(mcp_cancel(2));
  BOOST_TEST(pe.wait_record("client_closed", [](const json::object& r) { return !r.at("complete").as_bool(); }));
  // No answer for the cancelled call; the session and the thread still work.
  g.send(rpc(3, "ping"));
  for (;;) {
    auto msg = g.next();
    if (msg.contains("method")) continue;
    BOOST_TEST(msg.at("id") == json::value(3));
    break;
  }
  auto again = step("Conclude", 2, 2, false, "probably", id);
  again["use_assistant_model"] = false;
  auto done = mcp_doc(g.call(4, "thinkdeep", again).response);
  BOOST_TEST(str(done.at("status")) == "local_work_complete");
}
