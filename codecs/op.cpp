// The op dialect (shared/docs/exai-op-protocol.md): total decoders that accept every variant the
// reference and older daemons send, encoders for what we send, and the translation to and from
// the canonical model. Accessors used here never throw (if_* everywhere).
#include "codecs/op.hpp"
#include "codecs/parse.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace exai::codecs::op {
namespace {

namespace json = boost::json;

error bad(std::string message) { return error(errc::invalid_request, std::move(message)); }

std::string str(json::string_view s) { return std::string(s.data(), s.size()); }

// An optional string member: absent or null -> nullopt; any other non-string is malformed.
result<std::optional<std::string>> opt_string(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (const auto* s = v->if_string()) return std::optional<std::string>(str(*s));
  return bad("\"" + std::string(key) + "\" must be a string");
}

// An optional number member (integer or fractional) as a double.
result<std::optional<double>> opt_number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<double>();
  if (v->is_number()) return std::optional<double>(v->to_number<double>());
  return bad("\"" + std::string(key) + "\" must be a number");
}

// Flags the reference daemon may send (from_cache, ok, ...): only a literal true counts.
bool flag(const json::object& o, std::string_view key) noexcept {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

// Section 4 capabilities. Lenient on purpose: the reference daemon ignores `capabilities`, so op
// clients may send MCP-shaped ones ({"tools":{}}); a capability is on only when exactly true.
capabilities decode_caps(const json::object& o) {
  capabilities c;
  c.multiplex = flag(o, "multiplex");
  c.cancel = flag(o, "cancel");
  c.progress = flag(o, "progress");
  if (const auto* m = o.if_contains("max_inflight")) {
    if (m->is_int64() && m->get_int64() > 0 &&
        m->get_int64() <= std::numeric_limits<std::uint32_t>::max()) {
      c.max_inflight = static_cast<std::uint32_t>(m->get_int64());
    } else if (m->is_uint64() && m->get_uint64() <= std::numeric_limits<std::uint32_t>::max()) {
      c.max_inflight = static_cast<std::uint32_t>(m->get_uint64());
    }
  }
  if (const auto* m = o.if_contains("max_message_bytes")) {
    if (m->is_int64() && m->get_int64() > 0) {
      c.max_message_bytes = static_cast<std::uint64_t>(m->get_int64());
    } else if (m->is_uint64()) {
      c.max_message_bytes = m->get_uint64();
    }
  }
  return c;
}

std::optional<capabilities> opt_caps(const json::object& o) {
  const auto* v = o.if_contains("capabilities");
  if (!v) return std::nullopt;
  if (const auto* c = v->if_object()) return decode_caps(*c);
  return std::nullopt;
}

json::object encode_caps(const capabilities& c) {
  json::object o;
  o.emplace("multiplex", c.multiplex);
  if (c.max_inflight) o.emplace("max_inflight", *c.max_inflight);
  if (c.max_message_bytes) o.emplace("max_message_bytes", *c.max_message_bytes);
  o.emplace("cancel", c.cancel);
  o.emplace("progress", c.progress);
  return o;
}

// {"code","message","details"?}. Lenient on what the daemon may omit (an error must still reach
// the call it belongs to): a missing code or message is "", a numeric code is kept as its digits.
result<wire_error> decode_wire_error(const json::value& v) {
  wire_error e;
  if (const auto* s = v.if_string()) {  // a plain string error: a message without a code
    e.message = str(*s);
    return e;
  }
  const auto* o = v.if_object();
  if (!o) return bad("\"error\" must be an object");
  if (const auto* code = o->if_contains("code")) {
    if (const auto* s = code->if_string()) {
      e.code = str(*s);
    } else if (code->is_int64() || code->is_uint64()) {
      e.code = json::serialize(*code);
    } else if (!code->is_null()) {
      return bad("error \"code\" must be a string");
    }
  }
  if (const auto* message = o->if_contains("message")) {
    if (const auto* s = message->if_string()) {
      e.message = str(*s);
    } else if (!message->is_null()) {
      return bad("error \"message\" must be a string");
    }
  }
  if (const auto* details = o->if_contains("details")) {
    if (!details->is_null()) e.details = *details;
  }
  return e;
}

json::object encode_wire_error(const wire_error& e) {
  json::object o;
  o.emplace("code", e.code);
  o.emplace("message", e.message);
  if (e.details) o.emplace("details", *e.details);
  return o;
}

// Numbers we write: integral values as integers (3, not 3E0); non-finite values are not JSON.
void put_number(json::object& o, std::string_view key, std::optional<double> d) {
  if (!d || !std::isfinite(*d)) return;
  o.emplace(key, json_number(*d));
}

json::object with_op(std::string_view op, const std::optional<std::string>& request_id) {
  json::object o;
  o.emplace("op", op);
  if (request_id) o.emplace("request_id", *request_id);
  return o;
}

// ---- client messages ------------------------------------------------------------------------

// call_tool {name, arguments} and the older tool_call {tool:{name}, arguments}; either spelling of
// the name is accepted for both ops. arguments null/absent -> {} (section 3: "send {} when empty").
result<call_tool> decode_call(const json::object& o, bool legacy,
                              std::optional<std::string> request_id) {
  call_tool c;
  c.request_id = std::move(request_id);
  c.legacy_tool_call = legacy;
  const json::string* name = nullptr;
  if (const auto* n = o.if_contains("name")) name = n->if_string();
  const json::object* tool = nullptr;
  if (const auto* t = o.if_contains("tool")) tool = t->if_object();
  if (!name && tool) {
    if (const auto* n = tool->if_contains("name")) name = n->if_string();
  }
  if (!name || name->empty()) return bad("missing tool name");
  c.name = str(*name);
  const json::value* args = o.if_contains("arguments");
  if ((!args || args->is_null()) && tool) args = tool->if_contains("arguments");
  if (args && !args->is_null()) {
    const auto* a = args->if_object();
    if (!a) return error(errc::invalid_params, "\"arguments\" must be an object");
    c.arguments = *a;
  }
  return c;
}

// ---- server messages ------------------------------------------------------------------------

result<hello_ack> decode_hello_ack(const json::object& o) {
  hello_ack a;
  if (const auto* ok = o.if_contains("ok")) {
    if (!ok->is_bool()) return bad("\"ok\" must be a boolean");
    a.ok = ok->get_bool();
  }
  auto sid = opt_string(o, "session_id");
  if (!sid) return sid.error();
  a.session_id = std::move(*sid);
  if (const auto* e = o.if_contains("error")) {
    if (const auto* s = e->if_string()) {
      a.error = str(*s);
    } else if (e->is_object()) {  // {"code":..} style, as elsewhere in the protocol
      auto w = decode_wire_error(*e);
      if (!w) return w.error();
      a.error = w->code.empty() ? w->message : w->code;
    } else if (!e->is_null()) {
      return bad("hello_ack \"error\" must be a string");
    }
  }
  a.caps = opt_caps(o);
  if (const auto* s = o.if_contains("server")) {
    if (const auto* so = s->if_object()) a.server = *so;
  }
  return a;
}

result<list_tools_res> decode_list_tools_res(const json::object& o,
                                             std::optional<std::string> request_id) {
  list_tools_res r;
  r.request_id = std::move(request_id);
  const auto* tools = o.if_contains("tools");
  if (!tools) return bad("list_tools_res without \"tools\"");
  const auto* arr = tools->if_array();
  if (!arr) return bad("\"tools\" must be an array");
  // Every element is checked here so that consumers can rely on objects with a string name.
  for (const auto& t : *arr) {
    const auto* to = t.if_object();
    if (!to) return bad("a tool must be an object");
    const auto* name = to->if_contains("name");
    if (!name || !name->is_string()) return bad("a tool needs a string \"name\"");
  }
  r.tools = *arr;
  if (const auto* ts = o.if_contains("timestamp")) {
    if (ts->is_string() || ts->is_number()) r.timestamp = *ts;
  }
  return r;
}

result<progress> decode_progress(const json::object& o, std::optional<std::string> request_id) {
  progress p;
  p.request_id = std::move(request_id);
  auto value = opt_number(o, "progress");
  if (!value) return value.error();
  auto total = opt_number(o, "total");
  if (!total) return total.error();
  auto message = opt_string(o, "message");
  if (!message) return message.error();
  p.progress = *value;
  p.total = *total;
  p.message = message->value_or("");
  if (const auto* log = o.if_contains("log")) {
    const auto* lo = log->if_object();
    const auto* level = lo ? lo->if_contains("level") : nullptr;
    if (!level || !level->is_string() || level->get_string().empty()) {
      return error(errc::invalid_request, "progress.log needs a string level");
    }
    p.log_level = level->get_string();
    if (const auto* lg = lo->if_contains("logger"); lg && lg->is_string()) p.logger = lg->get_string();
    if (const auto* d = lo->if_contains("data")) p.log_data = *d;
  }
  return p;
}

// `owner`, when given, is o itself and may be taken apart: outputs and structured are moved.
result<call_tool_res> decode_call_tool_res(const json::object& o,
                                           std::optional<std::string> request_id,
                                           json::object* owner) {
  call_tool_res r;
  r.request_id = std::move(request_id);
  // One pass over the members, not a lookup per optional member (most are absent, and each miss
  // compared every key: issue 7 profile). `owner` is `o` itself when the caller gave it up.
  for (std::size_t i = 0; i < o.size(); ++i) {
    const auto& kv = *(o.begin() + i);
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    json::value* movable = owner ? &(owner->begin() + i)->value() : nullptr;
    if (v.is_null()) continue;  // an absent member, for every key below
    if (key == "outputs") {
      const auto* arr = v.if_array();
      if (!arr) return bad("\"outputs\" must be an array");
      for (const auto& block : *arr) {
        if (!block.is_object()) return bad("an output must be an object");
      }
      if (movable) {
        r.outputs = std::move(movable->get_array());
      } else {
        r.outputs = *arr;
      }
    } else if (key == "error") {
      auto w = decode_wire_error(v);
      if (!w) return w.error();
      r.error = std::move(*w);
    } else if (key == "is_error") {
      if (!v.is_bool()) return bad("\"is_error\" must be a boolean");
      r.is_error = v.get_bool();
    } else if (key == "structured") {
      const auto* so = v.if_object();
      if (!so) return bad("\"structured\" must be an object");
      if (movable) {
        r.structured = std::move(movable->get_object());
      } else {
        r.structured = *so;
      }
    } else if (key == "from_cache") {
      r.from_cache = v.is_bool() && v.get_bool();
    } else if (key == "from_inflight") {
      r.from_inflight = v.is_bool() && v.get_bool();
    } else if (key == "text") {
      const auto* t = v.if_string();
      if (!t) return bad("\"text\" must be a string");
      r.text = str(*t);
    }
  }
  return r;
}

// The op name of a message, or the error that the op member is missing or not a string.
result<std::string_view> op_name(const json::object& o) {
  const auto* op = o.if_contains("op");
  if (!op) return bad("missing \"op\"");
  const auto* s = op->if_string();
  if (!s) return bad("\"op\" must be a string");
  return std::string_view(s->data(), s->size());
}

error unknown_op(std::string_view name) {
  return error(errc::method_not_found, "unknown op: " + excerpt(name));
}

}  // namespace

result<client_message> decode_client(const json::value& v) {
  const auto* o = v.if_object();
  if (!o) return bad("an op message must be an object");
  auto name = op_name(*o);
  if (!name) return name.error();
  auto rid = opt_string(*o, "request_id");
  if (!rid) return rid.error();
  const std::string_view op = *name;

  if (op == "hello") {
    hello h;
    auto token = opt_string(*o, "token");
    if (!token) return token.error();
    h.token = token->value_or("");
    auto sid = opt_string(*o, "session_id");
    if (!sid) return sid.error();
    h.session_id = std::move(*sid);
    h.caps = opt_caps(*o);
    return client_message(std::move(h));
  }
  if (op == "list_tools") return client_message(list_tools{std::move(*rid)});
  if (op == "call_tool" || op == "tool_call") {
    auto c = decode_call(*o, op == "tool_call", std::move(*rid));
    if (!c) return c.error();
    return client_message(std::move(*c));
  }
  if (op == "ping") return client_message(ping{std::move(*rid)});
  if (op == "cancel") return client_message(cancel{std::move(*rid)});
  return unknown_op(op);
}

namespace {
result<server_message> decode_server_impl(const json::value& v, json::value* owner) {
  const auto* o = v.if_object();
  if (!o) return bad("an op message must be an object");
  auto rid = opt_string(*o, "request_id");
  if (!rid) return rid.error();

  // The reference daemon's bare error: no op, no request_id (section 3, "bare error").
  if (!o->contains("op")) {
    const auto* e = o->if_contains("error");
    if (!e || e->is_null()) return bad("missing \"op\"");
    auto w = decode_wire_error(*e);
    if (!w) return w.error();
    return server_message(error_msg{std::move(*rid), std::move(*w), true});
  }
  auto name = op_name(*o);
  if (!name) return name.error();
  const std::string_view op = *name;

  if (op == "hello_ack") {
    auto a = decode_hello_ack(*o);
    if (!a) return a.error();
    return server_message(std::move(*a));
  }
  if (op == "list_tools_res") {
    auto r = decode_list_tools_res(*o, std::move(*rid));
    if (!r) return r.error();
    return server_message(std::move(*r));
  }
  if (op == "progress") {
    auto p = decode_progress(*o, std::move(*rid));
    if (!p) return p.error();
    return server_message(std::move(*p));
  }
  if (op == "stream_chunk") {
    auto chunk = opt_string(*o, "chunk");
    if (!chunk) return chunk.error();
    return server_message(stream_chunk{std::move(*rid), chunk->value_or("")});
  }
  if (op == "stream_complete") return server_message(stream_complete{std::move(*rid)});
  if (op == "call_tool_ack") {
    auto t = opt_number(*o, "timeout");
    if (!t) return t.error();
    return server_message(call_tool_ack{std::move(*rid), *t});
  }
  if (op == "call_tool_res") {
    auto r = decode_call_tool_res(*o, std::move(*rid), owner ? &owner->get_object() : nullptr);
    if (!r) return r.error();
    return server_message(std::move(*r));
  }
  if (op == "pong") return server_message(pong{std::move(*rid)});
  if (op == "cancelled") return server_message(cancelled{std::move(*rid)});
  if (op == "error") {
    const auto* e = o->if_contains("error");
    if (!e || e->is_null()) return bad("op \"error\" without \"error\"");
    auto w = decode_wire_error(*e);
    if (!w) return w.error();
    return server_message(error_msg{std::move(*rid), std::move(*w), false});
  }
  return unknown_op(op);
}
}  // namespace

result<server_message> decode_server(const json::value& v) { return decode_server_impl(v, nullptr); }
result<server_message> decode_server(json::value&& v) { return decode_server_impl(v, &v); }

std::optional<std::string> peek_request_id(const json::value& v) noexcept {
  try {
    const auto* o = v.if_object();
    if (!o) return std::nullopt;
    const auto* r = o->if_contains("request_id");
    if (!r) return std::nullopt;
    const auto* s = r->if_string();
    if (!s) return std::nullopt;
    return str(*s);
  } catch (...) {  // only std::bad_alloc can get here
    return std::nullopt;
  }
}

// ---- encoders -------------------------------------------------------------------------------

json::object encode(const hello& m) {
  json::object o;
  o.emplace("op", "hello");
  o.emplace("token", m.token);
  if (m.session_id) o.emplace("session_id", *m.session_id);
  if (m.caps) o.emplace("capabilities", encode_caps(*m.caps));
  return o;
}

json::object encode(const list_tools& m) { return with_op("list_tools", m.request_id); }

json::object encode(const call_tool& m) {
  auto o = with_op("call_tool", m.request_id);
  o.emplace("name", m.name);
  o.emplace("arguments", m.arguments);
  return o;
}

std::string encode_text(const call_tool& m) {
  std::string out;
  out.reserve(64 + m.name.size() + (m.request_id ? m.request_id->size() : 0));
  out += R"({"op":"call_tool")";
  if (m.request_id) {
    out += R"(,"request_id":)";
    append_json(out, std::string_view(*m.request_id));
  }
  out += R"(,"name":)";
  append_json(out, std::string_view(m.name));
  out += R"(,"arguments":)";
  append_json(out, m.arguments);
  out += '}';
  return out;
}

json::object encode(const ping& m) { return with_op("ping", m.request_id); }
json::object encode(const cancel& m) { return with_op("cancel", m.request_id); }

json::object encode(const hello_ack& m) {
  json::object o;
  o.emplace("op", "hello_ack");
  o.emplace("ok", m.ok);
  if (m.session_id) o.emplace("session_id", *m.session_id);
  if (m.error) o.emplace("error", *m.error);
  if (m.server) o.emplace("server", *m.server);
  if (m.caps) o.emplace("capabilities", encode_caps(*m.caps));
  return o;
}

json::object encode(const list_tools_res& m) {
  auto o = with_op("list_tools_res", m.request_id);
  o.emplace("tools", m.tools);
  if (m.timestamp) o.emplace("timestamp", *m.timestamp);
  return o;
}

json::object encode(const progress& m) {
  auto o = with_op("progress", m.request_id);
  put_number(o, "progress", m.progress);
  put_number(o, "total", m.total);
  o.emplace("message", m.message);
  if (!m.log_level.empty()) {
    json::object log;
    log.emplace("level", m.log_level);
    if (!m.logger.empty()) log.emplace("logger", m.logger);
    if (!m.log_data.is_null()) log.emplace("data", m.log_data);
    o.emplace("log", std::move(log));
  }
  return o;
}

json::object encode(const stream_chunk& m) {
  auto o = with_op("stream_chunk", m.request_id);
  o.emplace("chunk", m.chunk);
  return o;
}

json::object encode(const stream_complete& m) { return with_op("stream_complete", m.request_id); }

json::object encode(const call_tool_ack& m) {
  auto o = with_op("call_tool_ack", m.request_id);
  put_number(o, "timeout", m.timeout_s);
  return o;
}

json::object encode(const call_tool_res& m) {
  auto o = with_op("call_tool_res", m.request_id);
  if (m.outputs) o.emplace("outputs", *m.outputs);
  if (m.error) o.emplace("error", encode_wire_error(*m.error));
  if (m.is_error) o.emplace("is_error", true);
  if (m.structured) o.emplace("structured", *m.structured);
  if (m.from_cache) o.emplace("from_cache", true);
  if (m.from_inflight) o.emplace("from_inflight", true);
  if (m.text) o.emplace("text", *m.text);
  return o;
}

json::object encode(const pong& m) { return with_op("pong", m.request_id); }
json::object encode(const cancelled& m) { return with_op("cancelled", m.request_id); }

json::object encode(const error_msg& m) {
  json::object o;
  if (!m.bare) o.emplace("op", "error");
  if (m.request_id) o.emplace("request_id", *m.request_id);
  o.emplace("error", encode_wire_error(m.error));
  return o;
}

// ---- canonical <-> op -----------------------------------------------------------------------

namespace {

// model.hpp: hello -> "hello", list_tools -> "tools/list", call_tool / tool_call -> "tools/call",
// ping -> "ping", cancel -> "cancel" {requestId}. Every op client message is a request (hello and
// cancel are answered too); one without request_id gives an inbound without id, and its reply
// carries none.
struct to_inbound_visitor {
  inbound operator()(const hello& m) const {
    inbound in = base("hello", "hello", std::nullopt);
    in.params.emplace("token", m.token);
    if (m.session_id) in.params.emplace("session_id", *m.session_id);
    if (m.caps) in.params.emplace("capabilities", encode_caps(*m.caps));
    return in;
  }
  inbound operator()(const list_tools& m) const {
    return base("tools/list", "list_tools", m.request_id);
  }
  inbound operator()(const call_tool& m) const {
    inbound in = base("tools/call", m.legacy_tool_call ? "tool_call" : "call_tool", m.request_id);
    in.params.emplace("name", m.name);
    in.params.emplace("arguments", m.arguments);
    return in;
  }
  inbound operator()(const ping& m) const { return base("ping", "ping", m.request_id); }
  inbound operator()(const cancel& m) const {
    inbound in = base("cancel", "cancel", m.request_id);
    if (m.request_id) in.params.emplace("requestId", *m.request_id);
    return in;
  }

  static inbound base(std::string_view method, std::string_view op,
                      const std::optional<std::string>& request_id) {
    inbound in;
    in.from = dialect::op;
    in.type = message_type::request;
    in.method = method;
    in.op = op;
    if (request_id) in.id = client_id{json::value(*request_id)};
    return in;
  }
};

// MCP requires inputSchema to be an object schema with "type":"object" (the SDK's Tool schema
// rejects anything else, and one bad tool fails the whole list).
json::object input_schema_of(const json::object& tool) {
  json::object schema;
  if (const auto* s = tool.if_contains("inputSchema")) {
    if (const auto* so = s->if_object()) schema = *so;
  }
  if (!schema.contains("type")) schema.emplace("type", "object");
  return schema;
}

void copy_if(const json::object& from, json::object& to, std::string_view key, json::kind k) {
  if (const auto* v = from.if_contains(key); v && v->kind() == k) to.emplace(key, *v);
}

}  // namespace

inbound to_inbound(const client_message& m) { return std::visit(to_inbound_visitor{}, m); }

json::object to_mcp_tool(const json::object& op_tool) {
  json::object t;
  copy_if(op_tool, t, "name", json::kind::string);
  if (!t.contains("name")) t.emplace("name", "");
  copy_if(op_tool, t, "title", json::kind::string);
  if (const auto* d = op_tool.if_contains("description"); d && d->is_string()) {
    t.emplace("description", *d);
  } else {
    t.emplace("description", "");
  }
  t.emplace("inputSchema", input_schema_of(op_tool));
  copy_if(op_tool, t, "outputSchema", json::kind::object);
  copy_if(op_tool, t, "annotations", json::kind::object);
  copy_if(op_tool, t, "icons", json::kind::array);
  copy_if(op_tool, t, "_meta", json::kind::object);
  return t;
}

json::object to_op_tool(const json::object& mcp_tool) {
  json::object t;
  for (std::string_view key : {"name", "title", "description", "inputSchema", "outputSchema",
                               "annotations", "icons", "_meta"}) {
    if (const auto* v = mcp_tool.if_contains(key)) t.emplace(key, *v);
  }
  return t;
}

namespace {

std::string error_text(const wire_error& e) {
  if (e.code.empty()) return e.message;
  if (e.message.empty()) return e.code;
  return e.code + ": " + e.message;
}

// A text output keeps type and text (plus MCP's own annotations/_meta); the reference daemon's
// `metadata` and anything else is dropped. Other block types pass through untouched.
// Takes the output apart: a text block keeps its own text string, and a block that already is an
// MCP text block (what exai-daemon sends) is kept whole.
json::value to_content_block(json::value&& output) {
  auto* o = output.if_object();
  if (!o) {
    auto* s = output.if_string();
    return json::object{{"type", "text"},
                        {"text", s ? std::move(*s) : json::string(json::serialize(output))}};
  }
  const auto* type = o->if_contains("type");
  const auto* type_str = type ? type->if_string() : nullptr;
  if (type_str && *type_str != "text") return std::move(output);
  auto* text = o->if_contains("text");
  const bool text_is_string = text && text->is_string();
  const bool clean = type_str && text_is_string &&
                     std::all_of(o->begin(), o->end(), [](const json::key_value_pair& kv) {
                       const std::string_view k = kv.key();
                       return k == "type" || k == "text" ||
                              ((k == "annotations" || k == "_meta") && kv.value().is_object());
                     });
  if (clean) return std::move(output);
  json::object block(o->storage());
  block.emplace("type", "text");
  if (text_is_string) {
    block.emplace("text", std::move(*text));
  } else {
    block.emplace("text", text ? json::serialize(*text) : std::string());
  }
  copy_if(*o, block, "annotations", json::kind::object);
  copy_if(*o, block, "_meta", json::kind::object);
  return block;
}

}  // namespace

tool_result to_tool_result(const call_tool_res& r) { return to_tool_result(call_tool_res(r)); }

tool_result to_tool_result(call_tool_res&& r) {
  if (r.error) return to_tool_result(*r.error);
  tool_result t;
  if (r.outputs && !r.outputs->empty()) {
    t.content.reserve(r.outputs->size());
    for (auto& output : *r.outputs) t.content.push_back(to_content_block(std::move(output)));
  } else if (r.text) {
    // Older daemons: a top-level text, used only when there are no outputs to avoid doubling.
    t.content.push_back(json::object{{"type", "text"}, {"text", *r.text}});
  }
  t.is_error = r.is_error;
  t.structured = std::move(r.structured);
  return t;
}

tool_result to_tool_result(const wire_error& e) { return tool_result::text(error_text(e), true); }

call_tool_res to_call_tool_res(const tool_result& r, std::optional<std::string> request_id) {
  call_tool_res res;
  res.request_id = std::move(request_id);
  res.outputs = r.content;
  res.is_error = r.is_error;
  res.structured = r.structured;
  return res;
}

bool valid_session_id(std::string_view id) noexcept {
  if (id.size() < 3 || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

progress to_progress(const progress_update& u, std::optional<std::string> request_id) {
  progress p;
  p.request_id = std::move(request_id);
  p.progress = u.progress;
  p.total = u.total;
  p.message = u.message;
  p.log_level = u.log_level;
  p.logger = u.logger;
  p.log_data = u.log_data;
  return p;
}

progress_update to_progress_update(const progress& p) {
  progress_update u;
  u.progress = p.progress;
  u.total = p.total;
  u.message = p.message;
  u.log_level = p.log_level;
  u.logger = p.logger;
  u.log_data = p.log_data;
  return u;
}

}  // namespace exai::codecs::op
