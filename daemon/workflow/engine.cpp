// The workflow engine (engine.hpp): common fields, the per-thread state, intermediate answers, the
// expert call and the consensus round. Tool-specific data and hooks come from tools.cpp.
#include "daemon/workflow/engine.hpp"

#include "daemon/models/services.hpp"
#include "daemon/workflow/texts.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace exai::daemon::workflow {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::tool_result;
using clock = std::chrono::steady_clock;

namespace {

// §1.3: a step text above this is sent back (the caller saves it to a file instead).
constexpr std::size_t step_size_limit = 100'000;
// Bounds of one investigation (the store bounds the bytes of all threads together).
constexpr std::size_t max_steps = 50;
constexpr auto progress_every = std::chrono::milliseconds(250);

// The fields every workflow tool shares (§1.3), with short descriptions.
constexpr std::string_view common_properties = R"({
  "step":{"type":"string","description":"What you are doing in this step (step 1: the task itself)."},
  "step_number":{"type":"integer","minimum":1,"description":"This step's number, from 1."},
  "total_steps":{"type":"integer","minimum":1,"description":"Your current estimate of the steps needed."},
  "next_step_required":{"type":"boolean","description":"true while more steps follow; false on the final step."},
  "findings":{"type":"string","description":"What this step found: facts, evidence, conclusions."},
  "files_checked":{"type":"array","items":{"type":"string"},"description":"Absolute paths of every file examined."},
  "relevant_files":{"type":"array","items":{"type":"string"},"description":"Absolute paths of the files that matter; their text goes to the expert model."},
  "relevant_context":{"type":"array","items":{"type":"string"},"description":"Functions, classes or methods involved (e.g. 'Cache::evict')."},
  "issues_found":{"type":"array","items":{"type":"object","properties":{"severity":{"type":"string","enum":["critical","high","medium","low"]},"description":{"type":"string"}},"required":["severity","description"]},"description":"Problems found so far."},
  "confidence":{"type":"string","enum":["exploring","low","medium","high","very_high","almost_certain","certain"]},
  "hypothesis":{"type":"string","description":"Your current theory."},
  "backtrack_from_step":{"type":"integer","minimum":1,"description":"Discard this step and every later one, then continue from here."},
  "use_assistant_model":{"type":"boolean","default":true,"description":"false: finish without the expert model."},
  "model":{"type":"string","description":"The model to consult (default: DEFAULT_MODEL; 'auto' picks one)."},
  "temperature":{"type":"number","minimum":0,"maximum":1},
  "thinking_mode":{"type":"string","enum":["minimal","low","medium","high","max"]},
  "use_websearch":{"type":"boolean","default":true},
  "images":{"type":"array","items":{"type":"string"},"description":"Absolute paths of images that help."},
  "continuation_id":{"type":"string","maxLength":200,"description":"The id returned by step 1; pass it on every later step."}
})";

// Common fields that never reach the per-step record (options of the call, not findings).
constexpr std::string_view list_fields[] = {"files_checked", "relevant_files", "relevant_context", "images"};

std::string str_of(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

std::int64_t int_of(const json::object& o, std::string_view key, std::int64_t dflt) {
  if (const auto* v = o.if_contains(key); v && v->is_int64()) return v->get_int64();
  if (const auto* v = o.if_contains(key); v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return dflt;
}

bool bool_of(const json::object& o, std::string_view key, bool dflt) {
  if (const auto* v = o.if_contains(key); v && v->is_bool()) return v->get_bool();
  return dflt;
}

bool present(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return false;
  if (v->is_string()) return !v->get_string().empty();
  if (v->is_array()) return !v->get_array().empty();
  return true;
}

// Appends the strings of `from` not yet in `to`, keeping first-seen order.
void merge_unique(json::array& to, const json::value* from) {
  if (!from || !from->is_array()) return;
  for (const auto& v : from->get_array())
    if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
}

tool_result answer_of(const json::object& doc, bool is_error = false) {
  return tool_result::text(json::serialize(doc), is_error);
}

// A validation failure or a refused call: the tool's `<name>_failed` document (§1.4), isError.
tool_result failure(const definition& def, std::string message, std::int64_t step_number) {
  json::object d;
  d["status"] = std::string(def.name) + "_failed";
  d["error"] = std::move(message);
  d["step_number"] = step_number;
  return answer_of(d, true);
}

// What the steps recorded so far add up to.
struct consolidated {
  json::array files_checked, relevant_files, relevant_context, images, issues;
  std::string confidence = "exploring", hypothesis;
  std::size_t steps = 0;
};

consolidated consolidate(const json::object& wf) {
  consolidated c;
  for (const auto& sv : wf.at("steps").as_array()) {
    const auto& s = sv.as_object();
    ++c.steps;
    merge_unique(c.files_checked, s.if_contains("files_checked"));
    merge_unique(c.relevant_files, s.if_contains("relevant_files"));
    merge_unique(c.relevant_context, s.if_contains("relevant_context"));
    merge_unique(c.images, s.if_contains("images"));
    if (const auto* i = s.if_contains("issues_found"); i && i->is_array())
      for (const auto& issue : i->get_array()) c.issues.push_back(issue);
    if (auto conf = str_of(s, "confidence"); !conf.empty()) c.confidence = conf;
    if (auto h = str_of(s, "hypothesis"); !h.empty()) c.hypothesis = h;
  }
  return c;
}

json::object status_object(const consolidated& c) {
  json::object st;
  st["steps_taken"] = c.steps;
  st["files_checked"] = c.files_checked.size();
  st["relevant_files"] = c.relevant_files.size();
  st["relevant_context"] = c.relevant_context.size();
  st["issues_found"] = c.issues.size();
  st["images_collected"] = c.images.size();
  st["current_confidence"] = c.confidence;
  json::object by_sev;
  for (const auto& i : c.issues) {
    auto sev = str_of(i.as_object(), "severity");
    if (sev.empty()) continue;
    auto& n = by_sev[sev];
    n = (n.is_int64() ? n.get_int64() : 0) + 1;
  }
  st["insights_by_severity"] = std::move(by_sev);
  return st;
}

json::object complete_analysis(const definition& def, const json::object& wf, const consolidated& c) {
  json::object out;
  out["initial_request"] = wf.at("initial_request");
  out["steps_taken"] = c.steps;
  out["files_examined"] = c.files_checked;
  out["relevant_files"] = c.relevant_files;
  out["relevant_context"] = c.relevant_context;
  out["issues_found"] = c.issues;
  std::string summary = "=== " + std::string(def.name) + " work summary ===\n";
  for (const auto& sv : wf.at("steps").as_array()) {
    const auto& s = sv.as_object();
    summary += "Step " + std::to_string(int_of(s, "step_number", 0)) + ": " + str_of(s, "step") + "\n";
    if (auto f = str_of(s, "findings"); !f.empty()) summary += "  Findings: " + f + "\n";
  }
  out["work_summary"] = std::move(summary);
  return out;
}

// Progress while a model answers: a count of characters that only grows and a short message, at
// most every progress_every.
struct progress_reporter {
  const tool_context* ctx;
  std::string what;  // "glm-4.6 reviewing the investigation"
  std::size_t chars = 0;
  std::optional<clock::time_point> last{};

  void say(std::string message) {
    if (!ctx->progress) return;
    codecs::progress_update u;
    u.progress = static_cast<double>(chars);
    u.message = std::move(message);
    last = clock::now();
    ctx->progress(u);
  }
  void delta(std::size_t n, bool reasoning) {
    chars += n;
    if (last && clock::now() - *last < progress_every) return;
    say(what + (reasoning ? " (thinking, " : " (") + std::to_string(chars) + " characters so far)");
  }
  providers::event_sink sink() {
    return [this](const providers::event& e) {
      if (const auto* t = std::get_if<providers::text_delta>(&e)) delta(t->text.size(), false);
      else if (const auto* r = std::get_if<providers::reasoning_delta>(&e)) delta(r->text.size(), true);
      else if (const auto* rt = std::get_if<providers::retry_event>(&e))
        say(what + ": attempt " + std::to_string(rt->attempt) + " failed (" + rt->reason + "), retrying");
    };
  }
};

std::string provider_failure(const providers::provider& p, const providers::provider_error& e) {
  return std::string(p.display_name()) + " call failed (" + std::string(providers::to_string(e.code)) +
         "): " + e.message;
}

// One model call with progress; the request's thinking, temperature and web search are set here
// from the call's options and the tool's defaults.
struct model_call {
  providers::request req;
  const providers::model_info* model = nullptr;
  providers::provider* backend = nullptr;
};

codecs::result<model_call> prepare_call(const models::services& s, const json::object& args, std::string model_name,
                                        double temperature, std::string_view thinking) {
  auto resolved = s.registry->resolve(model_name);
  if (!resolved) return codecs::error(codecs::errc::invalid_params, "model: " + resolved.error().message);
  model_call c;
  c.model = resolved->model;
  c.backend = resolved->backend;
  c.req.model = c.model->name;
  c.req.temperature = args.contains("temperature") && args.at("temperature").is_number()
                          ? args.at("temperature").to_number<double>()
                          : temperature;
  std::string mode = str_of(args, "thinking_mode");
  if (mode.empty()) mode = std::string(thinking);
  if (c.model->thinking && !mode.empty()) {
    c.req.thinking = mode == "minimal" ? providers::thinking::off : providers::thinking::on;
    c.req.thinking_effort = mode;
  }
  c.req.web_search = bool_of(args, "use_websearch", true) && c.model->tools;
  c.req.stream = true;
  return c;
}

// ---------------------------------------------------------------------------------------------

class engine {
 public:
  engine(const definition& def, std::shared_ptr<models::services> s, settings cfg, json::object args,
         tool_context ctx)
      : def_(def), s_(std::move(s)), cfg_(cfg), args_(std::move(args)), ctx_(std::move(ctx)) {}

  asio::awaitable<tool_result> run();

 private:
  std::optional<std::string> check();
  codecs::result<void> record(json::object& state);
  json::object base_answer(std::string_view status) const;
  json::object intermediate_doc() const;
  tool_result finish_locally(std::string_view status);
  asio::awaitable<tool_result> expert();
  asio::awaitable<tool_result> consult();
  std::string investigation_text(const consolidated& c) const;
  std::string model_choice() const;

  const definition& def_;
  std::shared_ptr<models::services> s_;
  settings cfg_;
  json::object args_;
  tool_context ctx_;

  std::int64_t step_number_ = 1, total_steps_ = 1;
  bool final_ = false;
  std::string id_;
  json::object wf_;      // this tool's state in the thread, as recorded by this step
  json::object extras_;  // what the tool's hook adds to the answer
};

std::string engine::model_choice() const {
  auto m = str_of(args_, "model");
  if (m.empty()) m = str_of(wf_, "model");
  return m;
}

std::optional<std::string> engine::check() {
  const auto step = str_of(args_, "step");
  if (step.empty()) return "step: expected a non-empty description of this step";
  if (step_number_ == 1) {
    for (auto f : def_.step1_required)
      if (!present(args_, f)) return std::string(f) + ": required at step 1 (" + std::string(def_.name) + ")";
  }
  if (def_.findings_required && !present(args_, "findings") && step_number_ == 1)
    return "findings: required (what this step found)";
  if (auto b = int_of(args_, "backtrack_from_step", 0); b > 0 && b >= step_number_)
    return "backtrack_from_step: expected a step before this one (" + std::to_string(step_number_) + "), got " +
           std::to_string(b);
  if (def_.validate) {
    step_view v{args_, step_number_, total_steps_, final_};
    if (auto e = def_.validate(v, wf_.contains("tool") ? wf_.at("tool").as_object() : json::object{})) return e;
  }
  return std::nullopt;
}

// Adds this step to the tool's state in the thread (a read-modify-write under the store's lock).
codecs::result<void> engine::record(json::object& state) {
  const std::string key = "workflow:" + std::string(def_.name);
  auto& slot = state[key];
  // Step 1 opens a new investigation, even on a thread that held an earlier one.
  if (!slot.is_object() || step_number_ == 1) {
    json::object fresh;
    fresh["initial_request"] = str_of(args_, "step");
    fresh["steps"] = json::array();
    fresh["tool"] = json::object();
    slot = std::move(fresh);
  }
  auto& wf = slot.as_object();
  auto& steps = wf["steps"].as_array();
  const auto back = int_of(args_, "backtrack_from_step", 0);
  const std::int64_t drop_from = back > 0 ? back : step_number_;  // a resent step replaces itself
  if (back > 0) wf["backtracked_from"] = back;
  for (auto it = steps.begin(); it != steps.end();)
    it = int_of(it->as_object(), "step_number", 0) >= drop_from ? steps.erase(it) : it + 1;
  if (steps.size() >= max_steps)
    return codecs::error(codecs::errc::over_capacity, "step_number: this investigation already holds " +
                                                          std::to_string(max_steps) + " steps; finish it or start a new one");
  json::object rec;
  rec["step_number"] = step_number_;
  rec["step"] = str_of(args_, "step");
  for (std::string_view f : {"findings", "confidence", "hypothesis"})
    if (present(args_, f)) rec[f] = args_.at(f);
  for (auto f : list_fields)
    if (present(args_, f)) rec[f] = args_.at(f);
  if (present(args_, "issues_found")) rec["issues_found"] = args_.at("issues_found");
  steps.push_back(std::move(rec));
  // The tool's own parameters: step 1 sets them, later steps may refine them.
  auto& params = wf["params"];
  if (!params.is_object()) params = json::object();
  const auto own = json::parse(def_.extra_properties);  // kept alive for the loop
  for (const auto& [k, v] : own.as_object()) {
    (void)v;
    if (args_.contains(k)) params.as_object()[k] = args_.at(k);
  }
  if (present(args_, "model")) wf["model"] = args_.at("model");
  if (def_.on_step) {
    step_view view{args_, step_number_, total_steps_, final_};
    def_.on_step(view, wf["tool"].as_object(), extras_);
  }
  wf_ = wf;  // the snapshot this answer is built from
  return {};
}

json::object engine::base_answer(std::string_view status) const {
  json::object a;
  a["status"] = status;
  a["step_number"] = step_number_;
  a["total_steps"] = total_steps_;
  a["next_step_required"] = !final_;
  a["continuation_id"] = id_;
  a[def_.status_key] = status_object(consolidate(wf_));
  json::object md;
  md["tool_name"] = def_.name;
  a["metadata"] = std::move(md);
  for (const auto& [k, v] : extras_) {
    if (k == "metadata")
      for (const auto& [mk, mv] : v.as_object()) a["metadata"].as_object()[mk] = mv;
    else
      a[k] = v;
  }
  return a;
}

json::object engine::intermediate_doc() const {
  auto a = base_answer("next_step_required");
  const auto next = step_number_ + 1;
  json::object call_args;
  call_args["continuation_id"] = id_;
  call_args["step_number"] = next;
  call_args["total_steps"] = std::max(total_steps_, next);
  call_args["next_step_required"] = next < total_steps_;
  call_args["step"] = "<what you investigate in step " + std::to_string(next) + ">";
  if (def_.findings_required) call_args["findings"] = "<what that step found>";
  json::object next_call;
  next_call["tool"] = def_.name;
  next_call["arguments"] = std::move(call_args);
  a["next_call"] = std::move(next_call);
  a["message"] = "Step " + std::to_string(step_number_) + " of " + std::to_string(total_steps_) + " recorded. " +
                 std::string(def_.step_guidance);
  return a;
}

tool_result engine::finish_locally(std::string_view status) {
  auto a = base_answer(status);
  const auto c = consolidate(wf_);
  if (!def_.summary_key.empty()) a[def_.summary_key] = complete_analysis(def_, wf_, c).at("work_summary");
  else a["complete_analysis"] = complete_analysis(def_, wf_, c);
  a["next_steps"] = def_.completion_guidance;
  a["analysis_complete"] = true;
  return answer_of(a);
}

std::string engine::investigation_text(const consolidated& c) const {
  std::string t = "=== " + std::string(def_.name) + ": the assistant's investigation ===\n";
  t += "Request: " + str_of(wf_, "initial_request") + "\n";
  if (const auto* p = wf_.if_contains("params"); p && !p->as_object().empty())
    t += "Parameters: " + json::serialize(*p) + "\n";
  for (const auto& sv : wf_.at("steps").as_array()) {
    const auto& s = sv.as_object();
    t += "\n--- Step " + std::to_string(int_of(s, "step_number", 0)) + " ---\n" + str_of(s, "step") + "\n";
    if (auto f = str_of(s, "findings"); !f.empty()) t += "Findings: " + f + "\n";
  }
  if (!c.hypothesis.empty()) t += "\nHypothesis: " + c.hypothesis + "\n";
  t += "Confidence: " + c.confidence + "\n";
  if (!c.issues.empty()) {
    t += "\nIssues found:\n";
    for (const auto& i : c.issues)
      t += "- [" + str_of(i.as_object(), "severity") + "] " + str_of(i.as_object(), "description") + "\n";
  }
  auto names = [&](const char* heading, const json::array& a) {
    if (a.empty()) return;
    t += std::string("\n") + heading + ":\n";
    for (const auto& v : a) t += "- " + std::string(v.as_string()) + "\n";
  };
  names("Files examined", c.files_checked);
  names("Relevant files", c.relevant_files);
  names("Relevant code", c.relevant_context);
  return t;
}

asio::awaitable<tool_result> engine::expert() {
  const auto c = consolidate(wf_);
  auto prepared = prepare_call(*s_, args_, model_choice(), def_.expert_temperature, def_.expert_thinking);
  if (!prepared) co_return failure(def_, prepared.error().message, step_number_);
  auto call = std::move(*prepared);
  call.req.system = std::string(def_.expert_role) + std::string(texts::expert_format);
  std::string user = investigation_text(c);
  // The relevant files' text, under the file rules and half the model's context.
  std::vector<std::string> paths;
  for (const auto& v : c.relevant_files) paths.emplace_back(v.as_string());
  if (!paths.empty()) {
    if (!s_->files) co_return failure(def_, "relevant_files: no file policy is configured; files cannot be read", step_number_);
    auto read = s_->files->read_files(paths, static_cast<std::size_t>(call.model->context_window) * 4 / 2);
    if (!read) co_return failure(def_, "relevant_files: " + read.error().message, step_number_);
    user += texts::files_heading;
    for (const auto& f : *read) user += models::frame_file(f);
  }
  user += texts::expert_closing;
  call.req.messages.push_back(providers::message::user(user));

  progress_reporter progress{&ctx_, call.model->name + " is reviewing the investigation", 0, std::nullopt};
  progress.say("asking " + call.model->name + " for an expert review of " + std::to_string(c.steps) + " steps");
  auto done = co_await call.backend->async_complete(std::move(call.req), progress.sink());

  if (!done) {
    auto a = base_answer("error");
    a["content"] = provider_failure(*call.backend, done.error());
    a["metadata"].as_object()["model_used"] = call.model->name;
    a["metadata"].as_object()["provider_used"] = call.model->provider;
    if (!done.error().upstream_body.empty()) a["metadata"].as_object()["provider_error"] = done.error().upstream_body;
    co_return answer_of(a, true);
  }
  const auto& comp = *done;
  std::string why;
  auto parsed = extract_json_object(comp.text, &why);
  std::string status = "calling_expert_analysis";  // the reference's final status, kept for clients
  json::value expert_doc;
  if (parsed) {
    auto st = str_of(*parsed, "status");
    if (st == "files_required_to_continue" || st == "investigation_paused" || st == "refactoring_paused") status = st;
    expert_doc = std::move(*parsed);
  } else {
    json::object raw;
    raw["status"] = "analysis_complete";
    raw["raw_analysis"] = comp.text;
    raw["parse_error"] = why;
    expert_doc = std::move(raw);
  }
  if (comp.finish == providers::finish_reason::length || comp.finish == providers::finish_reason::content_filter) {
    auto a = base_answer("error");
    a["content"] = "The expert answer was cut short (" + std::string(providers::to_string(comp.finish)) + ").";
    a["expert_analysis"] = std::move(expert_doc);
    co_return answer_of(a, true);
  }
  // The review joins the thread's conversation, so chat (or any tool) can continue from it.
  models::turn q;
  q.content = user;
  q.files = paths;
  q.tool_name = std::string(def_.name);
  models::turn r;
  r.content = comp.text;
  r.tool_name = std::string(def_.name);
  r.provider = call.model->provider;
  r.model = call.model->name;
  (void)s_->store->add_exchange(id_, std::move(q), std::move(r));

  auto a = base_answer(status);
  a["expert_analysis"] = std::move(expert_doc);
  a["next_steps"] = def_.completion_guidance;
  a["important_considerations"] = texts::expert_caveat;
  a["complete_analysis"] = complete_analysis(def_, wf_, c);
  a["analysis_complete"] = true;
  auto& md = a["metadata"].as_object();
  md["model_used"] = comp.model.empty() ? call.model->name : comp.model;
  md["provider_used"] = call.model->provider;
  json::object usage;
  usage["input_tokens"] = comp.usage.input_tokens;
  usage["output_tokens"] = comp.usage.output_tokens;
  usage["total_tokens"] = comp.usage.total_tokens ? comp.usage.total_tokens : comp.usage.input_tokens + comp.usage.output_tokens;
  md["usage"] = std::move(usage);
  co_return answer_of(a);
}

// consensus: step k consults the k-th model of the roster fixed at step 1.
asio::awaitable<tool_result> engine::consult() {
  const auto& roster = wf_.at("tool").as_object().at("roster").as_array();
  const auto k = static_cast<std::size_t>(step_number_);
  if (k > roster.size())
    co_return failure(def_, "step_number: all " + std::to_string(roster.size()) +
                                " models were consulted; set next_step_required to false on the last one",
                      step_number_);
  const auto& entry = roster[k - 1].as_object();
  const auto model_name = str_of(entry, "model");
  const auto stance = str_of(entry, "stance");
  auto prepared = prepare_call(*s_, args_, model_name, 0.2, "");
  if (!prepared) co_return failure(def_, prepared.error().message, step_number_);
  auto call = std::move(*prepared);
  call.req.web_search = false;
  call.req.system = std::string(texts::consensus_role) + std::string(texts::stance(stance));
  if (auto extra = str_of(entry, "stance_prompt"); !extra.empty()) call.req.system += "\n\n" + extra;
  const auto& steps = wf_.at("steps").as_array();
  std::string user = "Proposal:\n" + str_of(wf_, "initial_request") + "\n";
  if (auto f = str_of(steps.front().as_object(), "findings"); !f.empty())
    user += "\nThe assistant's own analysis:\n" + f + "\n";
  if (k > 1) user += "\nCurrent step:\n" + str_of(args_, "step") + "\n";
  call.req.messages.push_back(providers::message::user(user));

  progress_reporter progress{&ctx_, call.model->name + " (" + stance + ") is weighing the proposal", 0, std::nullopt};
  progress.say("consulting " + call.model->name + " (" + stance + "), model " + std::to_string(k) + " of " +
               std::to_string(roster.size()));
  auto done = co_await call.backend->async_complete(std::move(call.req), progress.sink());
  if (!done) {
    auto a = base_answer("error");
    a["content"] = provider_failure(*call.backend, done.error()) + " (consulting " + call.model->name +
                   "; call this step again to retry)";
    co_return answer_of(a, true);
  }
  json::object response;
  response["model"] = call.model->name;
  response["stance"] = stance;
  response["status"] = "success";
  response["verdict"] = done->text;
  json::object rmd;
  rmd["provider"] = call.model->provider;
  rmd["model_name"] = done->model.empty() ? call.model->name : done->model;
  response["metadata"] = std::move(rmd);

  // Record the response (a resent step replaces its earlier one).
  json::array responses;
  auto stored = s_->store->update(id_, [&](json::object& state) -> codecs::result<void> {
    auto* wf = state.if_contains("workflow:" + std::string(def_.name));
    if (!wf || !wf->is_object()) return codecs::error(codecs::errc::invalid_params, "continuation_id: thread state lost");
    auto& r = wf->as_object()["tool"].as_object()["responses"];
    if (!r.is_array()) r = json::array();
    auto& arr = r.as_array();
    while (arr.size() >= k) arr.pop_back();
    arr.push_back(response);
    responses = arr;
    return {};
  });
  if (!stored) co_return failure(def_, stored.error().message, step_number_);

  final_ = final_ || k == roster.size();
  const std::string status = final_ ? "consensus_workflow_complete"
                             : k == 1 ? "analysis_and_first_model_consulted"
                                      : "model_consulted";
  auto a = final_ ? base_answer(status) : intermediate_doc();
  a["status"] = status;
  a["model_consulted"] = call.model->name;
  a["model_stance"] = stance;
  a["model_response"] = response;
  a["current_model_index"] = k;
  a["accumulated_responses"] = responses;
  if (final_) {
    json::object cc;
    cc["initial_prompt"] = str_of(wf_, "initial_request");
    json::array consulted;
    for (const auto& r : responses)
      consulted.emplace_back(str_of(r.as_object(), "model") + ":" + str_of(r.as_object(), "stance"));
    cc["models_consulted"] = std::move(consulted);
    cc["total_responses"] = responses.size();
    cc["consensus_confidence"] = consolidate(wf_).confidence;
    a["complete_consensus"] = std::move(cc);
    a["next_steps"] = def_.completion_guidance;
  } else {
    a["next_steps"] = def_.step_guidance;
  }
  co_return answer_of(a);
}

asio::awaitable<tool_result> engine::run() {
  step_number_ = int_of(args_, "step_number", 1);
  total_steps_ = std::max(int_of(args_, "total_steps", 1), step_number_);
  final_ = !bool_of(args_, "next_step_required", false);
  if (str_of(args_, "step").size() > step_size_limit) {
    json::object d;
    d["status"] = "resend_prompt";
    d["content"] = "The step text is longer than " + std::to_string(step_size_limit) +
                   " characters. Save it to a file, name that file's absolute path in relevant_files and "
                   "send a short step.";
    d["step_number"] = step_number_;
    co_return answer_of(d);
  }
  id_ = str_of(args_, "continuation_id");
  if (!id_.empty()) {
    auto t = s_->store->get(id_);
    if (!t)
      co_return failure(def_, "continuation_id: thread '" + id_ +
                                  "' was not found or has expired (threads live 3 hours after their last "
                                  "update); start again at step 1 without it",
                        step_number_);
    if (const auto* wf = t->state.if_contains("workflow:" + std::string(def_.name)); wf && wf->is_object())
      wf_ = wf->as_object();
  }
  if (auto problem = check()) co_return failure(def_, std::move(*problem), step_number_);
  if (def_.kind == final_kind::consensus && step_number_ > 1 && !wf_.contains("tool"))
    co_return failure(def_, "continuation_id: expected the id returned by step 1 (the models to consult are fixed there)",
                      step_number_);
  if (id_.empty()) id_ = s_->store->create(def_.name);
  auto recorded = s_->store->update(id_, [this](json::object& state) { return record(state); });
  if (!recorded) co_return failure(def_, recorded.error().message, step_number_);

  if (def_.kind == final_kind::consensus) {
    total_steps_ = static_cast<std::int64_t>(wf_.at("tool").as_object().at("roster").as_array().size());
    if (!s_->registry) co_return failure(def_, models::setup_hint(*s_), step_number_);
    co_return co_await consult();
  }
  if (!final_) co_return answer_of(intermediate_doc());
  if (def_.kind == final_kind::local) co_return finish_locally(def_.final_status);
  const bool ask = bool_of(args_, "use_assistant_model", true) && cfg_.expert_enabled && s_->registry &&
                   !s_->registry->available().empty();
  if (!ask) co_return finish_locally("local_work_complete");
  co_return co_await expert();
}

asio::awaitable<tool_result> run_tool(const definition& def, std::shared_ptr<models::services> s, settings cfg,
                                      json::object a, tool_context c) {
  engine e(def, std::move(s), cfg, std::move(a), std::move(c));
  co_return co_await e.run();
}

json::object schema_of(const definition& def) {
  auto common = json::parse(common_properties).as_object();
  json::object props;
  for (auto& [k, v] : common)
    if (std::find(def.omit.begin(), def.omit.end(), k) == def.omit.end()) props[k] = v;
  const auto own = json::parse(def.extra_properties);  // kept alive for the loop
  for (const auto& [k, v] : own.as_object()) props[k] = v;
  json::array required = {"step", "step_number", "total_steps", "next_step_required"};
  if (def.findings_required) required.emplace_back("findings");
  for (auto f : def.always_required) required.emplace_back(f);
  json::object schema;
  schema["type"] = "object";
  schema["properties"] = std::move(props);
  schema["required"] = std::move(required);
  schema["additionalProperties"] = false;
  return schema;
}

}  // namespace

settings settings::from_environment() {
  settings s;
  if (const char* v = std::getenv("EXPERT_ANALYSIS_ENABLED")) {
    std::string t(v);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    s.expert_enabled = !(t == "false" || t == "0" || t == "no" || t == "off");
  }
  return s;
}

std::optional<json::object> extract_json_object(std::string_view text, std::string* why) {
  auto try_parse = [](std::string_view t) -> std::optional<json::object> {
    boost::system::error_code ec;
    auto v = json::parse(t, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
  };
  if (auto o = try_parse(text)) return o;
  if (auto fence = text.find("```"); fence != std::string_view::npos) {
    auto body = text.find('\n', fence);
    auto end = body == std::string_view::npos ? body : text.find("```", body);
    if (end != std::string_view::npos)
      if (auto o = try_parse(text.substr(body + 1, end - body - 1))) return o;
  }
  // The first '{' to the '}' that closes it (strings and escapes respected).
  if (auto open = text.find('{'); open != std::string_view::npos) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (std::size_t i = open; i < text.size(); ++i) {
      const char ch = text[i];
      if (in_str) {
        if (esc) esc = false;
        else if (ch == '\\') esc = true;
        else if (ch == '"') in_str = false;
        continue;
      }
      if (ch == '"') in_str = true;
      else if (ch == '{') ++depth;
      else if (ch == '}' && --depth == 0) {
        if (auto o = try_parse(text.substr(open, i - open + 1))) return o;
        break;
      }
    }
  }
  if (why) *why = "the answer holds no JSON object (tried the whole text, a fenced block and the first {...})";
  return std::nullopt;
}

tool_spec make_tool(const definition& def, std::shared_ptr<models::services> s, settings cfg) {
  tool_spec t;
  t.name = std::string(def.name);
  t.title = std::string(def.title);
  t.description = std::string(def.description);
  t.input_schema = schema_of(def);
  json::object ann;
  ann["readOnlyHint"] = true;
  ann["openWorldHint"] = def.kind != final_kind::local;
  t.annotations = std::move(ann);
  if (def.kind != final_kind::local) t.call_timeout = models::model_call_budget;
  // A bad enum or a missing field is the tool's own error, like every other validation failure.
  t.invalid_arguments = [&def](const std::string& problem) { return failure(def, problem, 0); };
  // Not a coroutine lambda: its captures would die with the lambda while the call runs.
  t.handler = [&def, s = std::move(s), cfg](json::object a, tool_context c) {
    return run_tool(def, s, cfg, std::move(a), std::move(c));
  };
  return t;
}

std::vector<tool_spec> workflow_tools(std::shared_ptr<models::services> s, settings cfg) {
  std::vector<tool_spec> out;
  for (const auto& d : definitions()) out.push_back(make_tool(d, s, cfg));
  return out;
}

std::vector<std::pair<std::string, std::chrono::milliseconds>> workflow_tool_budgets() {
  std::vector<std::pair<std::string, std::chrono::milliseconds>> out;
  for (const auto& d : definitions())
    if (d.kind != final_kind::local) out.emplace_back(std::string(d.name), models::model_call_budget);
  return out;
}

}  // namespace exai::daemon::workflow
