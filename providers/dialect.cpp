// Request bodies and answer decoders of the OpenAI-compatible (GLM, Kimi) and Anthropic-compatible
// (MiniMax) dialects. Facts: exai-tools-reference.md §2.3 (payloads) and §2.4 (streaming).
#include "providers/dialect.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace exai::providers::dialect {

namespace json = boost::json;

namespace {

provider_error err(provider_errc c, std::string msg) {
  provider_error e;
  e.code = c;
  e.message = std::move(msg);
  return e;
}

std::string_view sv(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view{};
}

std::uint64_t u64(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return v->as_int64() > 0 ? static_cast<std::uint64_t>(v->as_int64()) : 0;
  return 0;
}

finish_reason map_finish(std::string_view raw) {
  if (raw == "stop" || raw == "end_turn" || raw == "stop_sequence") return finish_reason::stop;
  if (raw == "length" || raw == "max_tokens" || raw == "model_context_window_exceeded") {
    return finish_reason::length;
  }
  if (raw == "tool_calls" || raw == "tool_use" || raw == "function_call") {
    return finish_reason::tool_calls;
  }
  if (raw == "content_filter" || raw == "sensitive" || raw == "refusal") {
    return finish_reason::content_filter;
  }
  return finish_reason::other;
}

std::string text_of(const message& m) {
  std::string out;
  for (const auto& p : m.parts) {
    if (const auto* t = std::get_if<text_part>(&p)) out += t->text;
  }
  return out;
}

bool has_images(const request& req) {
  for (const auto& m : req.messages) {
    for (const auto& p : m.parts) {
      if (std::holds_alternative<image_part>(p)) return true;
    }
  }
  return false;
}

std::uint32_t max_tokens_for(const request& req, const model_info& m) {
  std::uint32_t cap = m.max_output ? m.max_output : 8192;
  return req.max_tokens ? std::min(*req.max_tokens, cap) : cap;
}

// ---- OpenAI-compatible ----------------------------------------------------------------------

json::value openai_content(const message& m) {
  bool images = std::any_of(m.parts.begin(), m.parts.end(),
                            [](const part& p) { return std::holds_alternative<image_part>(p); });
  if (!images) return json::string(text_of(m));
  json::array parts;
  for (const auto& p : m.parts) {
    if (const auto* t = std::get_if<text_part>(&p)) {
      parts.push_back(json::object{{"type", "text"}, {"text", t->text}});
    } else {
      const auto& img = std::get<image_part>(p);
      parts.push_back(json::object{
          {"type", "image_url"},
          {"image_url", {{"url", "data:" + img.media_type + ";base64," + img.base64}}}});
    }
  }
  return parts;
}

json::object openai_body(flavour f, const request& req, const model_info& m) {
  json::array msgs;
  if (!req.system.empty()) msgs.push_back(json::object{{"role", "system"}, {"content", req.system}});
  for (const auto& msg : req.messages) {
    json::object o;
    switch (msg.role) {
      case role::user:
        o["role"] = "user";
        o["content"] = openai_content(msg);
        break;
      case role::assistant: {
        o["role"] = "assistant";
        o["content"] = text_of(msg);
        if (!msg.tool_calls.empty()) {
          json::array calls;
          for (const auto& c : msg.tool_calls) {
            calls.push_back(json::object{{"id", c.id}, {"type", c.type},
                                         {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
          }
          o["tool_calls"] = std::move(calls);
        }
        break;
      }
      case role::tool:
        o["role"] = "tool";
        o["tool_call_id"] = msg.tool_call_id;
        if (!msg.name.empty()) o["name"] = msg.name;
        o["content"] = text_of(msg);
        break;
    }
    msgs.push_back(std::move(o));
  }
  json::object body{{"model", m.name}, {"messages", std::move(msgs)}, {"stream", req.stream}};
  // Both providers take temperature in [0, 1].
  if (req.temperature) body["temperature"] = std::clamp(*req.temperature, 0.0, 1.0);
  body["max_tokens"] = max_tokens_for(req, m);
  if (f == flavour::glm) {
    if (req.web_search && m.tools) {
      body["tools"] = json::array{json::object{
          {"type", "web_search"},
          {"web_search", {{"search_engine", "search_pro_jina"}, {"search_recency_filter", "oneWeek"},
                          {"content_size", "medium"}, {"result_sequence", "after"},
                          {"search_result", true}}}}};
      body["tool_choice"] = "auto";
    }
    if (m.thinking && req.thinking != thinking::automatic) {
      body["thinking"] = {{"type", req.thinking == thinking::on ? "enabled" : "disabled"}};
    }
  } else {
    if (req.web_search && m.tools) {
      body["tools"] = json::array{
          json::object{{"type", "builtin_function"}, {"function", {{"name", "$web_search"}}}}};
      body["tool_choice"] = "auto";
      // Moonshot: the builtin search needs thinking off on the K2 thinking models.
      if (m.thinking && m.name.starts_with("kimi-k2")) body["thinking"] = {{"type", "disabled"}};
    }
  }
  return body;
}

// ---- Anthropic-compatible (MiniMax) ---------------------------------------------------------

json::object anthropic_body(const request& req, const model_info& m) {
  json::array msgs;
  for (const auto& msg : req.messages) {
    json::array content;
    switch (msg.role) {
      case role::user:
        content.push_back(json::object{{"type", "text"}, {"text", text_of(msg)}});
        msgs.push_back(json::object{{"role", "user"}, {"content", std::move(content)}});
        break;
      case role::assistant: {
        std::string t = text_of(msg);
        if (!t.empty()) content.push_back(json::object{{"type", "text"}, {"text", t}});
        for (const auto& c : msg.tool_calls) {
          json::value input = json::object{};
          boost::system::error_code ec;
          auto parsed = json::parse(c.arguments, ec);
          if (!ec && parsed.is_object()) input = std::move(parsed);
          content.push_back(json::object{{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", input}});
        }
        msgs.push_back(json::object{{"role", "assistant"}, {"content", std::move(content)}});
        break;
      }
      case role::tool:
        content.push_back(json::object{{"type", "tool_result"}, {"tool_use_id", msg.tool_call_id},
                                       {"content", text_of(msg)}});
        msgs.push_back(json::object{{"role", "user"}, {"content", std::move(content)}});
        break;
    }
  }
  json::object body{{"model", m.name}, {"max_tokens", max_tokens_for(req, m)}};
  if (!req.system.empty()) body["system"] = req.system;  // top level, never a message
  body["messages"] = std::move(msgs);
  body["stream"] = req.stream;
  // MiniMax takes temperature in (0, 1].
  if (req.temperature) body["temperature"] = std::clamp(*req.temperature, 0.01, 1.0);
  if (m.thinking && req.thinking != thinking::automatic) {
    if (req.thinking == thinking::on) {
      std::uint32_t budget = 1024;
      if (req.thinking_effort == "medium") budget = 2048;
      if (req.thinking_effort == "high") budget = 4096;
      if (req.thinking_effort == "max") budget = 8192;
      body["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
    } else {
      body["thinking"] = {{"type", "disabled"}};
    }
  }
  return body;
}

result<json::object> parse_object(std::string_view text, std::string_view what, json::storage_ptr sp = {}) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, std::move(sp));
  if (ec || !v.is_object()) {
    return err(provider_errc::protocol, "malformed JSON in the provider's " + std::string(what));
  }
  return std::move(v.as_object());
}

// An error object streamed or returned with a 200 (both dialects put it under "error").
std::optional<provider_error> embedded_error(const json::object& o) {
  const auto* e = o.if_contains("error");
  if (!e || e->is_null()) return std::nullopt;
  provider_error pe;
  pe.code = provider_errc::server;
  pe.upstream_body = json::serialize(o);
  if (e->is_object()) {
    std::string_view type = sv(e->as_object(), "type");
    if (type == "rate_limit_error" || type == "rate_limit_exceeded") pe.code = provider_errc::rate_limited;
    if (type == "invalid_request_error") pe.code = provider_errc::bad_request;
    if (type == "authentication_error") pe.code = provider_errc::auth;
  }
  pe.message = "the provider reported an error";
  return pe;
}

usage openai_usage(const json::object& u) {
  usage r;
  r.input_tokens = u64(u, "prompt_tokens");
  r.output_tokens = u64(u, "completion_tokens");
  r.total_tokens = u64(u, "total_tokens");
  if (!r.total_tokens) r.total_tokens = r.input_tokens + r.output_tokens;
  return r;
}

}  // namespace

std::string_view path(flavour f) noexcept {
  return f == flavour::minimax ? "/v1/messages" : "/chat/completions";
}

result<json::object> build_body(flavour f, const request& req, const model_info& m) {
  if (has_images(req) && (!m.vision || f == flavour::minimax)) {
    return err(provider_errc::unsupported, "model '" + m.name + "' does not accept images");
  }
  if (f == flavour::minimax) return anthropic_body(req, m);
  return openai_body(f, req, m);
}

result<std::vector<event>> decode_body(flavour f, std::string_view body) {
  auto obj = parse_object(body, "answer");
  if (!obj) return obj.error();
  const json::object& o = *obj;
  if (auto e = embedded_error(o)) return *e;
  std::vector<event> out;
  if (f == flavour::minimax) {
    const auto* content = o.if_contains("content");
    if (!content || !content->is_array()) return err(provider_errc::protocol, "answer without content");
    for (const auto& b : content->as_array()) {
      if (!b.is_object()) continue;
      const auto& bo = b.as_object();
      std::string_view type = sv(bo, "type");
      if (type == "text") out.push_back(text_delta{std::string(sv(bo, "text"))});
      if (type == "thinking") out.push_back(reasoning_delta{std::string(sv(bo, "thinking"))});
      if (type == "tool_use") {
        const auto* in = bo.if_contains("input");
        out.push_back(tool_call_event{{std::string(sv(bo, "id")), "function", std::string(sv(bo, "name")),
                                       in ? json::serialize(*in) : "{}"}});
      }
    }
    if (const auto* u = o.if_contains("usage"); u && u->is_object()) {
      usage us;
      us.input_tokens = u64(u->as_object(), "input_tokens");
      us.output_tokens = u64(u->as_object(), "output_tokens");
      us.total_tokens = us.input_tokens + us.output_tokens;
      out.push_back(usage_event{us});
    }
    std::string raw(sv(o, "stop_reason"));
    out.push_back(finish_event{map_finish(raw), raw});
    return out;
  }
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array() || choices->as_array().empty() ||
      !choices->as_array()[0].is_object()) {
    return err(provider_errc::protocol, "answer without choices");
  }
  const auto& c0 = choices->as_array()[0].as_object();
  const auto* msg = c0.if_contains("message");
  if (msg && msg->is_object()) {
    const auto& mo = msg->as_object();
    if (auto r = sv(mo, "reasoning_content"); !r.empty()) out.push_back(reasoning_delta{std::string(r)});
    if (auto t = sv(mo, "content"); !t.empty()) out.push_back(text_delta{std::string(t)});
    if (const auto* tcs = mo.if_contains("tool_calls"); tcs && tcs->is_array()) {
      for (const auto& tc : tcs->as_array()) {
        if (!tc.is_object()) continue;
        const auto& to = tc.as_object();
        tool_call call{std::string(sv(to, "id")), std::string(sv(to, "type")), {}, {}};
        if (call.type.empty()) call.type = "function";
        if (const auto* fn = to.if_contains("function"); fn && fn->is_object()) {
          call.name = sv(fn->as_object(), "name");
          call.arguments = sv(fn->as_object(), "arguments");
        }
        out.push_back(tool_call_event{std::move(call)});
      }
    }
  }
  if (const auto* u = o.if_contains("usage"); u && u->is_object()) {
    out.push_back(usage_event{openai_usage(u->as_object())});
  }
  std::string raw(sv(c0, "finish_reason"));
  out.push_back(finish_event{map_finish(raw), raw});
  return out;
}

result<void> stream_decoder::on_event(const codecs::sse_event& ev, std::vector<event>& out) {
  if (done_) return {};
  return flavour_ == flavour::minimax ? on_anthropic(ev, out) : on_openai(ev, out);
}

void stream_decoder::flush(std::vector<event>& out) {
  for (auto& [index, call] : calls_) {
    if (call.type.empty()) call.type = "function";
    out.push_back(tool_call_event{std::move(call)});
  }
  calls_.clear();
}

result<void> stream_decoder::on_openai(const codecs::sse_event& ev, std::vector<event>& out) {
  if (ev.data == "[DONE]") {
    flush(out);
    done_ = true;
    return {};
  }
  // A streamed event is a small object read once: its values live in a stack buffer (one
  // allocation-free parse per event; what is kept is copied out below).
  unsigned char scratch[4096];
  json::monotonic_resource mr(scratch, sizeof scratch);
  auto obj = parse_object(ev.data, "stream", &mr);
  if (!obj) return obj.error();
  const json::object& o = *obj;
  if (auto e = embedded_error(o)) return *e;
  const json::object* usage_obj = nullptr;
  if (const auto* u = o.if_contains("usage"); u && u->is_object()) usage_obj = &u->as_object();
  const auto* choices = o.if_contains("choices");
  if (choices && choices->is_array() && !choices->as_array().empty() &&
      choices->as_array()[0].is_object()) {
    const auto& c0 = choices->as_array()[0].as_object();
    if (const auto* d = c0.if_contains("delta"); d && d->is_object()) {
      const auto& delta = d->as_object();
      if (auto r = sv(delta, "reasoning_content"); !r.empty()) out.push_back(reasoning_delta{std::string(r)});
      if (auto t = sv(delta, "content"); !t.empty()) out.push_back(text_delta{std::string(t)});
      if (const auto* tcs = delta.if_contains("tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tc : tcs->as_array()) {
          if (!tc.is_object()) continue;
          const auto& to = tc.as_object();
          std::int64_t index = static_cast<std::int64_t>(calls_.size());
          if (const auto* i = to.if_contains("index"); i && i->is_number()) {
            index = i->is_int64() ? i->as_int64() : static_cast<std::int64_t>(u64(to, "index"));
          }
          auto& call = calls_[index];
          if (auto id = sv(to, "id"); !id.empty()) call.id = id;
          if (auto ty = sv(to, "type"); !ty.empty()) call.type = ty;
          if (const auto* fn = to.if_contains("function"); fn && fn->is_object()) {
            call.name += sv(fn->as_object(), "name");
            call.arguments += sv(fn->as_object(), "arguments");
          }
        }
      }
    }
    // Moonshot puts usage inside the choice of the last chunk.
    if (const auto* u = c0.if_contains("usage"); u && u->is_object()) usage_obj = &u->as_object();
    if (const auto* fr = c0.if_contains("finish_reason"); fr && fr->is_string()) {
      flush(out);
      if (usage_obj) {
        out.push_back(usage_event{openai_usage(*usage_obj)});
        usage_obj = nullptr;
      }
      std::string raw(fr->as_string());
      out.push_back(finish_event{map_finish(raw), raw});
      finished_ = true;
    }
  }
  if (usage_obj) out.push_back(usage_event{openai_usage(*usage_obj)});
  return {};
}

result<void> stream_decoder::on_anthropic(const codecs::sse_event& ev, std::vector<event>& out) {
  unsigned char scratch[4096];  // as in on_openai
  json::monotonic_resource mr(scratch, sizeof scratch);
  auto obj = parse_object(ev.data, "stream", &mr);
  if (!obj) return obj.error();
  const json::object& o = *obj;
  std::string_view type = ev.event.empty() ? sv(o, "type") : std::string_view(ev.event);
  if (type == "ping") return {};
  if (type == "error") {
    provider_error pe;
    pe.code = provider_errc::server;
    pe.upstream_body = ev.data;
    if (const auto* e = o.if_contains("error"); e && e->is_object()) {
      if (sv(e->as_object(), "type") == "rate_limit_error") pe.code = provider_errc::rate_limited;
    }
    pe.message = "the provider reported an error mid-stream";
    return pe;
  }
  auto index_of = [&]() -> std::int64_t {
    const auto* i = o.if_contains("index");
    return i && i->is_int64() ? i->as_int64() : static_cast<std::int64_t>(u64(o, "index"));
  };
  if (type == "message_start") {
    if (const auto* m = o.if_contains("message"); m && m->is_object()) {
      if (const auto* u = m->as_object().if_contains("usage"); u && u->is_object()) {
        usage_.input_tokens = u64(u->as_object(), "input_tokens");
      }
    }
  } else if (type == "content_block_start") {
    std::int64_t i = index_of();
    const auto* b = o.if_contains("content_block");
    if (b && b->is_object()) {
      const auto& bo = b->as_object();
      block_type_[i] = std::string(sv(bo, "type"));
      if (sv(bo, "type") == "tool_use") {
        calls_[i] = tool_call{std::string(sv(bo, "id")), "function", std::string(sv(bo, "name")), {}};
      } else if (auto t = sv(bo, "text"); !t.empty()) {
        out.push_back(text_delta{std::string(t)});
      }
    }
  } else if (type == "content_block_delta") {
    std::int64_t i = index_of();
    const auto* d = o.if_contains("delta");
    if (d && d->is_object()) {
      const auto& delta = d->as_object();
      std::string_view dt = sv(delta, "type");
      if (dt == "text_delta") out.push_back(text_delta{std::string(sv(delta, "text"))});
      if (dt == "thinking_delta") out.push_back(reasoning_delta{std::string(sv(delta, "thinking"))});
      if (dt == "input_json_delta") calls_[i].arguments += sv(delta, "partial_json");
    }
  } else if (type == "content_block_stop") {
    std::int64_t i = index_of();
    if (auto it = calls_.find(i); it != calls_.end()) {
      if (it->second.arguments.empty()) it->second.arguments = "{}";
      out.push_back(tool_call_event{std::move(it->second)});
      calls_.erase(it);
    }
  } else if (type == "message_delta") {
    if (const auto* u = o.if_contains("usage"); u && u->is_object()) {
      usage_.output_tokens = u64(u->as_object(), "output_tokens");
      if (auto in = u64(u->as_object(), "input_tokens")) usage_.input_tokens = in;
    }
    usage_.total_tokens = usage_.input_tokens + usage_.output_tokens;
    out.push_back(usage_event{usage_});
    if (const auto* d = o.if_contains("delta"); d && d->is_object()) {
      if (const auto* sr = d->as_object().if_contains("stop_reason"); sr && sr->is_string()) {
        std::string raw(sr->as_string());
        flush(out);
        out.push_back(finish_event{map_finish(raw), raw});
        finished_ = true;
      }
    }
  } else if (type == "message_stop") {
    flush(out);
    done_ = true;
  }
  return {};
}

void accumulate(completion& c, const event& e) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, text_delta>) {
          c.text += x.text;
        } else if constexpr (std::is_same_v<T, reasoning_delta>) {
          c.reasoning += x.text;
        } else if constexpr (std::is_same_v<T, tool_call_event>) {
          c.tool_calls.push_back(x.call);
        } else if constexpr (std::is_same_v<T, usage_event>) {
          c.usage = x.usage;
        } else if constexpr (std::is_same_v<T, finish_event>) {
          c.finish = x.reason;
          c.finish_raw = x.raw;
        }
      },
      e);
}

}  // namespace exai::providers::dialect
