// The workflow engine (issue 18): one implementation of the step-wise tools of
// exai-tools-reference §1.2–1.5. The calling assistant investigates in steps; the engine checks
// each step, keeps the investigation in the conversation store under the step's continuation_id
// (never on a shared object), answers intermediate steps locally, and on the final step either
// asks one expert model (the eight expert tools), consults the next model of a roster
// (consensus) or closes the work locally (planner, tracer, docgen).
//
// A tool is a `definition`: its name and texts, the JSON Schema of its own fields, which common
// fields it leaves out, what step 1 requires, its status-object name, its final-step kind and a
// few optional hooks. The twelve definitions are in tools.cpp.
#pragma once

#include "daemon/tool_host.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon::models {
struct services;
}

namespace exai::daemon::workflow {

// What the final step does.
enum class final_kind {
  expert,     // one expert call (unless use_assistant_model is false or expert analysis is off)
  consensus,  // one model per step, with its stance
  local,      // never calls a model
};

// One step as the engine sees it, after validation. Hooks read it.
struct step_view {
  const boost::json::object& args;  // the call's arguments as sent
  std::int64_t step_number = 1;
  std::int64_t total_steps = 1;
  bool final = false;                // next_step_required is false
};

struct definition {
  std::string_view name{};
  std::string_view title{};
  std::string_view description{};      // what tools/list shows; keep it short
  std::string_view status_key{};       // "analysis_status", "code_review_status", ...
  final_kind kind = final_kind::expert;

  // The tool's own properties, a JSON object text ({"review_type":{...},...}).
  std::string_view extra_properties = "{}";
  // Common fields the tool does not take ("hypothesis", "temperature", ...).
  std::vector<std::string_view> omit{};
  // Fields besides step/step_number/total_steps/next_step_required that every step must carry.
  std::vector<std::string_view> always_required{};
  // Fields step 1 must carry (non-empty), e.g. relevant_files.
  std::vector<std::string_view> step1_required{};
  bool findings_required = true;

  // Guidance for the calling assistant between steps, and after the work is complete.
  std::string_view step_guidance{};
  std::string_view completion_guidance{};

  // expert: the reviewer's role, its sampling and the parameters worth quoting to it.
  std::string_view expert_role{};
  double expert_temperature = 0.2;
  std::string_view expert_thinking = "high";  // minimal..max
  // local: the status of the final answer ("planning_complete") and the summary's key.
  std::string_view final_status{};
  std::string_view summary_key{};  // "plan_summary", "trace_summary", ...

  // Hooks (all optional).
  // Extra checks; an error text names the field and what was expected.
  std::function<std::optional<std::string>(const step_view&, const boost::json::object& state)> validate{};
  // Updates the tool's own part of the thread state ("tool" object) for this step, and adds what
  // the tool reports to the answer (planner branches, tracer's content).
  std::function<void(const step_view&, boost::json::object& tool_state, boost::json::object& answer)> on_step{};
};

struct settings {
  // EXPERT_ANALYSIS_ENABLED: on unless the variable says false/0/no/off (it only matters when a
  // provider is configured: without one there is no expert to ask).
  bool expert_enabled = true;
  static settings from_environment();
};

// The model tools' tool_spec for one definition.
tool_spec make_tool(const definition& def, std::shared_ptr<models::services> s, settings cfg);

// The twelve workflow tools (tools.cpp), in the reference's order.
const std::vector<definition>& definitions();
std::vector<tool_spec> workflow_tools(std::shared_ptr<models::services> s, settings cfg = settings::from_environment());

// The budgets of the workflow tools that call a model (for a gateway that cannot read the specs).
std::vector<std::pair<std::string, std::chrono::milliseconds>> workflow_tool_budgets();

// The JSON object in a model's answer: the whole text, else a ```json fenced block, else the
// first '{' to its matching '}'. nullopt with `why` set when there is none.
std::optional<boost::json::object> extract_json_object(std::string_view text, std::string* why = nullptr);

}  // namespace exai::daemon::workflow
