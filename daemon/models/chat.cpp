// The `chat` and `challenge` tools (exai-tools-reference §1.3, §1.4): chat resolves a model,
// replays the thread's history, embeds files and images under the file policy, streams the
// answer (deltas become progress) and records the exchange; challenge calls no model.
#include "daemon/models/model_tools.hpp"

#include "daemon/builtin_tools.hpp"
#include "daemon/models/prompts.hpp"
#include "daemon/models/services.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

namespace exai::daemon::models {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::tool_result;
using clock = std::chrono::steady_clock;

namespace {

// §1.4: the prompt limit above which the caller is asked to send the text as a file.
constexpr std::size_t prompt_size_limit = 60'000;
// How often streamed text is reported as progress (the first delta is reported at once).
constexpr auto progress_every = std::chrono::milliseconds(250);
// How much of the latest text a progress message quotes.
constexpr std::size_t progress_tail = 160;

// The §1.4 document every simple tool returns, as one text block (compact JSON).
tool_result tool_output(std::string_view status, std::string content, std::string_view content_type,
                        json::object metadata, std::optional<json::object> offer = std::nullopt) {
  json::object doc;
  doc["status"] = status;
  doc["content"] = std::move(content);
  doc["content_type"] = content_type;
  doc["metadata"] = std::move(metadata);
  if (offer) doc["continuation_offer"] = std::move(*offer);
  return tool_result::text(json::serialize(doc), status == "error");
}

tool_result chat_error(std::string message, json::object metadata = {}) {
  metadata["tool_name"] = "chat";
  return tool_output("error", std::move(message), "text", std::move(metadata));
}

std::vector<std::string> strings_of(const json::object& args, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = args.if_contains(key); v && v->is_array())
    for (const auto& e : v->get_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

std::string string_of(const json::object& args, std::string_view key) {
  if (const auto* v = args.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

json::object usage_json(const providers::usage& u) {
  json::object o;
  o["input_tokens"] = u.input_tokens;
  o["output_tokens"] = u.output_tokens;
  o["total_tokens"] = u.total_tokens ? u.total_tokens : u.input_tokens + u.output_tokens;
  return o;
}

// Turns the stream's deltas into progress reports: a count that only grows (characters received)
// and a message with the newest text, at most every progress_every.
struct progress_relay {
  const tool_context* ctx = nullptr;
  std::string model;
  std::size_t chars = 0;
  std::string tail;  // the newest text, at most progress_tail bytes (whole UTF-8 characters)
  bool thinking = false;
  bool with_chunks = false;  // the caller asked for "stream": the answer's text rides along
  std::string pending;       // answer text not yet reported
  std::optional<clock::time_point> last;

  void add(std::string_view text, bool reasoning) {
    chars += text.size();
    thinking = reasoning;
    if (with_chunks && !reasoning) pending.append(text);
    tail.append(text);
    if (tail.size() > 2 * progress_tail) {
      auto cut = tail.size() - progress_tail;
      while (cut < tail.size() && (static_cast<unsigned char>(tail[cut]) & 0xC0) == 0x80) ++cut;
      tail.erase(0, cut);
    }
    report(false);
  }

  void report(bool force, std::string note = {}) {
    if (!ctx || !ctx->progress) return;
    const auto now = clock::now();
    if (!force && last && now - *last < progress_every) return;
    last = now;
    codecs::progress_update u;
    u.progress = static_cast<double>(chars);
    u.chunk = std::move(pending);
    pending.clear();
    if (!note.empty()) {
      u.message = std::move(note);
    } else {
      std::string shown = tail.size() > progress_tail ? tail.substr(tail.size() - progress_tail) : tail;
      while (!shown.empty() && (static_cast<unsigned char>(shown.front()) & 0xC0) == 0x80) shown.erase(0, 1);
      std::replace(shown.begin(), shown.end(), '\n', ' ');
      u.message = model + (thinking ? " is thinking (" : " is answering (") + std::to_string(chars) +
                  " characters so far): ..." + shown;
    }
    ctx->progress(u);
  }

  // The text that arrived since the last report, once the stream has ended.
  void flush() {
    if (!pending.empty()) report(true);
  }
};

struct chat_args {
  std::string prompt;
  std::vector<std::string> files, images;
  std::string model;
  bool model_given = false;
  std::optional<double> temperature;
  std::string thinking_mode;
  bool use_websearch = true;
  bool stream = false;
  std::string continuation_id;
};

chat_args parse(const json::object& a) {
  chat_args c;
  c.prompt = string_of(a, "prompt");
  c.files = strings_of(a, "files");
  c.images = strings_of(a, "images");
  c.model = string_of(a, "model");
  c.model_given = !c.model.empty();
  if (const auto* t = a.if_contains("temperature"); t && t->is_number()) c.temperature = t->to_number<double>();
  c.thinking_mode = string_of(a, "thinking_mode");
  if (const auto* w = a.if_contains("use_websearch"); w && w->is_bool()) c.use_websearch = w->get_bool();
  c.continuation_id = string_of(a, "continuation_id");
  if (const auto* st = a.if_contains("stream"); st && st->is_bool()) c.stream = st->get_bool();
  return c;
}

std::string model_list(const providers::registry& r) {
  std::string out;
  for (const auto* m : r.available()) out += (out.empty() ? "" : ", ") + m->name;
  return out;
}

asio::awaitable<tool_result> chat_call(std::shared_ptr<services> s, json::object args, tool_context ctx) {
  auto a = parse(args);
  if (a.prompt.size() > prompt_size_limit) {
    json::object md;
    md["tool_name"] = "chat";
    co_return tool_output("resend_prompt",
                          "The prompt is " + std::to_string(a.prompt.size()) + " characters long, over the limit of " +
                              std::to_string(prompt_size_limit) +
                              ". Save it to a file named prompt.txt, then call chat again with a short prompt "
                              "and that file's absolute path in `files`.",
                          "text", std::move(md));
  }
  if (!s->registry) co_return chat_error(setup_hint(*s));

  // The thread, when continuing: its history is replayed and, without `model`, its model kept.
  std::optional<thread_view> thread;
  if (!a.continuation_id.empty()) {
    thread = s->store->get(a.continuation_id);
    if (!thread)
      co_return chat_error("Conversation thread '" + a.continuation_id +
                           "' was not found or has expired (threads are kept for 3 hours after their last "
                           "exchange). Call chat again without continuation_id to start a new conversation.");
    if (thread->exchanges >= s->store->limits().max_exchanges)
      co_return chat_error("Conversation thread '" + a.continuation_id + "' has reached its limit of " +
                           std::to_string(s->store->limits().max_exchanges) +
                           " exchanges. Start a new conversation without continuation_id.");
    if (!a.model_given)
      for (auto it = thread->turns.rbegin(); it != thread->turns.rend(); ++it)
        if (it->role == turn_role::assistant && !it->model.empty()) {
          if (s->registry->resolve(it->model)) a.model = it->model;
          break;
        }
  }

  auto resolved = s->registry->resolve(a.model);
  if (!resolved) co_return chat_error(resolved.error().message);
  const providers::model_info& model = *resolved->model;

  // Files: read under the policy, half of the model's context (≈4 bytes a token) at most.
  std::vector<file_policy::text_file> files;
  if (!a.files.empty()) {
    if (!s->files) co_return chat_error("files: no file policy is configured; files cannot be read");
    const std::size_t budget = static_cast<std::size_t>(model.context_window) * 4 / 2;
    auto read = s->files->read_files(a.files, budget);
    if (!read) co_return chat_error("files: " + read.error().message);
    files = std::move(*read);
  }
  // A file named prompt.txt carries the prompt (the answer to resend_prompt).
  for (auto it = files.begin(); it != files.end();) {
    if (std::string_view(it->path).ends_with("/prompt.txt")) {
      a.prompt = a.prompt.empty() ? std::move(it->content) : a.prompt + "\n\n" + it->content;
      it = files.erase(it);
    } else {
      ++it;
    }
  }

  std::vector<file_policy::image> images;
  if (!a.images.empty()) {
    if (!model.vision) {
      std::string which;
      for (const auto* m : s->registry->available())
        if (m->vision) which += (which.empty() ? "" : ", ") + m->name;
      co_return chat_error("images: model '" + model.name + "' does not accept images; models that do: " +
                           (which.empty() ? "none configured" : which));
    }
    if (!s->files) co_return chat_error("images: no file policy is configured; images cannot be read");
    auto read = s->files->read_images(a.images);
    if (!read) co_return chat_error("images: " + read.error().message);
    images = std::move(*read);
  }

  // The request: history as native messages, then the new user turn.
  providers::request req;
  req.model = model.name;
  req.system = std::string(prompts::chat_system);
  req.web_search = a.use_websearch && model.tools;
  if (req.web_search) req.system += prompts::chat_web_search;
  req.temperature = a.temperature.value_or(0.5);
  if (!a.thinking_mode.empty() && model.thinking) {
    req.thinking = a.thinking_mode == "minimal" ? providers::thinking::off : providers::thinking::on;
    req.thinking_effort = a.thinking_mode;
  }
  req.stream = true;

  std::set<std::string> seen_files;
  if (thread)
    for (const auto& t : thread->turns) {
      req.messages.push_back(t.role == turn_role::user ? providers::message::user(t.content)
                                                        : providers::message::assistant(t.content));
      for (const auto& f : t.files) seen_files.insert(f);
    }
  std::string user_text = a.prompt;
  std::vector<std::string> embedded;
  if (!files.empty()) {
    user_text += prompts::files_heading;
    for (const auto& f : files) {
      if (seen_files.count(f.path)) {
        user_text += f.path + " " + std::string(prompts::file_seen_before) + "\n";
        continue;
      }
      user_text += frame_file(f);
      embedded.push_back(f.path);
    }
  }
  auto user = providers::message::user(user_text);
  for (auto& img : images) user.parts.emplace_back(providers::image_part{img.mime, std::move(img.base64)});
  req.messages.push_back(std::move(user));

  // Stream: each delta feeds the progress relay; cancelling this coroutine closes the stream.
  progress_relay relay;
  relay.ctx = &ctx;
  relay.model = model.name;
  relay.with_chunks = a.stream;
  providers::event_sink sink = [&relay](const providers::event& e) {
    if (const auto* t = std::get_if<providers::text_delta>(&e)) {
      relay.add(t->text, false);
    } else if (const auto* r = std::get_if<providers::reasoning_delta>(&e)) {
      relay.add(r->text, true);
    } else if (const auto* rt = std::get_if<providers::retry_event>(&e)) {
      relay.report(true, relay.model + ": attempt " + std::to_string(rt->attempt) + " failed (" + rt->reason +
                             "), retrying in " + std::to_string(rt->delay.count()) + " ms");
    }
  };
  auto done = co_await resolved->backend->async_complete(std::move(req), std::move(sink));
  if (done) relay.flush();

  json::object md;
  md["tool_name"] = "chat";
  md["model_used"] = model.name;
  md["provider_used"] = model.provider;
  if (!done) {
    const auto& e = done.error();
    std::string msg = std::string(resolved->backend->display_name()) + " call failed (" +
                      std::string(providers::to_string(e.code)) + "): " + e.message;
    if (e.http_status) md["http_status"] = e.http_status;
    if (!e.upstream_body.empty()) md["provider_error"] = e.upstream_body;
    co_return chat_error(std::move(msg), std::move(md));
  }
  const auto& c = *done;
  if (!c.model.empty()) md["model_used"] = c.model;
  md["usage"] = usage_json(c.usage);
  md["finish_reason"] = providers::to_string(c.finish);
  if (!c.reasoning.empty()) md["reasoning_chars"] = c.reasoning.size();
  if (c.finish == providers::finish_reason::length || c.finish == providers::finish_reason::content_filter) {
    co_return tool_output("error",
                          "Response incomplete: " + std::string(providers::to_string(c.finish)) +
                              ". The model stopped before finishing its answer; what it wrote follows.\n\n" + c.text,
                          "text", std::move(md));
  }

  // Remember the exchange; the thread is opened on the first answer.
  std::string id = a.continuation_id;
  if (id.empty()) id = s->store->create("chat");
  turn req_turn;
  req_turn.content = std::move(user_text);
  req_turn.files = std::move(embedded);
  req_turn.tool_name = "chat";
  turn ans_turn;
  ans_turn.content = c.text;
  ans_turn.tool_name = "chat";
  ans_turn.provider = model.provider;
  ans_turn.model = model.name;
  auto stored = s->store->add_exchange(id, std::move(req_turn), std::move(ans_turn));
  md["conversation_ready"] = stored.has_value();

  std::optional<json::object> offer;
  const auto left = stored ? s->store->remaining_exchanges(id) : 0;
  if (left > 0) {
    json::object o;
    o["continuation_id"] = id;
    o["note"] = "You can continue this conversation for " + std::to_string(left) + " more exchange" +
                (left == 1 ? "" : "s") + " by passing continuation_id.";
    o["remaining_turns"] = left;
    offer = std::move(o);
  }
  co_return tool_output(offer ? "continuation_available" : "success", c.text + std::string(prompts::chat_closing),
                        "text", std::move(md), std::move(offer));
}

asio::awaitable<tool_result> challenge_call(json::object args, tool_context) {
  const std::string statement = string_of(args, "prompt");
  json::object inner;
  inner["original_statement"] = statement;
  inner["challenge_prompt"] = std::string(prompts::challenge_preamble) + statement;
  inner["instructions"] = prompts::challenge_instructions;
  json::object md;
  md["tool_name"] = "challenge";
  co_return tool_output("success", json::serialize(inner), "json", std::move(md));
}

json::object chat_schema(const services& s) {
  auto schema = json::parse(R"({"type":"object","properties":{
    "prompt":{"type":"string","description":"The question or idea, with the context the model needs."},
    "files":{"type":"array","items":{"type":"string"},"description":"Absolute paths of text files or folders to attach."},
    "images":{"type":"array","items":{"type":"string"},"description":"Absolute paths of images, or data: URLs (vision models only; at most 5)."},
    "model":{"type":"string"},
    "temperature":{"type":"number","minimum":0,"maximum":1,"description":"0 = deterministic, 1 = creative (default 0.5)."},
    "thinking_mode":{"type":"string","enum":["minimal","low","medium","high","max"],"description":"Reasoning depth for models that can think."},
    "use_websearch":{"type":"boolean","default":true,"description":"Let the model search the web where the provider supports it."},
    "continuation_id":{"type":"string","maxLength":200,"description":"Continue an earlier conversation (from its continuation_offer)."},
    "stream":{"type":"boolean","default":false,"description":"Also send the answer's text as it streams (op stream_chunk); progress is reported either way."},
    "kimi_thinking":{"type":"string","enum":["enabled"],"description":"Accepted for compatibility; choose a thinking model instead."}},
    "required":["prompt"],"additionalProperties":false})").as_object();
  std::string desc = "The model to ask. ";
  if (s.registry) {
    const auto list = model_list(*s.registry);
    desc += list.empty() ? "No provider is configured yet. "
                         : "Configured: " + list + ". ";
    desc += "'auto' picks one. Default: " + s.registry->default_model() + ".";
  } else {
    desc += "No provider is configured yet.";
  }
  schema["properties"].as_object()["model"].as_object()["description"] = desc;
  return schema;
}

}  // namespace

std::vector<std::pair<std::string, std::chrono::milliseconds>> model_tool_budgets() {
  return {{"chat", model_call_budget}};
}

std::vector<tool_spec> model_tools(std::shared_ptr<services> s) {
  std::vector<tool_spec> out;
  auto chat = [s](json::object a, tool_context c) { return chat_call(s, std::move(a), std::move(c)); };
  out.push_back({
      .name = "chat",
      .title = "Chat with a model",
      .description =
          "Ask a GLM, Kimi or MiniMax model for a second opinion, an explanation or ideas. Attach "
          "files and images by absolute path; continue a conversation with the continuation_id of "
          "an earlier answer. Returns JSON with status, content and metadata.",
      .input_schema = chat_schema(*s),
      .annotations = builtin::read_only_annotations(true),
      .handler = std::move(chat),
      .call_timeout = model_call_budget,
  });
  out.push_back({
      .name = "challenge",
      .title = "Challenge a statement",
      .description =
          "Wraps a statement (often the user's pushback) in instructions to re-examine it "
          "critically instead of agreeing by reflex. Calls no model; returns JSON for the calling "
          "assistant.",
      .input_schema = json::parse(R"({"type":"object","properties":{
        "prompt":{"type":"string","description":"The statement to examine critically."}},
        "required":["prompt"],"additionalProperties":false})").as_object(),
      .annotations = builtin::read_only_annotations(false),
      .handler = challenge_call,
  });
  return out;
}

}  // namespace exai::daemon::models
