// Encoding canonical results into JSON-RPC responses and op messages (gateway/reply.hpp).
#include "gateway/reply.hpp"

#include "codecs/parse.hpp"

#include "codecs/jsonrpc.hpp"
#include "codecs/op.hpp"

#include <boost/json/array.hpp>

#include <chrono>

namespace exai::gateway {
namespace {

namespace json = boost::json;
using codecs::errc;

json::value request_id_of(const codecs::inbound& in) {
  return in.id ? in.id->value : json::value(nullptr);
}

json::object with_op(std::string_view op, const codecs::inbound& in) {
  json::object o;
  o.emplace("op", op);
  if (in.id) o.emplace("request_id", in.id->value);
  return o;
}

json::object wire_error(const codecs::error& e) {
  json::object err;
  err.emplace("code", codecs::op_code(e));
  err.emplace("message", e.message.empty() ? codecs::make_error_code(e.code).message()
                                           : e.message);
  return err;
}

json::object* object_member(json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

}  // namespace

json::object jsonrpc_reply(const codecs::client_id& id, codecs::result<json::value> r) {
  if (!r) return codecs::jsonrpc::encode_error(id, r.error());
  return codecs::jsonrpc::encode_result(id, std::move(*r));
}

json::object jsonrpc_error(const std::optional<codecs::client_id>& id, const codecs::error& e) {
  return codecs::jsonrpc::encode_error(id, e);
}

json::object op_error(const json::value& request_id, const codecs::error& e) {
  json::object o;
  o.emplace("op", "error");
  o.emplace("request_id", request_id);
  o.emplace("error", wire_error(e));
  return o;
}

json::object op_hello_refused(std::string_view reason) {
  json::object o;
  o.emplace("op", "hello_ack");
  o.emplace("ok", false);
  o.emplace("error", reason);
  return o;
}

json::object op_reply(const codecs::inbound& in, codecs::result<json::value> r) {
  const std::string_view m = in.method;
  if (m == "hello") {
    if (!r) {
      return op_hello_refused(r.error().code == errc::unauthorized ? "unauthorized"
                                                                   : r.error().message);
    }
    json::object o;
    o.emplace("op", "hello_ack");
    o.emplace("ok", true);
    if (auto* res = r->if_object()) {
      for (auto& kv : *res) o.emplace(kv.key(), std::move(kv.value()));
    }
    return o;
  }
  if (m == "tools/call") {
    json::object o = with_op("call_tool_res", in);
    if (!r) {
      o.emplace("error", wire_error(r.error()));
      return o;
    }
    auto* res = r->if_object();
    json::array outputs;
    if (res) {
      if (auto* c = res->if_contains("content"); c && c->is_array()) outputs = std::move(c->get_array());
    }
    o.emplace("outputs", std::move(outputs));
    if (res) {
      if (auto* e = res->if_contains("isError"); e && e->is_bool() && e->get_bool()) {
        o.emplace("is_error", true);
      }
      if (auto* s = object_member(*res, "structuredContent")) o.emplace("structured", std::move(*s));
    }
    return o;
  }
  if (!r) return op_error(request_id_of(in), r.error());
  if (m == "tools/list") {
    json::object o = with_op("list_tools_res", in);
    json::array tools;
    if (auto* res = r->if_object()) {
      if (auto* t = res->if_contains("tools"); t && t->is_array()) {
        auto& mcp_tools = t->get_array();
        tools.reserve(mcp_tools.size());
        for (auto& tool : mcp_tools) {
          if (auto* to = tool.if_object()) tools.push_back(codecs::op::to_op_tool(*to));
        }
      }
    }
    o.emplace("tools", std::move(tools));
    // The reference daemon stamps its list (section 3); seconds since the epoch.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    o.emplace("timestamp", std::chrono::duration<double>(now).count());
    return o;
  }
  if (m == "ping") return with_op("pong", in);
  if (m == "cancel") return with_op("cancelled", in);
  return op_error(request_id_of(in), codecs::error(errc::internal, "no op reply for " + in.method));
}

json::object mcp_progress(const json::value& token, double progress, std::optional<double> total,
                          std::string_view message) {
  json::object params;
  params.emplace("progressToken", token);
  params.emplace("progress", codecs::json_number(progress));
  if (total) params.emplace("total", codecs::json_number(*total));
  if (!message.empty()) params.emplace("message", message);
  return codecs::jsonrpc::encode_notification("notifications/progress", std::move(params));
}

json::object op_progress(const codecs::client_id* id, const codecs::progress_update& u) {
  json::object o;
  o.emplace("op", "progress");
  if (id) o.emplace("request_id", id->value);
  if (u.progress) o.emplace("progress", codecs::json_number(*u.progress));
  if (u.total) o.emplace("total", codecs::json_number(*u.total));
  o.emplace("message", u.message.empty() ? std::string_view("Tool execution in progress...")
                                         : std::string_view(u.message));
  return o;
}

json::object tools_list_changed() {
  return codecs::jsonrpc::encode_notification("notifications/tools/list_changed", {});
}

}  // namespace exai::gateway
