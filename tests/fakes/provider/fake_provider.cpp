// exai-fake-provider: a TEST DOUBLE of the model providers (GLM, Kimi: OpenAI chat completions;
// MiniMax: Anthropic messages). No real model can run on the test machines, so this answers
// with scripted or derived text, over HTTP/1.1 or HTTPS (Beast + OpenSSL, a certificate made at
// test time), in JSON or SSE, with faults on demand, and records every request and every close.
// See README.md in this folder for the CLI and the scenario format.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct config {
  std::string listen = "127.0.0.1:0";
  std::string ready_file;
  std::string tls_cert, tls_key;
  std::string scenario_file;
  std::string record_file;
  std::string require_key;
  int chunks = 8;
  int chunk_interval_ms = 0;
  int reply_words = 0;  // 0: derived from the request only
  bool verbose = false;
};

config g_cfg;
std::FILE* g_record = nullptr;
std::uint64_t g_seq = 0;
std::uint64_t g_conn_seq = 0;

// Microseconds on the system-wide monotonic clock (steady_clock is CLOCK_MONOTONIC on Linux), so
// a close can be compared with a time taken in another process (scripts/bench: model-chat-cancel).
std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void record(const json::object& o) {
  if (!g_record) return;
  std::string line = json::serialize(o);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), g_record);
  std::fflush(g_record);
}

void log(const std::string& s) {
  if (g_cfg.verbose) std::cerr << "fake-provider: " << s << "\n";
}

// ------------------------------------------------------------------------------------------
// Scenario
// ------------------------------------------------------------------------------------------

struct step {
  json::object spec;
  bool used = false;
};
std::vector<step> g_steps;
json::object g_default;  // "default" section: chunks, interval_ms, reply overrides

bool matches(const json::object& spec, std::string_view path, const json::value& body,
             const std::string& body_text) {
  const auto* m = spec.if_contains("match");
  if (!m || !m->is_object()) return true;
  const auto& mo = m->as_object();
  if (const auto* p = mo.if_contains("path"); p && p->is_string()) {
    std::string_view want = p->as_string();
    if (path.size() < want.size() || path.substr(path.size() - want.size()) != want) return false;
  }
  if (const auto* mod = mo.if_contains("model"); mod && mod->is_string()) {
    const auto* bm = body.is_object() ? body.as_object().if_contains("model") : nullptr;
    if (!bm || !bm->is_string() || bm->as_string() != mod->as_string()) return false;
  }
  if (const auto* c = mo.if_contains("contains"); c && c->is_string()) {
    if (body_text.find(std::string_view(c->as_string())) == std::string::npos) return false;
  }
  if (const auto* s = mo.if_contains("stream"); s && s->is_bool()) {
    const auto* bs = body.is_object() ? body.as_object().if_contains("stream") : nullptr;
    bool streaming = bs && bs->is_bool() && bs->as_bool();
    if (streaming != s->as_bool()) return false;
  }
  return true;
}

json::object pick_step(std::string_view path, const json::value& body, const std::string& text) {
  for (auto& s : g_steps) {
    if (s.used) continue;
    if (!matches(s.spec, path, body, text)) continue;
    const auto* rep = s.spec.if_contains("repeat");
    if (!(rep && rep->is_bool() && rep->as_bool())) s.used = true;
    return s.spec;
  }
  return {};
}

std::int64_t num(const json::object& o, std::string_view k, std::int64_t dflt) {
  const auto* v = o.if_contains(k);
  if (!v) return dflt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return dflt;
}
std::string str(const json::object& o, std::string_view k, std::string dflt = {}) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : dflt;
}

// ------------------------------------------------------------------------------------------
// The reply: what the "model" says, derived from the request unless the step scripts it.
// ------------------------------------------------------------------------------------------

struct reply {
  std::string text;
  std::string reasoning;
  json::array tool_calls;  // [{id,type,name,arguments}]
  std::string finish = "stop";  // OpenAI words; mapped for Anthropic
  std::int64_t input_tokens = 0, output_tokens = 0;
};

std::string text_of(const json::value& content) {
  if (content.is_string()) return std::string(content.as_string());
  std::string out;
  if (const auto* a = content.if_array()) {
    for (const auto& p : *a) {
      if (!p.is_object()) continue;
      const auto& po = p.as_object();
      if (str(po, "type") == "text") out += str(po, "text");
    }
  }
  return out;
}

std::string last_user_text(const json::value& body) {
  if (!body.is_object()) return {};
  const auto* msgs = body.as_object().if_contains("messages");
  if (!msgs || !msgs->is_array()) return {};
  const auto& a = msgs->as_array();
  for (auto it = a.rbegin(); it != a.rend(); ++it) {
    if (!it->is_object()) continue;
    const auto& m = it->as_object();
    if (str(m, "role") == "user" || str(m, "role") == "tool") {
      if (const auto* c = m.if_contains("content")) return text_of(*c);
    }
  }
  return {};
}

bool wants_thinking(const json::value& body) {
  if (!body.is_object()) return false;
  const auto* t = body.as_object().if_contains("thinking");
  if (!t || !t->is_object()) return false;
  std::string type = str(t->as_object(), "type");
  return type == "enabled";
}

reply make_reply(const json::object& spec, const json::value& body, std::string_view model) {
  reply r;
  const json::object* scripted = nullptr;
  if (const auto* v = spec.if_contains("reply"); v && v->is_object()) scripted = &v->as_object();
  std::string prompt = last_user_text(body);
  if (scripted && scripted->contains("text")) {
    r.text = str(*scripted, "text");
  } else {
    std::string shown = prompt.size() > 200 ? prompt.substr(0, 200) + "..." : prompt;
    r.text = "[fake " + std::string(model) + "] You said: " + shown;
    int words = static_cast<int>(num(g_default, "reply_words", g_cfg.reply_words));
    for (int i = 0; i < words; ++i) r.text += " word" + std::to_string(i);
  }
  if (scripted && scripted->contains("reasoning")) {
    r.reasoning = str(*scripted, "reasoning");
  } else if (wants_thinking(body)) {
    r.reasoning = "Considering the request of " + std::to_string(prompt.size()) + " characters.";
  }
  if (scripted) {
    if (const auto* tc = scripted->if_contains("tool_calls"); tc && tc->is_array()) {
      r.tool_calls = tc->as_array();
    }
    r.finish = str(*scripted, "finish_reason", r.tool_calls.empty() ? "stop" : "tool_calls");
  }
  r.input_tokens = static_cast<std::int64_t>(json::serialize(body).size() / 4);
  r.output_tokens = static_cast<std::int64_t>((r.text.size() + r.reasoning.size()) / 4 + 1);
  if (scripted) {
    if (const auto* u = scripted->if_contains("usage"); u && u->is_object()) {
      r.input_tokens = num(u->as_object(), "input_tokens", r.input_tokens);
      r.output_tokens = num(u->as_object(), "output_tokens", r.output_tokens);
    }
  }
  return r;
}

// Splits s into n pieces of nearly equal size (at least one piece, possibly empty).
std::vector<std::string> split(const std::string& s, int n) {
  n = std::max(1, n);
  std::vector<std::string> out;
  std::size_t per = s.size() / static_cast<std::size_t>(n);
  std::size_t extra = s.size() % static_cast<std::size_t>(n);
  std::size_t pos = 0;
  for (int i = 0; i < n; ++i) {
    std::size_t len = per + (static_cast<std::size_t>(i) < extra ? 1 : 0);
    out.push_back(s.substr(pos, len));
    pos += len;
  }
  return out;
}

std::string anthropic_stop(const std::string& f) {
  if (f == "length") return "max_tokens";
  if (f == "tool_calls") return "tool_use";
  if (f == "stop") return "end_turn";
  return f;
}

// The whole answer as one JSON body.
json::object full_body(bool anthropic, const reply& r, std::string_view model) {
  if (anthropic) {
    json::array content;
    if (!r.reasoning.empty()) {
      content.push_back(json::object{{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", "fake"}});
    }
    if (!r.text.empty()) content.push_back(json::object{{"type", "text"}, {"text", r.text}});
    for (const auto& tc : r.tool_calls) {
      const auto& t = tc.as_object();
      json::value input = json::parse(str(t, "arguments", "{}"));
      content.push_back(json::object{{"type", "tool_use"}, {"id", str(t, "id")}, {"name", str(t, "name")}, {"input", input}});
    }
    return {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", model},
            {"content", content}, {"stop_reason", anthropic_stop(r.finish)}, {"stop_sequence", nullptr},
            {"usage", {{"input_tokens", r.input_tokens}, {"output_tokens", r.output_tokens}}}};
  }
  json::object msg{{"role", "assistant"}, {"content", r.text}};
  if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) {
    json::array calls;
    for (const auto& tc : r.tool_calls) {
      const auto& t = tc.as_object();
      calls.push_back(json::object{{"id", str(t, "id")}, {"type", str(t, "type", "function")},
                                   {"function", {{"name", str(t, "name")}, {"arguments", str(t, "arguments")}}}});
    }
    msg["tool_calls"] = calls;
  }
  return {{"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", 1700000000}, {"model", model},
          {"choices", json::array{json::object{{"index", 0}, {"message", msg}, {"finish_reason", r.finish}}}},
          {"usage", {{"prompt_tokens", r.input_tokens}, {"completion_tokens", r.output_tokens},
                     {"total_tokens", r.input_tokens + r.output_tokens}}}};
}

std::string sse(std::string_view data, std::string_view event = {}) {
  std::string out;
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += "\n";
  }
  out += "data: ";
  out += data;
  out += "\n\n";
  return out;
}

// The answer as SSE events, `chunks` content deltas in all (reasoning first, then text).
std::vector<std::string> stream_events(bool anthropic, const reply& r, std::string_view model, int chunks) {
  std::vector<std::string> ev;
  int reasoning_chunks = r.reasoning.empty() ? 0 : std::max(1, chunks / 4);
  int text_chunks = std::max(1, chunks - reasoning_chunks);
  if (anthropic) {
    ev.push_back(sse(json::serialize(json::object{{"type", "message_start"}, {"message",
        {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", json::array{}},
         {"stop_reason", nullptr}, {"usage", {{"input_tokens", r.input_tokens}, {"output_tokens", 0}}}}}}), "message_start"));
    int index = 0;
    if (reasoning_chunks) {
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_start"}, {"index", index},
          {"content_block", {{"type", "thinking"}, {"thinking", ""}}}}), "content_block_start"));
      for (const auto& piece : split(r.reasoning, reasoning_chunks)) {
        ev.push_back(sse(json::serialize(json::object{{"type", "content_block_delta"}, {"index", index},
            {"delta", {{"type", "thinking_delta"}, {"thinking", piece}}}}), "content_block_delta"));
      }
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_delta"}, {"index", index},
          {"delta", {{"type", "signature_delta"}, {"signature", "fake"}}}}), "content_block_delta"));
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_stop"}, {"index", index}}), "content_block_stop"));
      ++index;
    }
    ev.push_back(sse(R"({"type":"ping"})", "ping"));
    ev.push_back(sse(json::serialize(json::object{{"type", "content_block_start"}, {"index", index},
        {"content_block", {{"type", "text"}, {"text", ""}}}}), "content_block_start"));
    for (const auto& piece : split(r.text, text_chunks)) {
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_delta"}, {"index", index},
          {"delta", {{"type", "text_delta"}, {"text", piece}}}}), "content_block_delta"));
    }
    ev.push_back(sse(json::serialize(json::object{{"type", "content_block_stop"}, {"index", index}}), "content_block_stop"));
    for (const auto& tc : r.tool_calls) {
      ++index;
      const auto& t = tc.as_object();
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_start"}, {"index", index},
          {"content_block", {{"type", "tool_use"}, {"id", str(t, "id")}, {"name", str(t, "name")}, {"input", json::object{}}}}}),
          "content_block_start"));
      for (const auto& piece : split(str(t, "arguments", "{}"), 2)) {
        ev.push_back(sse(json::serialize(json::object{{"type", "content_block_delta"}, {"index", index},
            {"delta", {{"type", "input_json_delta"}, {"partial_json", piece}}}}), "content_block_delta"));
      }
      ev.push_back(sse(json::serialize(json::object{{"type", "content_block_stop"}, {"index", index}}), "content_block_stop"));
    }
    ev.push_back(sse(json::serialize(json::object{{"type", "message_delta"},
        {"delta", {{"stop_reason", anthropic_stop(r.finish)}, {"stop_sequence", nullptr}}},
        {"usage", {{"output_tokens", r.output_tokens}}}}), "message_delta"));
    ev.push_back(sse(R"({"type":"message_stop"})", "message_stop"));
    return ev;
  }
  auto chunk = [&](json::object delta, json::value finish) {
    return sse(json::serialize(json::object{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"},
        {"created", 1700000000}, {"model", model},
        {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}}));
  };
  bool first = true;
  auto role = [&](json::object d) {
    if (first) d["role"] = "assistant";
    first = false;
    return d;
  };
  if (reasoning_chunks) {
    for (const auto& piece : split(r.reasoning, reasoning_chunks)) {
      ev.push_back(chunk(role({{"reasoning_content", piece}}), nullptr));
    }
  }
  for (const auto& piece : split(r.text, text_chunks)) ev.push_back(chunk(role({{"content", piece}}), nullptr));
  int i = 0;
  for (const auto& tc : r.tool_calls) {
    const auto& t = tc.as_object();
    auto parts = split(str(t, "arguments"), 2);
    ev.push_back(chunk(role({{"tool_calls", json::array{json::object{{"index", i}, {"id", str(t, "id")},
        {"type", str(t, "type", "function")}, {"function", {{"name", str(t, "name")}, {"arguments", parts[0]}}}}}}}), nullptr));
    ev.push_back(chunk({{"tool_calls", json::array{json::object{{"index", i},
        {"function", {{"arguments", parts.size() > 1 ? parts[1] : std::string()}}}}}}}, nullptr));
    ++i;
  }
  ev.push_back(sse(json::serialize(json::object{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"},
      {"created", 1700000000}, {"model", model},
      {"choices", json::array{json::object{{"index", 0}, {"delta", json::object{}}, {"finish_reason", r.finish}}}},
      {"usage", {{"prompt_tokens", r.input_tokens}, {"completion_tokens", r.output_tokens},
                 {"total_tokens", r.input_tokens + r.output_tokens}}}})));
  ev.push_back(sse("[DONE]"));
  return ev;
}

// ------------------------------------------------------------------------------------------
// Connections
// ------------------------------------------------------------------------------------------

template <class Stream>
struct session : std::enable_shared_from_this<session<Stream>> {
  session(Stream s, std::uint64_t id) : stream(std::move(s)), wake(stream.get_executor()), conn_id(id) {}

  Stream stream;
  beast::flat_buffer buffer;
  asio::steady_timer wake;   // waits between chunks / while stalled; cancelled when the peer closes
  std::uint64_t conn_id;
  bool peer_closed = false;
  bool watching = false;
  bool watch_done = false;
  std::uint64_t current_seq = 0;
  bool responding = false;
  int chunks_sent = 0;

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }

  // The client went away in the middle of a response: recorded once per response, by whichever
  // operation notices first (the watch read, or a write or pause of the response itself).
  bool close_noted = false;
  void note_client_closed() {
    if (!responding || close_noted) return;
    close_noted = true;
    record({{"event", "client_closed"}, {"request", current_seq}, {"conn", conn_id},
            {"complete", false}, {"chunks_sent", chunks_sent}, {"mono_us", mono_us()}});
  }

  // While a response is written, a read is kept pending so a client close is seen at once.
  void start_watch() {
    watching = true;
    watch_done = false;
    auto self = this->shared_from_this();
    auto buf = buffer.prepare(4096);
    stream.async_read_some(buf, [self](error_code ec, std::size_t n) {
      self->buffer.commit(n);
      self->watch_done = true;
      self->watching = false;
      if (ec) {
        self->peer_closed = true;
        self->note_client_closed();
      }
      self->wake.cancel();  // a close ends a pause; data (the next request) ends the idle wait
    });
  }

  // Waits d (or forever) unless the peer closes; false when it closed.
  asio::awaitable<bool> pause(std::chrono::milliseconds d, bool forever = false) {
    if (peer_closed) co_return false;
    if (forever) {
      wake.expires_at(asio::steady_timer::time_point::max());
    } else {
      wake.expires_after(d);
    }
    co_await wake.async_wait(tuple_awaitable);
    co_return !peer_closed;
  }

  asio::awaitable<bool> write_raw(std::string data) {
    if (peer_closed) co_return false;
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data), tuple_awaitable);
    (void)n;
    if (ec) {
      peer_closed = true;  // a write fails only when the client is gone
      note_client_closed();
    }
    co_return !ec && !peer_closed;
  }

  void hard_close() {
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  asio::awaitable<void> run() {
    auto self = this->shared_from_this();
    for (;;) {
      // A pending watch read may already hold the start of the next request, or the close.
      while (watching) {
        wake.expires_at(asio::steady_timer::time_point::max());
        co_await wake.async_wait(tuple_awaitable);
      }
      if (peer_closed) break;
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u * 1024 * 1024);
      lowest().expires_after(std::chrono::minutes(5));
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)n;
      lowest().expires_never();
      if (ec) break;
      auto req = parser.release();
      bool keep = co_await respond(req);
      if (!keep || peer_closed) break;
    }
    record({{"event", "closed"}, {"conn", conn_id}});
    hard_close();
  }

  asio::awaitable<bool> respond(http::request<http::string_body>& req) {
    current_seq = ++g_seq;
    chunks_sent = 0;
    close_noted = false;
    std::string path(req.target());
    json::value body;
    error_code pec;
    body = json::parse(req.body(), pec);
    if (pec) body = nullptr;
    json::object headers;
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = std::string(f.value());
    }
    json::object rec{{"event", "request"}, {"seq", current_seq}, {"conn", conn_id},
                     {"method", std::string(req.method_string())}, {"path", path}, {"headers", headers},
                     {"mono_us", mono_us()}};
    if (pec) rec["body_text"] = req.body(); else rec["body"] = body;
    record(rec);
    log("request " + std::to_string(current_seq) + " " + path);

    const bool anthropic = path.find("/messages") != std::string::npos;
    json::object spec = pick_step(path, body, req.body());
    std::string model = body.is_object() ? str(body.as_object(), "model", "fake-model") : "fake-model";
    bool streaming = body.is_object() && body.as_object().if_contains("stream") &&
                     body.as_object().at("stream").is_bool() && body.as_object().at("stream").as_bool();

    responding = true;
    start_watch();
    struct done_guard {
      session* s;
      ~done_guard() { s->responding = false; }
    } guard{this};

    if (auto d = num(spec, "delay_ms", 0); d > 0) {
      if (!co_await pause(std::chrono::milliseconds(d))) co_return false;
    }
    if (str(spec, "fault") == "stall_before_headers") {
      co_await pause({}, true);
      co_return false;
    }

    // Authentication, when the double was started with --require-key.
    if (!g_cfg.require_key.empty()) {
      std::string got = anthropic ? std::string(req["x-api-key"]) : std::string(req[http::field::authorization]);
      std::string want = anthropic ? g_cfg.require_key : "Bearer " + g_cfg.require_key;
      if (anthropic && got.empty()) {
        got = std::string(req[http::field::authorization]);
        want = "Bearer " + g_cfg.require_key;
      }
      if (got != want) {
        co_return co_await send_plain(401, "application/json",
            R"({"error":{"message":"invalid api key","type":"authentication_error","code":"401"}})", {}, req.keep_alive());
      }
    }
    if (body.is_null()) {
      co_return co_await send_plain(400, "application/json",
          R"({"error":{"message":"request body is not JSON","type":"invalid_request_error"}})", {}, req.keep_alive());
    }

    if (auto st = num(spec, "status", 200); st != 200) {
      std::string b;
      if (const auto* bv = spec.if_contains("body")) {
        b = bv->is_string() ? std::string(bv->as_string()) : json::serialize(*bv);
      } else {
        b = R"({"error":{"message":"scripted failure","type":"server_error"}})";
      }
      json::object hdrs;
      if (const auto* h = spec.if_contains("headers"); h && h->is_object()) hdrs = h->as_object();
      co_return co_await send_plain(static_cast<unsigned>(st), "application/json", b, hdrs, req.keep_alive());
    }
    if (const auto* raw = spec.if_contains("raw"); raw && raw->is_string()) {
      co_return co_await send_plain(200, str(spec, "content_type", "application/json"),
                                    std::string(raw->as_string()), {}, req.keep_alive());
    }

    reply r = make_reply(spec, body, model);
    const std::string fault = str(spec, "fault");
    if (!streaming) {
      std::string b = fault == "malformed_json" ? std::string(R"({"id":"x","choices":[{"mess)") : json::serialize(full_body(anthropic, r, model));
      if (fault == "truncate") {
        // Content-Length promises more than is sent, then the connection closes.
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(b.size()) + "\r\n\r\n" + b.substr(0, b.size() / 2);
        co_await write_raw(head);
        record({{"event", "server_closed"}, {"request", current_seq}, {"conn", conn_id}, {"fault", fault}});
        hard_close();
        co_return false;
      }
      co_return co_await send_plain(200, "application/json", b, {}, req.keep_alive());
    }

    int chunks = static_cast<int>(num(spec, "chunks", num(g_default, "chunks", g_cfg.chunks)));
    auto interval = std::chrono::milliseconds(num(spec, "interval_ms", num(g_default, "interval_ms", g_cfg.chunk_interval_ms)));
    auto events = stream_events(anthropic, r, model, chunks);
    const std::int64_t stall_after = num(spec, "stall_after_chunks", -1);
    const std::int64_t truncate_after = num(spec, "truncate_after_chunks", -1);
    const std::int64_t malformed_at = fault == "malformed_json" ? num(spec, "at_chunk", 1) : -1;

    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                       "Transfer-Encoding: chunked\r\n";
    head += req.keep_alive() ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!co_await write_raw(head)) co_return false;
    auto chunk_frame = [](const std::string& data) {
      std::ostringstream os;
      os << std::hex << data.size() << "\r\n" << data << "\r\n";
      return os.str();
    };
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (static_cast<std::int64_t>(i) == stall_after) {
        record({{"event", "stalled"}, {"request", current_seq}, {"conn", conn_id}, {"chunks_sent", chunks_sent}});
        co_await pause({}, true);
        co_return false;
      }
      if (static_cast<std::int64_t>(i) == truncate_after) {
        record({{"event", "server_closed"}, {"request", current_seq}, {"conn", conn_id}, {"fault", "truncate"}});
        hard_close();
        co_return false;
      }
      std::string data = events[i];
      if (static_cast<std::int64_t>(i) == malformed_at) data = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"\n\n";
      if (i > 0 && interval.count() > 0) {
        if (!co_await pause(interval)) co_return false;
      }
      if (!co_await write_raw(chunk_frame(data))) co_return false;
      ++chunks_sent;
    }
    if (!co_await write_raw("0\r\n\r\n")) co_return false;
    record({{"event", "response_done"}, {"request", current_seq}, {"conn", conn_id}, {"chunks_sent", chunks_sent},
            {"mono_us", mono_us()}});
    co_return req.keep_alive();
  }

  asio::awaitable<bool> send_plain(unsigned status, std::string_view content_type, std::string body,
                                   const json::object& extra, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, content_type);
    for (const auto& kv : extra) {
      res.set(kv.key(), kv.value().is_string() ? std::string(kv.value().as_string()) : json::serialize(kv.value()));
    }
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, res, tuple_awaitable);
    (void)n;
    record({{"event", "response_done"}, {"request", current_seq}, {"conn", conn_id}, {"status", status}});
    co_return !ec && keep_alive;
  }
};

asio::awaitable<void> serve_plain(tcp::socket s) {
  auto sess = std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), ++g_conn_seq);
  record({{"event", "accepted"}, {"conn", sess->conn_id}, {"tls", false}});
  co_await sess->run();
}

asio::awaitable<void> serve_tls(tcp::socket s, ssl::context& ctx) {
  auto sess = std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
      beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), ctx), ++g_conn_seq);
  record({{"event", "accepted"}, {"conn", sess->conn_id}, {"tls", true}});
  sess->lowest().expires_after(std::chrono::seconds(30));
  auto [ec] = co_await sess->stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
  sess->lowest().expires_never();
  if (ec) {
    record({{"event", "tls_failed"}, {"conn", sess->conn_id}, {"error", ec.message()}});
    log("TLS handshake failed: " + ec.message());
    co_return;
  }
  const char* sni = SSL_get_servername(sess->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  record({{"event", "tls"}, {"conn", sess->conn_id}, {"sni", sni ? json::value(sni) : json::value(nullptr)}});
  co_await sess->run();
}

asio::awaitable<void> accept_loop(tcp::acceptor& acc, ssl::context* ctx) {
  for (;;) {
    auto [ec, s] = co_await acc.async_accept(tuple_awaitable);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (ctx) {
      asio::co_spawn(acc.get_executor(), serve_tls(std::move(s), *ctx), asio::detached);
    } else {
      asio::co_spawn(acc.get_executor(), serve_plain(std::move(s)), asio::detached);
    }
  }
}

void usage() {
  std::cerr <<
      "exai-fake-provider: a TEST DOUBLE of the GLM / Kimi (OpenAI) and MiniMax (Anthropic) APIs\n"
      "  --listen HOST:PORT            default 127.0.0.1:0\n"
      "  --ready-file FILE             written once listening: {\"http\":\"HOST:PORT\",\"url\":\"https://HOST:PORT\"}\n"
      "  --tls-cert PEM --tls-key PEM  serve HTTPS (else plain HTTP)\n"
      "  --scenario FILE               scripted steps (see README.md)\n"
      "  --record FILE                 append every request and close as JSON lines\n"
      "  --require-key KEY             401 unless Authorization: Bearer KEY (x-api-key for /messages)\n"
      "  --chunks N                    content deltas per streamed answer (default 8)\n"
      "  --chunk-interval-ms MS        pause between streamed events (default 0)\n"
      "  --reply-words N               extra words appended to derived answers (default 0)\n"
      "  --verbose                     log requests to stderr\n";
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--listen") g_cfg.listen = val();
    else if (a == "--ready-file") g_cfg.ready_file = val();
    else if (a == "--tls-cert") g_cfg.tls_cert = val();
    else if (a == "--tls-key") g_cfg.tls_key = val();
    else if (a == "--scenario") g_cfg.scenario_file = val();
    else if (a == "--record") g_cfg.record_file = val();
    else if (a == "--require-key") g_cfg.require_key = val();
    else if (a == "--chunks") g_cfg.chunks = std::stoi(val());
    else if (a == "--chunk-interval-ms") g_cfg.chunk_interval_ms = std::stoi(val());
    else if (a == "--reply-words") g_cfg.reply_words = std::stoi(val());
    else if (a == "--verbose") g_cfg.verbose = true;
    else if (a == "--help") {
      usage();
      return 0;
    } else {
      std::cerr << "unknown argument " << a << "\n";
      usage();
      return 2;
    }
  }
  try {
    if (!g_cfg.scenario_file.empty()) {
      std::ifstream in(g_cfg.scenario_file);
      std::stringstream ss;
      ss << in.rdbuf();
      json::value sc = json::parse(ss.str());
      const auto& o = sc.as_object();
      if (const auto* d = o.if_contains("default"); d && d->is_object()) g_default = d->as_object();
      if (const auto* st = o.if_contains("steps"); st && st->is_array()) {
        for (const auto& s : st->as_array()) g_steps.push_back({s.as_object(), false});
      }
    }
    if (!g_cfg.record_file.empty()) {
      g_record = std::fopen(g_cfg.record_file.c_str(), "a");
      if (!g_record) throw std::runtime_error("cannot open " + g_cfg.record_file);
    }
    asio::io_context io;
    std::optional<ssl::context> ctx;
    if (!g_cfg.tls_cert.empty()) {
      ctx.emplace(ssl::context::tls_server);
      ctx->use_certificate_chain_file(g_cfg.tls_cert);
      ctx->use_private_key_file(g_cfg.tls_key, ssl::context::pem);
    }
    auto colon = g_cfg.listen.rfind(':');
    tcp::endpoint ep(asio::ip::make_address(g_cfg.listen.substr(0, colon)),
                     static_cast<unsigned short>(std::stoi(g_cfg.listen.substr(colon + 1))));
    tcp::acceptor acc(io, ep);
    auto local = acc.local_endpoint();
    std::string hp = local.address().to_string() + ":" + std::to_string(local.port());
    if (!g_cfg.ready_file.empty()) {
      std::string tmp = g_cfg.ready_file + ".tmp";
      std::ofstream(tmp) << json::serialize(json::object{
          {"http", hp}, {"url", (ctx ? "https://" : "http://") + hp}});
      std::rename(tmp.c_str(), g_cfg.ready_file.c_str());
    }
    log("listening on " + hp);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](error_code, int) { io.stop(); });
    asio::co_spawn(io, accept_loop(acc, ctx ? &*ctx : nullptr), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "exai-fake-provider: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
