// Plain-JSON views of the codec structs for golden comparisons (see describe.hpp).
#include "describe.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <variant>

namespace exai::codecs::test {
namespace json = boost::json;

std::string_view errc_name(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::parse_error: return "parse_error";
    case errc::message_too_large: return "message_too_large";
    case errc::too_deep: return "too_deep";
    case errc::invalid_request: return "invalid_request";
    case errc::unknown_dialect: return "unknown_dialect";
    case errc::method_not_found: return "method_not_found";
    case errc::invalid_params: return "invalid_params";
    case errc::tool_not_found: return "tool_not_found";
    case errc::not_initialized: return "not_initialized";
    case errc::unauthorized: return "unauthorized";
    case errc::unsupported_version: return "unsupported_version";
    case errc::header_mismatch: return "header_mismatch";
    case errc::missing_capability: return "missing_capability";
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::over_capacity: return "over_capacity";
    case errc::backend_unavailable: return "backend_unavailable";
    case errc::upstream_lost: return "upstream_lost";
    case errc::upstream_error: return "upstream_error";
    case errc::tool_failed: return "tool_failed";
    case errc::shutting_down: return "shutting_down";
    case errc::internal: return "internal";
  }
  return "?";
}

namespace {

json::value opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
json::value opt(const std::optional<double>& d) {
  return d ? json::value(*d) : json::value(nullptr);
}
template <class T>
json::value opt_json(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value describe_caps(const std::optional<op::capabilities>& c) {
  if (!c) return nullptr;
  json::object o{{"multiplex", c->multiplex}, {"cancel", c->cancel}, {"progress", c->progress}};
  o["max_inflight"] = c->max_inflight ? json::value(*c->max_inflight) : json::value(nullptr);
  return o;
}

json::value describe_wire(const op::wire_error& e) {
  return json::object{{"code", e.code}, {"message", e.message}, {"details", opt_json(e.details)}};
}

struct client_describer {
  json::value operator()(const op::hello& m) const {
    return json::object{{"kind", "hello"},
                        {"token", m.token},
                        {"session_id", opt(m.session_id)},
                        {"caps", describe_caps(m.caps)}};
  }
  json::value operator()(const op::list_tools& m) const {
    return json::object{{"kind", "list_tools"}, {"request_id", opt(m.request_id)}};
  }
  json::value operator()(const op::call_tool& m) const {
    return json::object{{"kind", "call_tool"},
                        {"request_id", opt(m.request_id)},
                        {"name", m.name},
                        {"arguments", m.arguments},
                        {"legacy_tool_call", m.legacy_tool_call}};
  }
  json::value operator()(const op::ping& m) const {
    return json::object{{"kind", "ping"}, {"request_id", opt(m.request_id)}};
  }
  json::value operator()(const op::cancel& m) const {
    return json::object{{"kind", "cancel"}, {"request_id", opt(m.request_id)}};
  }
};

struct server_describer {
  json::value operator()(const op::hello_ack& m) const {
    return json::object{{"kind", "hello_ack"},
                        {"ok", m.ok},
                        {"session_id", opt(m.session_id)},
                        {"error", opt(m.error)},
                        {"caps", describe_caps(m.caps)},
                        {"server", opt_json(m.server)}};
  }
  json::value operator()(const op::list_tools_res& m) const {
    return json::object{{"kind", "list_tools_res"},
                        {"request_id", opt(m.request_id)},
                        {"tools", m.tools},
                        {"timestamp", opt_json(m.timestamp)}};
  }
  json::value operator()(const op::progress& m) const {
    return json::object{{"kind", "progress"},
                        {"request_id", opt(m.request_id)},
                        {"progress", opt(m.progress)},
                        {"total", opt(m.total)},
                        {"message", m.message}};
  }
  json::value operator()(const op::stream_chunk& m) const {
    return json::object{
        {"kind", "stream_chunk"}, {"request_id", opt(m.request_id)}, {"chunk", m.chunk}};
  }
  json::value operator()(const op::stream_complete& m) const {
    return json::object{{"kind", "stream_complete"}, {"request_id", opt(m.request_id)}};
  }
  json::value operator()(const op::call_tool_ack& m) const {
    return json::object{
        {"kind", "call_tool_ack"}, {"request_id", opt(m.request_id)}, {"timeout_s", opt(m.timeout_s)}};
  }
  json::value operator()(const op::call_tool_res& m) const {
    return json::object{{"kind", "call_tool_res"},
                        {"request_id", opt(m.request_id)},
                        {"outputs", opt_json(m.outputs)},
                        {"error", m.error ? describe_wire(*m.error) : json::value(nullptr)},
                        {"is_error", m.is_error},
                        {"structured", opt_json(m.structured)},
                        {"from_cache", m.from_cache},
                        {"from_inflight", m.from_inflight},
                        {"text", opt(m.text)}};
  }
  json::value operator()(const op::pong& m) const {
    return json::object{{"kind", "pong"}, {"request_id", opt(m.request_id)}};
  }
  json::value operator()(const op::cancelled& m) const {
    return json::object{{"kind", "cancelled"}, {"request_id", opt(m.request_id)}};
  }
  json::value operator()(const op::error_msg& m) const {
    return json::object{{"kind", "error_msg"},
                        {"request_id", opt(m.request_id)},
                        {"error", describe_wire(m.error)},
                        {"bare", m.bare}};
  }
};

}  // namespace

json::value describe(const error& e) {
  json::object o{{"code", errc_name(e.code)}};
  if (e.upstream_code) o["upstream_code"] = *e.upstream_code;
  if (e.data) o["data"] = *e.data;
  return o;
}

json::value describe(const jsonrpc::decode_failure& f) {
  json::object o = describe(f.err).as_object();
  o["id"] = f.id ? f.id->value : json::value(nullptr);
  o["has_id"] = f.id.has_value();
  return o;
}

json::value describe(const inbound& in) {
  static constexpr std::string_view types[] = {"request", "notification", "response"};
  json::object o{{"from", in.from == dialect::jsonrpc ? "jsonrpc" : "op"},
                 {"type", types[static_cast<int>(in.type)]},
                 {"method", in.method},
                 {"params", in.params},
                 {"op", in.op}};
  o["id"] = in.id ? in.id->value : json::value(nullptr);
  o["has_id"] = in.id.has_value();
  o["result_or_error"] = opt_json(in.result_or_error);
  return o;
}

json::value describe(const tool_result& r) {
  return json::object{
      {"content", r.content}, {"structured", opt_json(r.structured)}, {"is_error", r.is_error}};
}

json::value describe(const op::client_message& m) { return std::visit(client_describer{}, m); }
json::value describe(const op::server_message& m) { return std::visit(server_describer{}, m); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path data_dir() {
  if (const char* env = std::getenv("EXAI_TEST_DATA_DIR")) return std::filesystem::path(env) / "codecs";
  return std::filesystem::path(EXAI_TEST_DATA_DIR) / "codecs";
}

}  // namespace exai::codecs::test

namespace exai::codecs::test {
namespace {

void pretty_into(std::string& out, const json::value& v, int indent) {
  auto newline = [&](int n) {
    out += '\n';
    out.append(static_cast<std::size_t>(n) * 2, ' ');
  };
  if (const auto* o = v.if_object(); o && !o->empty()) {
    out += '{';
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      out += json::serialize(json::value(kv.key()));
      out += ": ";
      pretty_into(out, kv.value(), indent + 1);
    }
    newline(indent);
    out += '}';
  } else if (const auto* a = v.if_array(); a && !a->empty()) {
    out += '[';
    bool first = true;
    for (const auto& e : *a) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      pretty_into(out, e, indent + 1);
    }
    newline(indent);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string pretty(const json::value& v) {
  std::string out;
  pretty_into(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace exai::codecs::test
