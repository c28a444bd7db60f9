// The twelve workflow tools through the tool host against the in-process scripted provider (a
// test double, tests/fakes/models/): multi-step runs whose final JSON and expert request are
// compared with golden files (tests/data/workflow/), step-1 validation, backtracking, planner
// branches, consensus over three models of two providers, interleaved workflows, progress,
// cancellation and provider failure.
#define BOOST_TEST_MODULE workflow_component
#include "daemon/models/services.hpp"
#include "daemon/tool_host.hpp"
#include "daemon/workflow/engine.hpp"
#include "tests/fakes/models/host_call.hpp"
#include "tests/fakes/models/scripted_registry.hpp"
#include "tests/support/files.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <tuple>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace exai::daemon;
using exai::codecs::errc;
using exai::codecs::result;
using exai::codecs::tool_result;
using exai::test::scripted_registry;
using exai::test::scripted_reply;
using std::chrono::milliseconds;

namespace {

json::object args(std::string_view text) { return json::parse(text).as_object(); }
std::string str(const json::value& v) { return std::string(v.as_string()); }
bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

// The request as JSON, for golden files: what the engine decided (model, system text, messages,
// sampling, thinking, web search).
json::object request_json(const exai::providers::request& r) {
  json::object o;
  o["model"] = r.model;
  o["system"] = r.system;
  json::array msgs;
  for (const auto& m : r.messages) {
    json::object jm;
    jm["role"] = m.role == exai::providers::role::user ? "user" : "assistant";
    std::string text;
    for (const auto& p : m.parts)
      if (const auto* t = std::get_if<exai::providers::text_part>(&p)) text += t->text;
    jm["content"] = text;
    msgs.push_back(std::move(jm));
  }
  o["messages"] = std::move(msgs);
  if (r.temperature) o["temperature"] = *r.temperature;
  o["thinking"] = r.thinking == exai::providers::thinking::on    ? "on"
                  : r.thinking == exai::providers::thinking::off ? "off"
                                                                 : "automatic";
  o["thinking_effort"] = r.thinking_effort;
  o["web_search"] = r.web_search;
  o["stream"] = r.stream;
  return o;
}

// Pretty enough for a reviewable diff: one top-level key per line.
std::string render(const json::object& o) {
  std::string out = "{\n";
  bool first = true;
  for (const auto& [k, v] : o) {
    if (!first) out += ",\n";
    first = false;
    out += "  " + json::serialize(json::value(k)) + ": " + json::serialize(v);
  }
  return out + "\n}\n";
}

struct fixture {
  std::shared_ptr<scripted_registry> registry;
  std::shared_ptr<models::services> services = std::make_shared<models::services>();
  exai::test::temp_dir root{"workflow"};
  std::unique_ptr<tool_host> host;
  std::vector<exai::codecs::progress_update> progress;

  explicit fixture(std::set<std::string> configured = {"glm", "kimi"}) {
    registry = std::make_shared<scripted_registry>(std::move(configured));
    services->registry = registry;
    services->files = std::make_shared<const models::file_policy>(std::vector<std::filesystem::path>{root.path});
    tool_host::options o;
    o.profiles = {"core", "models"};
    o.models = services;
    host = std::make_unique<tool_host>(o);
    std::ofstream(root / "cache.cpp") << "int evict(int n) { return n - 1; }\n";
  }

  exai::test::scripted_provider& glm() { return *registry->provider_of("glm"); }
  exai::test::scripted_provider& kimi() { return *registry->provider_of("kimi"); }
  std::string file() const { return (root / "cache.cpp").string(); }

  result<tool_result> call(std::string name, const json::object& a, std::optional<milliseconds> cancel_after = std::nullopt) {
    return exai::test::call_host(*host, std::move(name), a, [this](const exai::codecs::progress_update& u) { progress.push_back(u); }, cancel_after);
  }
  // Cancelled once the GLM double has streamed the first chunk of its answer.
  result<tool_result> call_cancelled_mid_stream(std::string name, const json::object& a) {
    auto r = exai::test::call_host(
        *host, std::move(name), a, [this](const exai::codecs::progress_update& u) { progress.push_back(u); },
        std::nullopt, [this](std::function<void()> cancel) { glm().on_streaming = std::move(cancel); });
    glm().on_streaming = nullptr;  // it refers to that call's io_context
    return r;
  }

  struct answer {
    json::object doc;
    bool is_error = false;
  };
  answer run(const std::string& name, const json::object& a) {
    auto r = call(name, a);
    if (!r) BOOST_FAIL(r.error().message);
    return {json::parse(r->content.at(0).at("text").as_string()).as_object(), r->is_error};
  }
  // `a` with the paths "$FILE" replaced by the temp file.
  json::object with_file(std::string text) { return args(replace_all(std::move(text), "$FILE", file())); }

  // Compares with tests/data/workflow/<name> after putting placeholders in for the run's own
  // values (the thread id, the temp folder). EXAI_UPDATE_GOLDEN=1 writes the file instead.
  void golden(const std::string& name, const json::object& value, const std::string& id = {}) {
    std::string actual = render(value);
    if (!id.empty()) actual = replace_all(actual, id, "$ID");
    actual = replace_all(actual, root.path.string(), "$ROOT");
    const std::string path = std::string(EXAI_TEST_DATA_DIR) + "/workflow/" + name;
    if (const char* u = std::getenv("EXAI_UPDATE_GOLDEN"); u && std::string(u) == "1") {
      std::ofstream(path, std::ios::binary) << actual;
      return;
    }
    const auto expected = exai::test::read_file(path);
    BOOST_TEST(!expected.empty(), "missing golden file " << path);
    BOOST_TEST(actual == expected, "golden mismatch: " << path << "\n--- actual ---\n" << actual);
  }
};

// The step-1 fields each expert tool needs besides the common ones.
struct expert_case {
  std::string tool, step1_extra, status_key;
  std::string reply;  // the expert's answer text
};

const std::vector<expert_case>& expert_cases() {
  static const std::vector<expert_case> cases = {
      {"analyze", R"("relevant_files":["$FILE"],"analysis_type":"performance")", "analysis_status",
       R"({"analysis":"evict takes constant time","key_findings":[],"recommendations":["keep it"],"confidence":"high","needs_more_info":false,"additional_context":null})"},
      {"codereview", R"("relevant_files":["$FILE"],"review_type":"security","severity_filter":"high")", "code_review_status",
       "Here is my review:\n```json\n{\"analysis\":\"off by one\",\"key_findings\":[{\"finding\":\"n-1 underflows\",\"severity\":\"high\",\"location\":\"cache.cpp:1\"}],\"recommendations\":[\"guard n==0\"],\"confidence\":\"high\",\"needs_more_info\":false,\"additional_context\":null}\n```\n"},
      {"debug", R"("hypothesis":"evict underflows","confidence":"medium")", "investigation_status",
       R"(I think {"analysis":"confirmed","key_findings":[],"recommendations":["check n"],"confidence":"high","needs_more_info":false,"additional_context":"saw {braces} in text"} is it.)"},
      {"refactor", R"("refactor_type":"decompose","focus_areas":["naming"])", "refactoring_status",
       "No JSON here, just prose about the refactoring."},
      {"testgen", R"("relevant_files":["$FILE"])", "test_generation_status",
       R"({"analysis":"test n=0","key_findings":[],"recommendations":["add a boundary test"],"confidence":"medium","needs_more_info":false,"additional_context":null})"},
      {"thinkdeep", R"("problem_context":"a cache","focus_areas":["latency"],"hypothesis":"LRU is enough")", "thinkdeep_status",
       R"({"analysis":"agree","key_findings":[],"recommendations":[],"confidence":"high","needs_more_info":false,"additional_context":null})"},
      {"secaudit", R"("security_scope":"a local cache library","threat_level":"low","audit_focus":"owasp")", "security_audit_status",
       R"({"analysis":"no input from outside","key_findings":[],"recommendations":[],"confidence":"high","needs_more_info":false,"additional_context":null})"},
      {"precommit", R"("path":"$ROOTDIR","compare_to":"main","include_unstaged":false)", "validation_status",
       R"({"status":"files_required_to_continue","mandatory_instructions":"send the diff","files_needed":["cache.cpp"]})"},
  };
  return cases;
}

}  // namespace

// Each expert tool: three steps (two intermediate, one final with the expert call); the final
// answer and the request the expert was sent are golden files.
BOOST_AUTO_TEST_CASE(expert_tools_three_steps_against_golden_files) {
  for (const auto& c : expert_cases()) {
    BOOST_TEST_CONTEXT("tool " << c.tool) {
      fixture f;
      const std::string extra = replace_all(c.step1_extra, "$ROOTDIR", f.root.path.string());
      auto s1 = f.run(c.tool, f.with_file(R"({"step":"Look at the eviction code of the cache","step_number":1,"total_steps":3,
        "next_step_required":true,"findings":"evict takes a count","files_checked":["$FILE"],)" + extra + "}"));
      BOOST_TEST(!s1.is_error, json::serialize(s1.doc));
      BOOST_TEST(str(s1.doc.at("status")) == "next_step_required");
      BOOST_TEST(s1.doc.contains(c.status_key));
      const auto id = str(s1.doc.at("continuation_id"));
      BOOST_TEST(str(s1.doc.at("next_call").at("tool")) == c.tool);
      BOOST_TEST(s1.doc.at("next_call").at("arguments").at("step_number").as_int64() == 2);
      BOOST_TEST(str(s1.doc.at("next_call").at("arguments").at("continuation_id")) == id);

      auto s2 = f.run(c.tool, args(R"({"step":"Check the callers","step_number":2,"total_steps":3,"next_step_required":true,
        "findings":"one caller passes 0","issues_found":[{"severity":"high","description":"underflow when n is 0"}],
        "relevant_context":["evict"],"confidence":"high","continuation_id":")" + id + "\"}"));
      BOOST_TEST(!s2.is_error);
      BOOST_TEST(s2.doc.at(c.status_key).at("issues_found").as_int64() == 1);
      BOOST_TEST(s2.doc.at(c.status_key).at("insights_by_severity").at("high").as_int64() == 1);
      BOOST_TEST(f.glm().requests.empty());  // intermediate steps never call a model

      scripted_reply reply;
      reply.chunks = {c.reply.substr(0, c.reply.size() / 2), c.reply.substr(c.reply.size() / 2)};
      f.glm().replies.push_back(reply);
      auto s3 = f.run(c.tool, args(R"({"step":"Conclude","step_number":3,"total_steps":3,"next_step_required":false,
        "findings":"the fix is a guard","continuation_id":")" + id + "\"}"));
      BOOST_TEST(!s3.is_error, json::serialize(s3.doc));
      BOOST_REQUIRE(f.glm().requests.size() == 1u);
      BOOST_TEST(s3.doc.at("complete_analysis").at("steps_taken").as_int64() == 3);
      f.golden(c.tool + "_final.json", s3.doc, id);
      f.golden(c.tool + "_request.json", request_json(f.glm().requests[0]), id);
      BOOST_TEST(!f.progress.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(expert_answer_parsing_and_promoted_statuses) {
  std::string why;
  BOOST_TEST(workflow::extract_json_object(R"({"a":1})").has_value());
  BOOST_TEST(workflow::extract_json_object("text\n```json\n{\"a\":1}\n```\nmore").value().at("a").as_int64() == 1);
  BOOST_TEST(workflow::extract_json_object(R"(see {"a":"}"} and {"b":2})").value().at("a") == "}");
  BOOST_TEST(!workflow::extract_json_object("no object", &why).has_value());
  BOOST_TEST(!why.empty());
  // The goldens above hold the shapes; here the status each produced.
  fixture f;
  for (const auto& [reply, status] : std::vector<std::pair<std::string, std::string>>{
           {"prose only", "calling_expert_analysis"},
           {R"({"status":"files_required_to_continue","files_needed":["x"]})", "files_required_to_continue"}}) {
    scripted_reply r;
    r.chunks = {reply};
    f.glm().replies.push_back(r);
    auto d = f.run("debug", args(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f"})"));
    BOOST_TEST(str(d.doc.at("status")) == status);
    if (reply == "prose only") {
      BOOST_TEST(str(d.doc.at("expert_analysis").at("raw_analysis")) == "prose only");
      BOOST_TEST(d.doc.at("expert_analysis").as_object().contains("parse_error"));
    }
  }
}

BOOST_AUTO_TEST_CASE(step1_validation_errors_name_the_field_and_leave_the_thread_usable) {
  fixture f;
  struct bad {
    std::string tool, args, field;
  };
  const std::vector<bad> cases = {
      {"codereview", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "relevant_files"},
      {"analyze", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "relevant_files"},
      {"testgen", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "relevant_files"},
      {"secaudit", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "security_scope"},
      {"precommit", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "path"},
      {"consensus", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})", "models"},
      {"consensus", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"models":[{"model":"glm-4.6"}]})", "findings"},
      {"consensus", R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f",
        "models":[{"model":"glm-4.6","stance":"for"},{"model":"kimi-k2"},{"model":"glm-4.6","stance":"for"}]})", "models[2]"},
      {"planner", R"({"step":"s","step_number":2,"total_steps":3,"next_step_required":true,"is_step_revision":true})", "revises_step_number"},
      {"planner", R"({"step":"s","step_number":2,"total_steps":3,"next_step_required":true,"is_branch_point":true,"branch_from_step":1})", "branch_id"},
      {"docgen", R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f","document_complexity":true,
        "document_flow":true,"update_existing":true,"comments_on_complex_logic":true,"num_files_documented":1,"total_files_to_document":3})", "num_files_documented"},
      {"debug", R"({"step":"s","step_number":2,"total_steps":2,"next_step_required":true,"findings":"f","backtrack_from_step":2})", "backtrack_from_step"},
      {"debug", R"({"step":"s","step_number":2,"total_steps":2,"next_step_required":true,"findings":"f","continuation_id":"0b8c1f7e-0000-4000-8000-000000000000"})", "continuation_id"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.tool << " " << c.field) {
      auto d = f.run(c.tool, args(c.args));
      BOOST_TEST(d.is_error);
      BOOST_TEST(str(d.doc.at("status")) == c.tool + "_failed");
      BOOST_TEST(has(str(d.doc.at("error")), c.field + ":"), str(d.doc.at("error")));
    }
  }
  // A bad enum or a missing common field fails the schema: the same tool error, naming the field.
  for (const auto& [tool, bad_args, field] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"codereview", R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":true,"findings":"f","relevant_files":["/x"],"review_type":"deep"})", "review_type"},
           {"debug", R"({"step":"s","step_number":1,"total_steps":1,"findings":"f"})", "next_step_required"},
           {"consensus", R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":true,"findings":"f","models":[{"model":"m","stance":"maybe"}]})", "stance"}}) {
    auto d = f.run(tool, args(bad_args));
    BOOST_TEST(d.is_error);
    BOOST_TEST(str(d.doc.at("status")) == tool + "_failed");
    BOOST_TEST(has(str(d.doc.at("error")), field), str(d.doc.at("error")));
  }
  // The thread stays usable: a failed step 2 does not break the workflow it names.
  auto s1 = f.run("debug", args(R"({"step":"s","step_number":1,"total_steps":2,"next_step_required":true,"findings":"f"})"));
  const auto id = str(s1.doc.at("continuation_id"));
  auto badstep = f.run("debug", args(R"({"step":"s","step_number":2,"total_steps":2,"next_step_required":false,"findings":"g","backtrack_from_step":5,"continuation_id":")" + id + "\"}"));
  BOOST_TEST(badstep.is_error);
  auto good = f.run("debug", args(R"({"step":"s","step_number":2,"total_steps":2,"next_step_required":false,"findings":"g","continuation_id":")" + id + "\"}"));
  BOOST_TEST(!good.is_error);
  BOOST_TEST(good.doc.at("complete_analysis").at("steps_taken").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(backtracking_drops_the_later_steps) {
  fixture f;
  auto s1 = f.run("debug", args(R"({"step":"reproduce","step_number":1,"total_steps":3,"next_step_required":true,"findings":"crash on empty input"})"));
  const auto id = str(s1.doc.at("continuation_id"));
  f.run("debug", args(R"({"step":"wrong lead","step_number":2,"total_steps":3,"next_step_required":true,"findings":"blamed the parser",
    "issues_found":[{"severity":"low","description":"parser"}],"continuation_id":")" + id + "\"}"));
  auto s3 = f.run("debug", args(R"({"step":"the allocator instead","step_number":3,"total_steps":3,"next_step_required":false,
    "findings":"allocator returns null","backtrack_from_step":2,"continuation_id":")" + id + "\"}"));
  BOOST_TEST(!s3.is_error);
  BOOST_TEST(s3.doc.at("complete_analysis").at("steps_taken").as_int64() == 2);
  BOOST_TEST(s3.doc.at("complete_analysis").at("issues_found").as_array().empty());
  BOOST_REQUIRE(f.glm().requests.size() == 1u);
  const auto sent = json::serialize(request_json(f.glm().requests[0]));
  BOOST_TEST(!has(sent, "blamed the parser"));
  BOOST_TEST(has(sent, "allocator returns null"));
}

BOOST_AUTO_TEST_CASE(without_the_assistant_model_or_with_expert_analysis_off_the_work_ends_locally) {
  fixture f;
  auto d = f.run("codereview", f.with_file(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f",
    "relevant_files":["$FILE"],"use_assistant_model":false})"));
  BOOST_TEST(str(d.doc.at("status")) == "local_work_complete");
  BOOST_TEST(f.glm().requests.empty());
  // EXPERT_ANALYSIS_ENABLED=false (as settings): the same tool answers locally.
  workflow::settings off;
  off.expert_enabled = false;
  for (const auto& def : workflow::definitions())
    if (def.name == "thinkdeep") f.host->add(workflow::make_tool(def, f.services, off));
  auto t = f.run("thinkdeep", args(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f"})"));
  BOOST_TEST(str(t.doc.at("status")) == "local_work_complete");
  BOOST_TEST(f.glm().requests.empty());
  // And without any provider.
  fixture none(std::set<std::string>{});
  auto n = none.run("analyze", none.with_file(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f","relevant_files":["$FILE"]})"));
  BOOST_TEST(str(n.doc.at("status")) == "local_work_complete");
}

BOOST_AUTO_TEST_CASE(planner_branches_and_revisions) {
  fixture f;
  auto s1 = f.run("planner", args(R"({"step":"Move the cache to its own service","step_number":1,"total_steps":3,"next_step_required":true})"));
  BOOST_TEST(!s1.is_error, json::serialize(s1.doc));
  const auto id = str(s1.doc.at("continuation_id"));
  auto s2 = f.run("planner", args(R"({"step":"Option B: keep it in process behind an interface","step_number":2,"total_steps":3,"next_step_required":true,
    "is_branch_point":true,"branch_from_step":1,"branch_id":"in-process","continuation_id":")" + id + "\"}"));
  BOOST_TEST(str(s2.doc.at("step_content")) == "Option B: keep it in process behind an interface");
  BOOST_TEST(s2.doc.at("metadata").at("branches").as_array().size() == 1u);
  auto s3 = f.run("planner", args(R"({"step":"Step 1 revised: measure first","step_number":3,"total_steps":3,"next_step_required":false,
    "is_step_revision":true,"revises_step_number":1,"continuation_id":")" + id + "\"}"));
  BOOST_TEST(str(s3.doc.at("status")) == "planning_complete");
  BOOST_TEST(s3.doc.at("metadata").at("revisions").as_array().size() == 1u);
  f.golden("planner_final.json", s3.doc, id);
  BOOST_TEST(f.glm().requests.empty());
}

BOOST_AUTO_TEST_CASE(tracer_and_docgen_complete_locally) {
  fixture f;
  auto t1 = f.run("tracer", args(R"({"step":"Trace evict from the public API","step_number":1,"total_steps":2,"next_step_required":true,
    "findings":"Cache::get calls evict","trace_mode":"precision","target_description":"how eviction is triggered"})"));
  const auto tid = str(t1.doc.at("continuation_id"));
  auto t2 = f.run("tracer", args(R"({"step":"Follow evict","step_number":2,"total_steps":2,"next_step_required":false,
    "findings":"evict frees the tail","trace_mode":"precision","target_description":"how eviction is triggered","continuation_id":")" + tid + "\"}"));
  BOOST_TEST(str(t2.doc.at("status")) == "tracing_complete");
  f.golden("tracer_final.json", t2.doc, tid);

  const std::string flags = R"("document_complexity":true,"document_flow":true,"update_existing":true,"comments_on_complex_logic":true,"total_files_to_document":2)";
  auto d1 = f.run("docgen", args(R"({"step":"Document cache.cpp","step_number":1,"total_steps":2,"next_step_required":true,"findings":"done","num_files_documented":1,)" + flags + "}"));
  const auto did = str(d1.doc.at("continuation_id"));
  auto d2 = f.run("docgen", args(R"({"step":"Document lru.cpp","step_number":2,"total_steps":2,"next_step_required":false,"findings":"done","num_files_documented":2,)" + flags +
                                 R"(,"continuation_id":")" + did + "\"}"));
  BOOST_TEST(str(d2.doc.at("status")) == "documentation_analysis_complete");
  f.golden("docgen_final.json", d2.doc, did);
  BOOST_TEST(f.glm().requests.empty());
  BOOST_TEST(f.kimi().requests.empty());
}

BOOST_AUTO_TEST_CASE(consensus_three_models_of_two_providers) {
  fixture f;
  scripted_reply a, b, c;
  a.chunks = {"Verdict: yes, ", "it pays off."};
  b.chunks = {"Verdict: no, too costly."};
  c.chunks = {"Verdict: depends on load."};
  f.glm().replies = {a, c};
  f.kimi().replies = {b};
  auto s1 = f.run("consensus", args(R"({"step":"Should we replace the LRU cache with a ring buffer?","step_number":1,"total_steps":1,
    "next_step_required":true,"findings":"The ring buffer is simpler but loses recency.","confidence":"medium",
    "models":[{"model":"glm-4.6","stance":"for"},{"model":"kimi-k2","stance":"against","stance_prompt":"Mind the migration cost."},{"model":"glm-4.5-flash"}]})"));
  BOOST_TEST(!s1.is_error, json::serialize(s1.doc));
  BOOST_TEST(str(s1.doc.at("status")) == "analysis_and_first_model_consulted");
  BOOST_TEST(s1.doc.at("total_steps").as_int64() == 3);  // forced to the number of models
  BOOST_TEST(str(s1.doc.at("model_consulted")) == "glm-4.6");
  BOOST_TEST(str(s1.doc.at("model_response").at("verdict")) == "Verdict: yes, it pays off.");
  const auto id = str(s1.doc.at("continuation_id"));
  auto s2 = f.run("consensus", args(R"({"step":"Noted glm's view","step_number":2,"total_steps":3,"next_step_required":true,"continuation_id":")" + id + "\"}"));
  BOOST_TEST(str(s2.doc.at("status")) == "model_consulted");
  BOOST_TEST(str(s2.doc.at("model_consulted")) == "kimi-k2-0905-preview");
  BOOST_TEST(str(s2.doc.at("model_response").at("metadata").at("provider")) == "kimi");
  auto s3 = f.run("consensus", args(R"({"step":"Noted kimi's view","step_number":3,"total_steps":3,"next_step_required":false,"continuation_id":")" + id + "\"}"));
  BOOST_TEST(str(s3.doc.at("status")) == "consensus_workflow_complete");
  BOOST_TEST(s3.doc.at("accumulated_responses").as_array().size() == 3u);
  f.golden("consensus_final.json", s3.doc, id);
  BOOST_REQUIRE(f.glm().requests.size() == 2u);
  BOOST_REQUIRE(f.kimi().requests.size() == 1u);
  json::object reqs;
  reqs["glm_for"] = request_json(f.glm().requests[0]);
  reqs["kimi_against"] = request_json(f.kimi().requests[0]);
  reqs["glm_neutral"] = request_json(f.glm().requests[1]);
  f.golden("consensus_requests.json", reqs, id);
}

// Two workflows of the same tool, interleaved step by step on one host: each sees only its own.
BOOST_AUTO_TEST_CASE(interleaved_workflows_do_not_share_state) {
  fixture f;
  auto a1 = f.run("codereview", f.with_file(R"({"step":"review A","step_number":1,"total_steps":2,"next_step_required":true,"findings":"alpha-one","relevant_files":["$FILE"]})"));
  auto b1 = f.run("codereview", f.with_file(R"({"step":"review B","step_number":1,"total_steps":2,"next_step_required":true,"findings":"bravo-one","relevant_files":["$FILE"]})"));
  const auto ida = str(a1.doc.at("continuation_id")), idb = str(b1.doc.at("continuation_id"));
  BOOST_TEST(ida != idb);
  // A fresh workflow without continuation_id starts at zero (the reference leaked steps here).
  BOOST_TEST(b1.doc.at("code_review_status").at("steps_taken").as_int64() == 1);
  auto b2 = f.run("codereview", args(R"({"step":"B two","step_number":2,"total_steps":2,"next_step_required":false,"findings":"bravo-two","use_assistant_model":false,"continuation_id":")" + idb + "\"}"));
  auto a2 = f.run("codereview", args(R"({"step":"A two","step_number":2,"total_steps":2,"next_step_required":false,"findings":"alpha-two","use_assistant_model":false,"continuation_id":")" + ida + "\"}"));
  const auto sa = json::serialize(a2.doc.at("complete_analysis")), sb = json::serialize(b2.doc.at("complete_analysis"));
  BOOST_TEST(has(sa, "alpha-one"));
  BOOST_TEST(has(sa, "alpha-two"));
  BOOST_TEST(!has(sa, "bravo-"));
  BOOST_TEST(has(sb, "bravo-one"));
  BOOST_TEST(!has(sb, "alpha-"));
}

BOOST_AUTO_TEST_CASE(provider_failure_is_status_error_and_cancel_closes_the_stream) {
  fixture f;
  scripted_reply failing;
  failing.chunks = {};
  exai::providers::provider_error e;
  e.code = exai::providers::provider_errc::rate_limited;
  e.message = "HTTP 429 after 3 attempts";
  e.http_status = 429;
  failing.error = e;
  f.glm().replies.push_back(failing);
  auto d = f.run("thinkdeep", args(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f"})"));
  BOOST_TEST(d.is_error);
  BOOST_TEST(str(d.doc.at("status")) == "error");
  BOOST_TEST(has(str(d.doc.at("content")), "rate_limited"), str(d.doc.at("content")));

  // A slow expert answer, cancelled in the middle: the provider stream is closed.
  scripted_reply slow;
  slow.chunks = {"{\"analysis\":", "\"x\"", "}"};
  slow.pause = milliseconds(200);
  f.glm().replies.push_back(slow);
  f.progress.clear();
  auto r = f.call_cancelled_mid_stream("thinkdeep", args(R"({"step":"s","step_number":1,"total_steps":1,"next_step_required":false,"findings":"f"})"));
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::cancelled));
  BOOST_TEST(f.glm().closed_by_cancel == 1);
  BOOST_TEST(!f.progress.empty());  // "asking ... for an expert review" at least
}

BOOST_AUTO_TEST_CASE(tools_list_holds_the_whole_suite_and_stays_small) {
  fixture f;
  const auto list = f.host->list();
  std::set<std::string> names;
  for (const auto& t : list) names.insert(str(t.at("name")));
  for (const char* n : {"status", "version", "listmodels", "chat", "challenge", "analyze", "codereview", "debug", "refactor",
                        "testgen", "thinkdeep", "secaudit", "precommit", "consensus", "planner", "tracer", "docgen"})
    BOOST_TEST(names.count(n) == 1u, n);
  const auto bytes = json::serialize(list).size();
  BOOST_TEST_MESSAGE("tools/list: " << list.size() << " tools, " << bytes << " bytes");
  BOOST_TEST(bytes < 109'000u / 2);
}

// TOOL_PROFILE / ENABLED_TOOLS / DISABLED_TOOLS (daemon/profiles.hpp), as the daemon reads them.
BOOST_AUTO_TEST_CASE(tool_profile_enabled_and_disabled_tools_filter_the_list) {
  auto names_with = [](profiles::tool_filter filter) {
    tool_host::options o;
    o.profiles = {"core", "models"};
    o.filter = std::move(filter);
    tool_host h(o);
    std::set<std::string> out;
    for (const auto& t : h.list()) out.insert(str(t.at("name")));
    return out;
  };
  profiles::tool_filter lean;
  lean.tier = "lean";
  auto l = names_with(lean);
  BOOST_TEST(l.count("codereview") == 1u);
  BOOST_TEST(l.count("consensus") == 0u);
  BOOST_TEST(l.count("challenge") == 0u);
  BOOST_TEST(l.count("listmodels") == 1u);  // core tools are always on
  profiles::tool_filter standard;
  standard.tier = "standard";
  standard.disabled = profiles::tool_filter::split("tracer, docgen");
  auto s = names_with(standard);
  BOOST_TEST(s.count("consensus") == 1u);
  BOOST_TEST(s.count("tracer") == 0u);
  BOOST_TEST(s.count("docgen") == 0u);
  profiles::tool_filter only;
  only.enabled = profiles::tool_filter::split("chat,planner");
  auto o = names_with(only);
  BOOST_TEST(o.size() == 5u);  // chat, planner + status, version, listmodels
  BOOST_TEST(names_with({}).size() == 17u);
}
