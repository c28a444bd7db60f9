// Request encoding and answer checking for exai-bench's dialects: MCP (mcp-server-rules.md,
// initialize + tools/call), op (exai-op-protocol.md sections 2-4: hello with capabilities,
// call_tool / call_tool_res) and raw echo frames.
#include "bench/protocol.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace exai::bench {

namespace json = boost::json;

const char* error_kind_name(error_kind k) {
  switch (k) {
    case error_kind::none: return "none";
    case error_kind::bad_json: return "bad_json";
    case error_kind::unknown_id: return "unknown_id";
    case error_kind::error_reply: return "error_reply";
    case error_kind::mismatch: return "mismatch";
    case error_kind::unexpected: return "unexpected";
    case error_kind::missing: return "missing";
    case error_kind::connection: return "connection";
    case error_kind::answered_cancelled: return "answered_cancelled";
    case error_kind::not_settled: return "not_settled";
    case error_kind::count_: break;
  }
  return "?";
}

namespace {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, p);
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// JSON-RPC ids are whatever JSON number we sent; Boost.JSON may hand back int64 or uint64.
std::optional<std::uint64_t> id_of(const json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_uint64()) return v.get_uint64();
  return std::nullopt;
}

const json::value* find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

verdict error_verdict(error_kind k) {
  verdict v;
  v.kind = verdict::failure;
  v.error = k;
  return v;
}

verdict with_id(verdict v, std::uint64_t id) {
  v.has_id = true;
  v.id = id;
  return v;
}

}  // namespace

codec::codec(bench::dialect d, const options& o)
    : dialect_(d),
      payload_bytes_(o.payload_bytes),
      parser_(json::storage_ptr(), json::parse_options{}, parse_tmp_, sizeof parse_tmp_) {
  for (std::size_t i = 0; i < o.payload_bytes + 26; ++i) alphabet_run_ += static_cast<char>('a' + i % 26);
  tool_json_ = json::serialize(json::string(o.tool));
  bool echo = o.tool == "echo";
  check_text_ = echo && !o.args_has_text && d != bench::dialect::raw;
  if (echo && o.args_has_text && o.args.at("text").is_string()) {
    check_fixed_ = true;
    fixed_text_ = std::string(o.args.at("text").get_string());
  }
  std::string args = json::serialize(o.args);
  if (check_text_) {
    args.pop_back();  // the closing brace
    args_head_ = args + (o.args.empty() ? "" : ",") + "\"text\":\"";
  } else {
    args_head_ = args;
  }
  const char* tok = std::getenv(d == bench::dialect::op ? "EXAI_WS_TOKEN" : "EXAI_GATEWAY_TOKEN");
  token_json_ = json::serialize(json::string(tok ? tok : ""));
}

void codec::make_text(unsigned conn, std::uint64_t id, std::string& out) const {
  out.clear();
  out += 'c';
  append_uint(out, conn);
  out += 'r';
  append_uint(out, id);
  out += '.';
  // A pattern that shifts with the id, so a swapped or truncated answer never compares equal:
  // character i is 'a' + (id + i) % 26, copied out of a precomputed alphabet run.
  std::size_t start = out.size();
  if (start < payload_bytes_)
    out.append(alphabet_run_.data() + (id + start) % 26, payload_bytes_ - start);
}

std::string codec::handshake_request(unsigned conn) const {
  switch (dialect_) {
    case bench::dialect::mcp:
      return R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
             R"("capabilities":{},"clientInfo":{"name":"exai-bench","version":"0.1.0"}}})";
    case bench::dialect::op: {
      // session_id must match ^[A-Za-z0-9_-]{3,64}$ and be unique per connection
      // (exai-op-protocol.md section 2).
      std::string s = R"({"op":"hello","token":)" + token_json_ + R"(,"session_id":"bench-)" +
                      std::to_string(::getpid()) + "-" + std::to_string(conn) +
                      R"(","capabilities":{"multiplex":true}})";
      return s;
    }
    case bench::dialect::raw: break;
  }
  return {};
}

std::string codec::handshake_followup() const {
  if (dialect_ == bench::dialect::mcp) return R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
  return {};
}

std::string codec::check_handshake_reply(std::string_view msg, bool* multiplex_granted) {
  boost::system::error_code ec;
  json::value v = json::parse(msg, ec);
  if (ec || !v.is_object()) return "handshake reply is not a JSON object";
  const auto& o = v.get_object();
  if (dialect_ == bench::dialect::mcp) {
    const json::value* id = find(o, "id");
    if (!id || !id_of(*id) || *id_of(*id) != 0) return "initialize reply with a wrong id";
    const json::value* res = find(o, "result");
    if (!res || !res->is_object() || !res->get_object().contains("protocolVersion"))
      return "initialize failed: " + std::string(msg.substr(0, 300));
    return {};
  }
  const json::value* op = find(o, "op");
  const json::value* ok = find(o, "ok");
  if (!op || !op->is_string() || op->get_string() != "hello_ack" || !ok || !ok->is_bool() ||
      !ok->get_bool())
    return "hello refused: " + std::string(msg.substr(0, 300));
  if (multiplex_granted) {
    *multiplex_granted = false;
    if (const json::value* caps = find(o, "capabilities"); caps && caps->is_object())
      if (const json::value* m = find(caps->get_object(), "multiplex"); m && m->is_bool())
        *multiplex_granted = m->get_bool();
  }
  return {};
}

void codec::encode_call(unsigned conn, std::uint64_t id, std::string& out) {
  out.clear();
  if (dialect_ == bench::dialect::raw) {
    make_text(conn, id, out);
    return;
  }
  if (dialect_ == bench::dialect::mcp) {
    out += R"({"jsonrpc":"2.0","id":)";
    append_uint(out, id);
    out += R"(,"method":"tools/call","params":{"name":)";
  } else {
    out += R"({"op":"call_tool","request_id":"b)";
    append_uint(out, conn);
    out += '-';
    append_uint(out, id);
    out += R"(","name":)";
  }
  out += tool_json_;
  out += R"(,"arguments":)";
  out += args_head_;
  if (check_text_) {
    make_text(conn, id, scratch_);
    out += scratch_;  // letters, digits and '.': nothing to escape
    out += "\"}";
  }
  out += dialect_ == bench::dialect::mcp ? "}}" : "}";
}

void codec::encode_cancel(std::uint64_t id, std::string& out) const {
  out.clear();
  out += R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":)";
  append_uint(out, id);
  out += R"(,"reason":"exai-bench cancel"}})";
}

void codec::encode_status_call(std::uint64_t id, std::string& out) const {
  out.clear();
  out += R"({"jsonrpc":"2.0","id":)";
  append_uint(out, id);
  out += R"(,"method":"tools/call","params":{"name":"status","arguments":{}}})";
}

bool codec::text_ok(unsigned conn, std::uint64_t id, const json::value* content) {
  // content / outputs: an array whose first block is {"type":"text","text":...}.
  if (!content || !content->is_array() || content->get_array().empty()) return false;
  const json::value& first = content->get_array()[0];
  if (!first.is_object()) return false;
  const json::value* text = find(first.get_object(), "text");
  if (!text || !text->is_string()) return false;
  if (check_fixed_) return text->get_string() == fixed_text_;
  if (!check_text_) return true;
  make_text(conn, id, scratch_);
  return text->get_string() == scratch_;
}

namespace {

// A JSON-RPC id as the server wrote it: decimal digits, no sign, no leading zero.
std::optional<std::uint64_t> take_uint(std::string_view s, std::size_t& pos) {
  std::size_t end = pos;
  while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
  if (end == pos || (s[pos] == '0' && end - pos > 1)) return std::nullopt;
  auto v = parse_uint(s.substr(pos, end - pos));
  if (v) pos = end;
  return v;
}

bool take(std::string_view s, std::size_t& pos, std::string_view piece) {
  if (s.compare(pos, piece.size(), piece) != 0) return false;
  pos += piece.size();
  return true;
}

}  // namespace

void codec::learn_shape(unsigned conn, std::uint64_t id, std::string_view msg) {
  make_text(conn, id, scratch_);
  const std::string_view text = scratch_;
  // The text once, as a whole JSON string (make_text writes nothing that needs escaping).
  const auto t = msg.find(text);
  if (t == std::string_view::npos || msg.find(text, t + 1) != std::string_view::npos) return;
  if (t == 0 || msg[t - 1] != '"' || t + text.size() >= msg.size() || msg[t + text.size()] != '"')
    return;
  // The id once, as the number after "id": (compact output; other layouts keep the full check).
  const std::string key = "\"id\":" + std::to_string(id);
  const auto k = msg.find(key);
  if (k == std::string_view::npos || msg.find(key, k + 1) != std::string_view::npos) return;
  const auto d = k + key.size() - std::to_string(id).size();  // where the digits start
  const auto d_end = k + key.size();
  if (d_end >= msg.size() || (msg[d_end] != ',' && msg[d_end] != '}')) return;
  if (d_end > t && d < t + text.size()) return;  // overlapping: not a shape we can cut
  answer_shape s;
  s.learned = true;
  s.id_first = d < t;
  if (s.id_first) {
    s.head = msg.substr(0, d);
    s.middle = msg.substr(d_end, t - d_end);
    s.tail = msg.substr(t + text.size());
  } else {
    s.head = msg.substr(0, t);
    s.middle = msg.substr(t + text.size(), d - (t + text.size()));
    s.tail = msg.substr(d_end);
  }
  shape_ = std::move(s);
}

std::optional<std::uint64_t> codec::match_shape(unsigned conn, std::string_view msg) {
  std::size_t pos = 0;
  if (!take(msg, pos, shape_.head)) return std::nullopt;
  std::optional<std::uint64_t> id;
  if (shape_.id_first) {
    id = take_uint(msg, pos);
    if (!id || !take(msg, pos, shape_.middle)) return std::nullopt;
    make_text(conn, *id, scratch_);
    if (!take(msg, pos, scratch_)) return std::nullopt;
  } else {
    // The text comes first; it names its own id: "c<conn>r<id>." (make_text).
    std::size_t p = pos;
    if (!take(msg, p, "c")) return std::nullopt;
    auto c = take_uint(msg, p);
    if (!c || *c != conn || !take(msg, p, "r")) return std::nullopt;
    id = take_uint(msg, p);
    if (!id) return std::nullopt;
    make_text(conn, *id, scratch_);
    if (!take(msg, pos, scratch_) || !take(msg, pos, shape_.middle)) return std::nullopt;
    auto again = take_uint(msg, pos);
    if (!again || *again != *id) return std::nullopt;
  }
  if (msg.substr(pos) != shape_.tail) return std::nullopt;
  return id;
}

verdict codec::check(unsigned conn, std::string_view msg) {
  if (dialect_ == bench::dialect::raw) return check_raw(conn, msg);
  const bool shaped = dialect_ == bench::dialect::mcp && check_text_;
  if (shaped && shape_.learned) {
    if (auto id = match_shape(conn, msg)) {
      ++shape_matches_;
      verdict ok;
      ok.kind = verdict::answer;
      return with_id(ok, *id);
    }
  }
  // The parsed value lives in a per-call monotonic arena over a member buffer: no heap
  // allocation for answers that fit (issue 7).
  json::monotonic_resource arena(value_buf_, sizeof value_buf_);
  parser_.reset(json::storage_ptr(&arena));
  boost::system::error_code ec;
  parser_.write(msg.data(), msg.size(), ec);
  if (ec) return error_verdict(error_kind::bad_json);
  json::value v = parser_.release();
  if (!v.is_object()) return error_verdict(error_kind::bad_json);
  verdict r = dialect_ == bench::dialect::mcp ? check_mcp(conn, v.get_object())
                                              : check_op(conn, v.get_object());
  if (shaped && !shape_.learned && r.kind == verdict::answer) learn_shape(conn, r.id, msg);
  return r;
}

verdict codec::check_mcp(unsigned conn, const json::object& o) {
  const json::value* idv = find(o, "id");
  if (!idv || idv->is_null()) {
    // Notifications (progress, list_changed, message) carry a method and no id.
    if (find(o, "method")) return verdict{};
    return error_verdict(error_kind::unexpected);
  }
  auto id = id_of(*idv);
  if (!id) return error_verdict(error_kind::unknown_id);
  if (find(o, "error")) return with_id(error_verdict(error_kind::error_reply), *id);
  const json::value* res = find(o, "result");
  if (!res || !res->is_object()) return with_id(error_verdict(error_kind::unexpected), *id);
  const auto& r = res->get_object();
  if (const json::value* e = find(r, "isError"); e && e->is_bool() && e->get_bool())
    return with_id(error_verdict(error_kind::error_reply), *id);
  if (!text_ok(conn, *id, find(r, "content")))
    return with_id(error_verdict(error_kind::mismatch), *id);
  verdict ok;
  ok.kind = verdict::answer;
  return with_id(ok, *id);
}

verdict codec::check_op(unsigned conn, const json::object& o) {
  const json::value* opv = find(o, "op");
  std::string_view op = opv && opv->is_string() ? std::string_view(opv->get_string()) : "";
  if (op == "progress" || op == "stream_chunk" || op == "stream_complete" || op == "call_tool_ack")
    return verdict{};
  // request_id "b<conn>-<id>" as encode_call wrote it.
  std::optional<std::uint64_t> id;
  if (const json::value* rid = find(o, "request_id"); rid && rid->is_string()) {
    std::string_view s = rid->get_string();
    std::string prefix = "b" + std::to_string(conn) + "-";
    if (s.substr(0, prefix.size()) == prefix) id = parse_uint(s.substr(prefix.size()));
    if (!id) return error_verdict(error_kind::unknown_id);
  }
  if (op == "error" || (op.empty() && find(o, "error"))) {
    auto v = error_verdict(error_kind::error_reply);
    return id ? with_id(v, *id) : v;
  }
  if (op != "call_tool_res") return error_verdict(error_kind::unexpected);
  if (!id) return error_verdict(error_kind::unknown_id);
  if (const json::value* e = find(o, "error"); e && !e->is_null())
    return with_id(error_verdict(error_kind::error_reply), *id);
  if (const json::value* e = find(o, "is_error"); e && e->is_bool() && e->get_bool())
    return with_id(error_verdict(error_kind::error_reply), *id);
  if (!text_ok(conn, *id, find(o, "outputs")))
    return with_id(error_verdict(error_kind::mismatch), *id);
  verdict ok;
  ok.kind = verdict::answer;
  return with_id(ok, *id);
}

verdict codec::check_raw(unsigned conn, std::string_view msg) {
  // "c<conn>r<id>." + pattern, as make_text wrote it.
  auto r = msg.find('r');
  auto dot = msg.find('.');
  if (msg.empty() || msg[0] != 'c' || r == std::string_view::npos || dot == std::string_view::npos ||
      dot < r)
    return error_verdict(error_kind::unexpected);
  auto c = parse_uint(msg.substr(1, r - 1));
  auto id = parse_uint(msg.substr(r + 1, dot - r - 1));
  if (!c || *c != conn || !id) return error_verdict(error_kind::unknown_id);
  make_text(conn, *id, scratch_);
  if (msg != scratch_) return with_id(error_verdict(error_kind::mismatch), *id);
  verdict ok;
  ok.kind = verdict::answer;
  return with_id(ok, *id);
}

std::optional<double> prometheus_value(std::string_view body, std::string_view name) {
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.substr(0, name.size()) != name || line.size() == name.size()) continue;
    char next = line[name.size()];
    if (next != ' ' && next != '{') continue;  // a longer name sharing the prefix
    auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    std::string num(line.substr(sp + 1));
    char* end = nullptr;
    double d = std::strtod(num.c_str(), &end);
    if (end == num.c_str()) continue;
    sum = sum.value_or(0) + d;
  }
  return sum;
}

namespace {

std::optional<std::int64_t> find_in_flight(const json::value& v, int depth) {
  if (depth > 8) return std::nullopt;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if ((kv.key() == "in_flight" || kv.key() == "inflight") && kv.value().is_number())
        return kv.value().to_number<std::int64_t>();
    }
    for (const auto& kv : v.get_object())
      if (auto r = find_in_flight(kv.value(), depth + 1)) return r;
  } else if (v.is_array()) {
    for (const auto& e : v.get_array())
      if (auto r = find_in_flight(e, depth + 1)) return r;
  } else if (v.is_string()) {
    // The tool's text content is itself a JSON document.
    boost::system::error_code ec;
    json::value inner = json::parse(v.get_string(), ec);
    if (!ec && (inner.is_object() || inner.is_array())) return find_in_flight(inner, depth + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> status_in_flight(std::string_view msg) {
  boost::system::error_code ec;
  json::value v = json::parse(msg, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* res = find(v.get_object(), "result");
  if (!res) return std::nullopt;
  return find_in_flight(*res, 0);
}

}  // namespace exai::bench
