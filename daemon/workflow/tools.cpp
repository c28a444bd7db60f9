// The twelve workflow tools as data for the engine (engine.hpp): names and fields from
// exai-tools-reference §1.2–1.4, texts written for this project. A new workflow tool is one more
// entry here (plus a hook when it needs one).
#include "daemon/workflow/engine.hpp"

#include <boost/json/array.hpp>

namespace exai::daemon::workflow {

namespace json = boost::json;

namespace {

std::optional<std::int64_t> int_arg(const json::object& a, std::string_view k) {
  if (const auto* v = a.if_contains(k); v && v->is_int64()) return v->get_int64();
  if (const auto* v = a.if_contains(k); v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}
bool flag(const json::object& a, std::string_view k) {
  const auto* v = a.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}
std::string text_arg(const json::object& a, std::string_view k) {
  const auto* v = a.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// ---- consensus: the roster is fixed at step 1; each model+stance pair once ----
std::optional<std::string> consensus_check(const step_view& v, const json::object&) {
  if (v.step_number != 1) return std::nullopt;
  const auto& models = v.args.at("models").as_array();
  for (std::size_t i = 0; i < models.size(); ++i) {
    const auto& m = models[i].as_object();
    const auto name = text_arg(m, "model");
    if (name.empty()) return "models[" + std::to_string(i) + "].model: expected a model name";
    const auto stance = text_arg(m, "stance").empty() ? std::string("neutral") : text_arg(m, "stance");
    for (std::size_t j = 0; j < i; ++j) {
      const auto& o = models[j].as_object();
      const auto other = text_arg(o, "stance").empty() ? std::string("neutral") : text_arg(o, "stance");
      if (text_arg(o, "model") == name && other == stance)
        return "models[" + std::to_string(i) + "]: model '" + name + "' with stance '" + stance +
               "' is listed twice; each model+stance pair must be unique";
    }
  }
  return std::nullopt;
}
void consensus_step(const step_view& v, json::object& st, json::object&) {
  if (v.step_number != 1) return;
  json::array roster;
  for (const auto& m : v.args.at("models").as_array()) {
    json::object e = m.as_object();
    if (text_arg(e, "stance").empty()) e["stance"] = "neutral";
    roster.push_back(std::move(e));
  }
  st["roster"] = std::move(roster);
  st["responses"] = json::array();
}

// ---- planner: revisions and branches ----
std::optional<std::string> planner_check(const step_view& v, const json::object&) {
  if (flag(v.args, "is_step_revision")) {
    auto r = int_arg(v.args, "revises_step_number");
    if (!r || *r < 1 || *r >= v.step_number)
      return "revises_step_number: expected the number of an earlier step when is_step_revision is true";
  }
  if (flag(v.args, "is_branch_point")) {
    auto b = int_arg(v.args, "branch_from_step");
    if (!b || *b < 1 || *b >= v.step_number)
      return "branch_from_step: expected the number of an earlier step when is_branch_point is true";
    if (text_arg(v.args, "branch_id").empty()) return "branch_id: expected a name for the branch";
  }
  return std::nullopt;
}
void planner_step(const step_view& v, json::object& st, json::object& out) {
  if (!st["branches"].is_object()) st["branches"] = json::object();
  if (!st["revisions"].is_array()) st["revisions"] = json::array();
  auto& branches = st["branches"].as_object();
  const auto branch = text_arg(v.args, "branch_id");
  if (flag(v.args, "is_branch_point") && !branches.contains(branch)) {
    json::object b;
    b["from_step"] = *int_arg(v.args, "branch_from_step");
    b["steps"] = json::array();
    branches[branch] = std::move(b);
  }
  if (!branch.empty() && branches.contains(branch)) branches[branch].as_object()["steps"].as_array().push_back(v.step_number);
  if (flag(v.args, "is_step_revision")) {
    json::object r;
    r["step"] = v.step_number;
    r["revises"] = *int_arg(v.args, "revises_step_number");
    st["revisions"].as_array().push_back(std::move(r));
  }
  out["step_content"] = text_arg(v.args, "step");
  json::object md;
  json::array ids;
  for (const auto& [k, b] : branches) {
    (void)b;
    ids.emplace_back(k);
  }
  md["branches"] = std::move(ids);
  md["branch_details"] = branches;
  md["revisions"] = st["revisions"];
  md["is_step_revision"] = flag(v.args, "is_step_revision");
  md["is_branch_point"] = flag(v.args, "is_branch_point");
  if (!branch.empty()) md["branch_id"] = branch;
  md["more_steps_needed"] = flag(v.args, "more_steps_needed");
  out["metadata"] = std::move(md);
}

// ---- tracer: the step's content, and how to present the trace at the end ----
void tracer_step(const step_view& v, json::object&, json::object& out) {
  out["step_content"] = text_arg(v.args, "step");
  out["trace_mode"] = text_arg(v.args, "trace_mode");
  if (!v.final) return;
  json::object o;
  o["rendering_instructions"] =
      text_arg(v.args, "trace_mode") == "dependencies"
          ? "Present the dependencies as a list per component: what it uses (outgoing) and what uses it "
            "(incoming), each with file:line. Mark cycles and layering violations."
          : "Present the call flow as an indented tree from the entry point, one call per line as "
            "Class::method (file:line), with the conditions that pick each branch and the side effects "
            "(I/O, state changes) noted where they happen.";
  out["output"] = std::move(o);
}

// ---- docgen: the counters must add up before the work is complete ----
std::optional<std::string> docgen_check(const step_view& v, const json::object&) {
  const auto done = int_arg(v.args, "num_files_documented").value_or(0);
  const auto total = int_arg(v.args, "total_files_to_document").value_or(0);
  if (done > total)
    return "num_files_documented: expected at most total_files_to_document (" + std::to_string(total) + "), got " +
           std::to_string(done);
  if (v.final && done < total)
    return "num_files_documented: " + std::to_string(done) + " of " + std::to_string(total) +
           " files are documented; document the rest before setting next_step_required to false";
  return std::nullopt;
}

constexpr std::string_view severity_filter =
    R"("severity_filter":{"type":"string","enum":["critical","high","medium","low","all"],"default":"all"})";

const std::string codereview_props = std::string(R"({
  "review_type":{"type":"string","enum":["full","security","performance","quick"],"default":"full"},
  "focus_on":{"type":"string","description":"Areas to emphasise."},
  "standards":{"type":"string","description":"Coding standards to hold the code to."},)") +
                                     std::string(severity_filter) + "}";
const std::string secaudit_props = std::string(R"({
  "security_scope":{"type":"string","description":"What is audited: the application, its stack, its exposure."},
  "threat_level":{"type":"string","enum":["low","medium","high","critical"],"default":"medium"},
  "compliance_requirements":{"type":"array","items":{"type":"string"}},
  "audit_focus":{"type":"string","enum":["owasp","compliance","infrastructure","dependencies","comprehensive"],"default":"comprehensive"},)") +
                                   std::string(severity_filter) + "}";
const std::string precommit_props = std::string(R"({
  "path":{"type":"string","description":"Absolute path of the git repository (you run git; the tool does not)."},
  "compare_to":{"type":"string","description":"Branch, tag or commit to compare against."},
  "include_staged":{"type":"boolean","default":true},
  "include_unstaged":{"type":"boolean","default":true},
  "focus_on":{"type":"string"},)") + std::string(severity_filter) + "}";

std::vector<definition> make_definitions() {
  std::vector<definition> d;
  d.push_back({.name = "analyze", .title = "Analyze code",
               .description = "Step-wise analysis of code (architecture, performance, security, quality): you investigate and report each step; the final step gets an expert model's review. Step 1 needs relevant_files.",
               .status_key = "analysis_status",
               .extra_properties = R"({"analysis_type":{"type":"string","enum":["architecture","performance","security","quality","general"],"default":"general"},"output_format":{"type":"string","enum":["summary","detailed","actionable"],"default":"detailed"}})",
               .omit = {"hypothesis"}, .step1_required = {"relevant_files"},
               .step_guidance = "Read the code paths that matter for the question, note strengths and weaknesses with evidence, then call again with what you found.",
               .completion_guidance = "Present the analysis to the user: the main findings ranked by impact, each with evidence, then the recommended changes.",
               .expert_role = "You are a senior software architect reviewing another engineer's analysis of a codebase. Judge the design, its scalability, maintainability, performance and security, grounded in the code shown."});
  d.push_back({.name = "codereview", .title = "Review code",
               .description = "Step-wise code review: you read the code and record issues with severities each step; the final step gets an expert model's review. Step 1 needs relevant_files.",
               .status_key = "code_review_status", .extra_properties = codereview_props, .step1_required = {"relevant_files"},
               .step_guidance = "Review the next part of the code for correctness, security, performance and maintainability; record each issue with its severity.",
               .completion_guidance = "Present the review: issues by severity with file and line, the fix for each, and what is good and should stay.",
               .expert_role = "You are an experienced code reviewer checking another engineer's review. Find real defects (bugs, security holes, races, leaks, performance traps), rate their severity honestly and propose precise fixes; do not pad with style nits.",
               .expert_thinking = "medium"});
  d.push_back({.name = "debug", .title = "Debug a problem",
               .description = "Step-wise root-cause investigation: you gather evidence and refine a hypothesis each step; the final step gets an expert model's review.",
               .status_key = "investigation_status",
               .step_guidance = "Trace the failing path, test your hypothesis against the code and the symptoms, and record the evidence for or against it.",
               .completion_guidance = "Explain the root cause with its evidence, the minimal fix, and how to verify it; say if the cause is still uncertain.",
               .expert_role = "You are a debugging specialist reviewing another engineer's root-cause investigation. Check whether the evidence supports the hypothesis, name the most likely cause with file and line, and give the minimal fix and a way to confirm it.",
               .expert_thinking = "medium"});
  d.push_back({.name = "refactor", .title = "Find refactorings",
               .description = "Step-wise search for refactoring opportunities (code smells, decomposition, modernisation, organisation); the final step gets an expert model's review.",
               .status_key = "refactoring_status",
               .extra_properties = R"({"refactor_type":{"type":"string","enum":["codesmells","decompose","modernize","organization"],"default":"codesmells"},"focus_areas":{"type":"array","items":{"type":"string"}},"style_guide_examples":{"type":"array","items":{"type":"string"},"description":"Absolute paths of files showing the house style."}})",
               .step_guidance = "Look for duplication, long functions, tangled responsibilities and dated idioms in the next part of the code; record each opportunity with its location.",
               .completion_guidance = "Present the refactorings in order of value for effort, each with its location, the change and its risk.",
               .expert_role = "You are a refactoring expert reviewing another engineer's list of refactoring opportunities. Keep the ones that pay off, drop the cosmetic ones, and give for each the concrete change, its order and its risk."});
  d.push_back({.name = "testgen", .title = "Plan tests",
               .description = "Step-wise test planning: you study the code's behaviour and edge cases each step; the final step gets an expert model's test plan. Step 1 needs relevant_files.",
               .status_key = "test_generation_status", .step1_required = {"relevant_files"},
               .step_guidance = "Map the next unit's behaviour, inputs, boundaries and failure modes; note which cases need a test.",
               .completion_guidance = "Write the tests the plan calls for in the project's framework and style, starting with the highest-risk cases.",
               .expert_role = "You are a test engineer reviewing another engineer's study of code to be tested. List the test cases that matter (happy path, boundaries, errors, concurrency), what each asserts, and any code that is hard to test and why."});
  d.push_back({.name = "thinkdeep", .title = "Think a problem through",
               .description = "Step-wise reasoning about a hard problem: you develop and test a hypothesis each step; the final step gets an expert model's second opinion.",
               .status_key = "thinkdeep_status",
               .extra_properties = R"({"problem_context":{"type":"string","description":"Background the model needs."},"focus_areas":{"type":"array","items":{"type":"string"}}})",
               .step_guidance = "Test your current reasoning against the facts, look for what would prove it wrong, and record what changed.",
               .completion_guidance = "Give the user the conclusion, the reasoning that supports it, the alternatives you rejected and the remaining risks.",
               .expert_role = "You are a thoughtful senior engineer giving a second opinion on another engineer's reasoning. Challenge weak assumptions, point out what was missed, and say which conclusion you would act on.",
               .expert_temperature = 0.7});
  d.push_back({.name = "secaudit", .title = "Audit security",
               .description = "Step-wise security audit (OWASP, compliance, infrastructure, dependencies); the final step gets an expert model's review. Step 1 needs security_scope.",
               .status_key = "security_audit_status", .extra_properties = secaudit_props, .step1_required = {"security_scope"},
               .step_guidance = "Examine the next attack surface (input handling, authentication, secrets, dependencies); record each vulnerability with severity and evidence.",
               .completion_guidance = "Report the vulnerabilities by severity with their exploit scenario and fix, then the hardening steps.",
               .expert_role = "You are an application security auditor reviewing another engineer's audit. Confirm or reject each finding, rate exploitability and impact, add vulnerabilities that were missed, and give remediations."});
  d.push_back({.name = "precommit", .title = "Check changes before a commit",
               .description = "Step-wise validation of git changes before committing: you inspect the diffs each step; the final step gets an expert model's review. Step 1 needs path.",
               .status_key = "validation_status", .extra_properties = precommit_props, .step1_required = {"path"},
               .step_guidance = "Inspect the next part of the diff (git diff, git status), check it against the intent of the change, and record problems.",
               .completion_guidance = "Tell the user whether the change is ready to commit; list the blocking issues first, each with its fix.",
               .expert_role = "You are a careful reviewer validating a change before it is committed. Check that the diff does what it claims, find regressions, missing tests and leftover debug code, and say whether it is ready."});
  d.push_back({.name = "consensus", .title = "Gather a consensus",
               .description = "Consults several models in turn, each with a stance (for, against, neutral), on a proposal. Step 1 gives your own analysis (findings) and models; each step consults the next model.",
               .status_key = "consensus_status", .kind = final_kind::consensus,
               .extra_properties = R"({"models":{"type":"array","items":{"type":"object","properties":{"model":{"type":"string"},"stance":{"type":"string","enum":["for","against","neutral"],"default":"neutral"},"stance_prompt":{"type":"string"}},"required":["model"]}},"current_model_index":{"type":"integer","minimum":0},"model_responses":{"type":"array","items":{"type":"object"}}})",
               .omit = {"hypothesis", "issues_found", "backtrack_from_step", "files_checked", "relevant_context", "use_assistant_model", "temperature"},
               .step1_required = {"findings", "models"}, .findings_required = false,
               .step_guidance = "Note what this model said, then call again to consult the next one.",
               .completion_guidance = "Weigh the models' verdicts with your own analysis and give the user one recommendation, noting where the models agreed and disagreed.",
               .validate = consensus_check, .on_step = consensus_step});
  d.push_back({.name = "planner", .title = "Plan step by step",
               .description = "Builds a plan one step at a time, with revisions of earlier steps and alternative branches. Calls no model.",
               .status_key = "planner_status", .kind = final_kind::local,
               .extra_properties = R"({"is_step_revision":{"type":"boolean"},"revises_step_number":{"type":"integer","minimum":1},"is_branch_point":{"type":"boolean"},"branch_from_step":{"type":"integer","minimum":1},"branch_id":{"type":"string"},"more_steps_needed":{"type":"boolean"}})",
               .omit = {"findings", "files_checked", "relevant_files", "relevant_context", "issues_found", "confidence", "hypothesis",
                        "backtrack_from_step", "use_assistant_model", "images", "temperature", "thinking_mode", "use_websearch", "model"},
               .findings_required = false,
               .step_guidance = "Write the next step of the plan; revise or branch from an earlier step when it no longer holds.",
               .completion_guidance = "Present the plan as numbered steps, with the branches as alternatives and the decision each depends on.",
               .final_status = "planning_complete", .summary_key = "plan_summary",
               .validate = planner_check, .on_step = planner_step});
  d.push_back({.name = "tracer", .title = "Trace code",
               .description = "Guides a step-wise trace of call flow (precision) or dependencies. You read the code; the tool keeps the trace. Calls no model.",
               .status_key = "tracer_status", .kind = final_kind::local,
               .extra_properties = R"({"trace_mode":{"type":"string","enum":["precision","dependencies","ask"]},"target_description":{"type":"string","description":"What to trace and why."}})",
               .omit = {"temperature", "thinking_mode", "use_websearch", "hypothesis", "issues_found", "use_assistant_model", "model"},
               .always_required = {"trace_mode", "target_description"},
               .step_guidance = "Follow the next calls or dependencies from where you stopped, with file and line for each.",
               .completion_guidance = "Present the trace as the rendering instructions describe.",
               .final_status = "tracing_complete", .summary_key = "trace_summary",
               .on_step = tracer_step});
  d.push_back({.name = "docgen", .title = "Document code",
               .description = "Step-wise documentation of code, file by file, with counters so no file is skipped. Calls no model.",
               .status_key = "documentation_analysis_status", .kind = final_kind::local,
               .extra_properties = R"({"document_complexity":{"type":"boolean","default":true},"document_flow":{"type":"boolean","default":true},"update_existing":{"type":"boolean","default":true},"comments_on_complex_logic":{"type":"boolean","default":true},"num_files_documented":{"type":"integer","minimum":0,"default":0},"total_files_to_document":{"type":"integer","minimum":0,"default":0}})",
               .omit = {"images", "model", "temperature", "thinking_mode", "use_websearch", "use_assistant_model"},
               .always_required = {"document_complexity", "document_flow", "update_existing", "comments_on_complex_logic",
                                   "num_files_documented", "total_files_to_document"},
               .step_guidance = "Document the next file completely (functions, complexity, flow), update num_files_documented, then call again.",
               .completion_guidance = "Tell the user which files were documented and anything left unclear.",
               .final_status = "documentation_analysis_complete",
               .validate = docgen_check});
  return d;
}

}  // namespace

const std::vector<definition>& definitions() {
  static const std::vector<definition> all = make_definitions();
  return all;
}

}  // namespace exai::daemon::workflow
