// JSON-RPC 2.0 as MCP uses it (mcp-server-rules.md, "JSON-RPC base"): decode one message or a
// batch into the canonical inbound; encode results, errors and notifications. Ids keep their type.
#include "codecs/jsonrpc.hpp"

#include "codecs/parse.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <string>

namespace exai::codecs::jsonrpc {
namespace {

namespace json = boost::json;

using decoded = boost::system::result<inbound, decode_failure>;

decode_failure fail(errc code, std::string message, std::optional<client_id> id = std::nullopt) {
  return decode_failure{error(code, std::move(message)), std::move(id)};
}

bool is_valid_id(const json::value& v) noexcept {
  return v.is_string() || v.is_int64() || v.is_uint64();
}

// A response's error member: {"code": integer, "message": string, "data"?: any}.
bool is_error_object(const json::value& v) noexcept {
  const auto* o = v.if_object();
  if (!o) return false;
  const auto* code = o->if_contains("code");
  const auto* message = o->if_contains("message");
  return code && (code->is_int64() || code->is_uint64()) && message && message->is_string();
}

}  // namespace

// Ids: a string or an integer (never null, bool, fractional, object or array); `1` and `"1"` are
// different ids. params: an object, kept whole (its `_meta` untouched), or absent ({}). Positional
// (array) params are rejected with invalid_params: every MCP method takes named params, so no
// route could serve them, and a made-up key would leak framing into the routes (house-style 3).
namespace {
// `owner`, when given, is v itself and may be taken apart: params are moved, not copied.
decoded decode_impl(const json::value& v, json::value* owner) {
  const auto* obj = v.if_object();
  if (!obj) return fail(errc::invalid_request, "a JSON-RPC message must be an object");

  // The members in one pass, not a lookup each (issue 7 profile).
  const json::value* raw_id = nullptr;
  const json::value* version = nullptr;
  const json::value* method = nullptr;
  const json::value* params = nullptr;
  const json::value* result = nullptr;
  const json::value* err = nullptr;
  std::size_t params_at = 0;
  for (std::size_t i = 0; i < obj->size(); ++i) {
    const auto& kv = *(obj->begin() + i);
    const std::string_view key = kv.key();
    if (key == "id") {
      raw_id = &kv.value();
    } else if (key == "jsonrpc") {
      version = &kv.value();
    } else if (key == "method") {
      method = &kv.value();
    } else if (key == "params") {
      params = &kv.value();
      params_at = i;
    } else if (key == "result") {
      result = &kv.value();
    } else if (key == "error") {
      err = &kv.value();
    }
  }

  std::optional<client_id> id;
  bool null_id = raw_id && raw_id->is_null();
  if (raw_id && !null_id) {
    if (!is_valid_id(*raw_id)) {
      return fail(errc::invalid_request, "id must be a string or an integer");
    }
    id = client_id{*raw_id};
  }

  if (!version) return fail(errc::invalid_request, "missing \"jsonrpc\"", id);
  const auto* version_str = version->if_string();
  if (!version_str || *version_str != "2.0") {
    return fail(errc::invalid_request, "\"jsonrpc\" must be \"2.0\"", id);
  }

  if (method) {
    const auto* name = method->if_string();
    if (!name) return fail(errc::invalid_request, "method must be a string", id);
    if (null_id) return fail(errc::invalid_request, "a request id must not be null");
    inbound in;
    in.from = dialect::jsonrpc;
    in.type = id ? message_type::request : message_type::notification;
    in.method.assign(name->data(), name->size());
    in.id = id;
    if (params) {
      if (const auto* p = params->if_object()) {
        if (owner) {
          in.params = std::move((owner->get_object().begin() + params_at)->value().get_object());
        } else {
          in.params = *p;
        }
      } else if (params->is_array()) {
        return fail(errc::invalid_params, "positional (array) params are not supported", id);
      } else {
        return fail(errc::invalid_request, "params must be an object", id);
      }
    }
    return in;
  }

  // A response (to a request the server sent). An error response may carry id null (the client
  // could not read our id); a result always needs a real id.
  if (!raw_id) return fail(errc::invalid_request, "missing \"method\" or \"id\"");
  if (result && err) {
    return fail(errc::invalid_request, "a response has either \"result\" or \"error\"", id);
  }
  if (!result && !err) return fail(errc::invalid_request, "missing \"method\"", id);
  if (result && null_id) return fail(errc::invalid_request, "a result needs a non-null id");
  if (err && !is_error_object(*err)) {
    return fail(errc::invalid_request, "error must be {code: integer, message: string}", id);
  }
  inbound in;
  in.from = dialect::jsonrpc;
  in.type = message_type::response;
  in.id = id;
  // The member itself, as a one-member object: {"result": ...} or {"error": {...}}.
  json::object member;
  if (result) {
    member.emplace("result", *result);
  } else {
    member.emplace("error", *err);
  }
  in.result_or_error = json::value(std::move(member));
  return in;
}
}  // namespace

decoded decode(const json::value& v) { return decode_impl(v, nullptr); }
decoded decode(json::value&& v) { return decode_impl(v, &v); }

result<std::vector<decoded>> decode_batch(const json::array& a, std::size_t max_elements) {
  if (a.empty()) return error(errc::invalid_request, "empty batch");
  if (a.size() > max_elements) {
    return error(errc::invalid_request, "batch of " + std::to_string(a.size()) +
                                            " elements is over the cap of " +
                                            std::to_string(max_elements) + " per batch");
  }
  std::vector<decoded> out;
  out.reserve(a.size());
  for (const auto& element : a) out.push_back(decode(element));
  return out;
}

json::object encode_result(const client_id& id, json::value result) {
  json::object o;
  o.emplace("jsonrpc", "2.0");
  o.emplace("id", id.value);
  o.emplace("result", std::move(result));
  return o;
}

std::string encode_result_text(const client_id& id, const json::value& result) {
  std::string out;
  out.reserve(64);
  out += R"({"jsonrpc":"2.0","id":)";
  append_json(out, id.value);
  out += R"(,"result":)";
  append_json(out, result);
  out += '}';
  return out;
}

json::object encode_error(const std::optional<client_id>& id, const error& e) {
  json::object err;
  err.emplace("code", jsonrpc_code(e.code));
  err.emplace("message", e.message.empty() ? make_error_code(e.code).message() : e.message);
  if (e.data) err.emplace("data", *e.data);
  json::object o;
  o.emplace("jsonrpc", "2.0");
  o.emplace("id", id ? id->value : json::value(nullptr));
  o.emplace("error", std::move(err));
  return o;
}

json::object encode_notification(std::string_view method, json::object params) {
  json::object o;
  o.emplace("jsonrpc", "2.0");
  o.emplace("method", method);
  o.emplace("params", std::move(params));
  return o;
}

// MCP CallToolResult: content is required; structuredContent and isError only when set, so a
// plain success looks exactly like the SDK's own servers' results.
json::object to_call_tool_result(const tool_result& r) {
  json::object o;
  o.emplace("content", r.content);
  if (r.structured) o.emplace("structuredContent", *r.structured);
  if (r.is_error) o.emplace("isError", true);
  return o;
}

void throw_exception_from_error(const decode_failure& f, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(f.err.code), f.err.message),
                         loc);
}

}  // namespace exai::codecs::jsonrpc
