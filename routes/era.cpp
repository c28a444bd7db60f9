// Era rules as pure functions: detecting and validating a 2026-07-28 request, shaping its
// results, the HTTP binding's header check and status, and shaping results for older legacy
// revisions (routes/era.hpp).
#include "routes/era.hpp"

#include "codecs/jsonrpc.hpp"

#include <boost/json/string.hpp>

#include <algorithm>
#include <utility>

namespace exai::routes::era {
namespace {

namespace json = boost::json;
using codecs::errc;
using codecs::error;

const json::object* meta_of(const json::object& params) noexcept {
  const auto* m = params.if_contains("_meta");
  return m ? m->if_object() : nullptr;
}

bool is_supported_modern(std::string_view v) noexcept {
  return std::find(std::begin(modern_versions), std::end(modern_versions), v) !=
         std::end(modern_versions);
}

// Legacy revisions are ISO dates, so they order as strings.
bool older_than(std::string_view version, std::string_view revision) noexcept {
  return version < revision;
}

}  // namespace

bool is_modern_only_method(std::string_view method) noexcept {
  return method == "server/discover" || method == "subscriptions/listen";
}

bool is_modern(std::string_view method, const json::object& params) noexcept {
  if (is_modern_only_method(method)) return true;
  const auto* meta = meta_of(params);
  return meta && (meta->contains(protocol_version_key) || meta->contains(client_capabilities_key));
}

codecs::result<modern_request> validate(const json::object& params) {
  const auto* meta = meta_of(params);
  if (!meta) {
    return error(errc::invalid_params,
                 "params._meta is required: it carries io.modelcontextprotocol/protocolVersion "
                 "and io.modelcontextprotocol/clientCapabilities");
  }
  const auto* v = meta->if_contains(protocol_version_key);
  const auto* version = v ? v->if_string() : nullptr;
  if (!version) {
    return error(errc::invalid_params,
                 "params._meta[\"io.modelcontextprotocol/protocolVersion\"] must be a string");
  }
  const auto* c = meta->if_contains(client_capabilities_key);
  const auto* caps = c ? c->if_object() : nullptr;
  if (!caps) {
    return error(errc::invalid_params,
                 "params._meta[\"io.modelcontextprotocol/clientCapabilities\"] must be an object");
  }
  if (!is_supported_modern(*version)) {
    error e(errc::unsupported_version,
            "unsupported protocol version: " + codecs::excerpt(*version));
    json::array supported;
    for (auto s : modern_versions) supported.emplace_back(s);
    json::object data;
    data.emplace("supported", std::move(supported));
    data.emplace("requested", *version);
    e.data = json::value(std::move(data));
    return e;
  }
  modern_request r;
  r.version.assign(version->data(), version->size());
  r.client_capabilities = *caps;
  if (const auto* l = meta->if_contains(log_level_key)) {
    if (const auto* s = l->if_string()) r.log_level = std::string(s->data(), s->size());
  }
  return r;
}

error removed_method(std::string_view method) {
  return error(errc::method_not_found,
               "method not found: " + codecs::excerpt(method) +
                   " (not part of the 2026-07-28 revision; a connection opened with initialize "
                   "keeps the legacy lifecycle)");
}

json::object missing_capabilities(const json::object& required, const json::object& declared) {
  json::object missing;
  for (const auto& kv : required) {
    if (!declared.contains(kv.key())) missing.emplace(kv.key(), kv.value());
  }
  return missing;
}

error missing_capability(std::string_view what, json::object missing) {
  std::string names;
  for (const auto& kv : missing) {
    if (!names.empty()) names += ", ";
    names.append(kv.key());
  }
  error e(errc::missing_capability, std::string(what) + " needs the client capabilities " +
                                        names + ", which the request did not declare");
  json::object data;
  data.emplace("requiredCapabilities", std::move(missing));
  e.data = json::value(std::move(data));
  return e;
}

void shape_result(std::string_view method, json::value& result, const cache_hint& hint) {
  auto* o = result.if_object();
  if (!o) return;
  (*o)["resultType"] = "complete";
  if (method == "tools/list") {
    (*o)["ttlMs"] = static_cast<std::int64_t>(hint.ttl.count());
    (*o)["cacheScope"] = hint.scope;
  }
}

json::value discover_result(const discover_info& info) {
  json::array versions;
  for (auto v : modern_versions) versions.emplace_back(v);
  json::object tools;
  if (info.tools_list_changed) tools.emplace("listChanged", true);
  json::object caps;
  caps.emplace("tools", std::move(tools));
  if (info.logging) caps.emplace("logging", json::object());
  json::object server;
  server.emplace("name", info.server_name);
  server.emplace("version", info.server_version);
  json::object meta;
  meta.emplace(server_info_key, std::move(server));
  json::object r;
  r.emplace("resultType", "complete");
  r.emplace("supportedVersions", std::move(versions));
  r.emplace("capabilities", std::move(caps));
  r.emplace("ttlMs", static_cast<std::int64_t>(info.hint.ttl.count()));
  r.emplace("cacheScope", info.hint.scope);
  r.emplace("_meta", std::move(meta));
  return json::value(std::move(r));
}

codecs::result<listen_filter> listen_filter_of(const json::object& params) {
  const auto* n = params.if_contains("notifications");
  const auto* o = n ? n->if_object() : nullptr;
  if (!o) {
    return error(errc::invalid_params,
                 "params.notifications must be an object naming the notification types to "
                 "receive (toolsListChanged)");
  }
  listen_filter f;
  if (const auto* t = o->if_contains("toolsListChanged")) {
    if (!t->is_bool()) {
      return error(errc::invalid_params, "params.notifications.toolsListChanged must be a boolean");
    }
    f.tools_list_changed = t->get_bool();
  }
  return f;
}

namespace {
json::object subscription_meta(const json::value& id) {
  json::object meta;
  meta.emplace(subscription_id_key, id);
  return meta;
}
}  // namespace

json::object listen_acknowledged(const json::value& id, const listen_filter& f) {
  json::object agreed;
  if (f.tools_list_changed) agreed.emplace("toolsListChanged", true);
  json::object params;
  params.emplace("_meta", subscription_meta(id));
  params.emplace("notifications", std::move(agreed));
  return codecs::jsonrpc::encode_notification("notifications/subscriptions/acknowledged",
                                              std::move(params));
}

json::object listen_notification(std::string_view method, const json::value& id) {
  json::object params;
  params.emplace("_meta", subscription_meta(id));
  return codecs::jsonrpc::encode_notification(method, std::move(params));
}

json::value listen_result(const json::value& id) {
  json::object r;
  r.emplace("resultType", "complete");
  r.emplace("_meta", subscription_meta(id));
  return json::value(std::move(r));
}

std::optional<std::string_view> expected_name(std::string_view method,
                                              const json::object& params) noexcept {
  std::string_view key;
  if (method == "tools/call" || method == "prompts/get") {
    key = "name";
  } else if (method == "resources/read") {
    key = "uri";
  } else {
    return std::nullopt;
  }
  const auto* v = params.if_contains(key);
  const auto* s = v ? v->if_string() : nullptr;
  if (!s) return std::string_view();  // the header must then be absent or empty
  return std::string_view(*s);
}

codecs::result<void> check_http_headers(const http_headers& h, std::string_view method,
                                        const json::object& params,
                                        std::string_view meta_version) {
  if (!h.protocol_version || *h.protocol_version != meta_version) {
    return error(errc::header_mismatch,
                 "the MCP-Protocol-Version header must equal "
                 "params._meta[\"io.modelcontextprotocol/protocolVersion\"] (" +
                     codecs::excerpt(meta_version) + ")");
  }
  if (!h.method || *h.method != method) {
    return error(errc::header_mismatch,
                 "the Mcp-Method header must equal the request's method (" +
                     codecs::excerpt(method) + ")");
  }
  // A body without a name is refused by the method itself (-32602); only a named one is compared.
  if (auto name = expected_name(method, params); name && !name->empty()) {
    if (!h.name || *h.name != *name) {
      return error(errc::header_mismatch, "the Mcp-Name header must equal the request's name (" +
                                              codecs::excerpt(*name) + ")");
    }
  }
  return {};
}

unsigned http_status_for(const error& e) noexcept {
  return http_status_for_code(codecs::jsonrpc_code(e.code));
}

unsigned http_status_for_code(std::int64_t code) noexcept {
  switch (code) {
    case -32601: return 404;
    case -32700:
    case -32600:
    case -32602:
    case -32020:
    case -32021:
    case -32022: return 400;
    default: return 200;
  }
}

void downgrade_tools(std::string_view version, json::array& tools) {
  if (!older_than(version, "2025-11-25")) return;
  for (auto& t : tools) {
    auto* o = t.if_object();
    if (!o) continue;
    o->erase("icons");
    o->erase("execution");
    if (older_than(version, "2025-06-18")) {
      o->erase("title");
      o->erase("outputSchema");
    }
    if (older_than(version, "2025-03-26")) o->erase("annotations");
  }
}

void downgrade_call_result(std::string_view version, json::object& result) {
  if (!older_than(version, "2025-06-18")) return;
  result.erase("structuredContent");
  auto* content = result.contains("content") ? result["content"].if_array() : nullptr;
  if (!content) return;
  for (auto& block : *content) {
    auto* b = block.if_object();
    if (!b) continue;
    const auto* type = b->if_contains("type");
    const auto* t = type ? type->if_string() : nullptr;
    if (!t) continue;
    std::string text;
    if (*t == "resource_link") {
      const auto* uri = b->if_contains("uri");
      text = "[resource: ";
      if (uri && uri->is_string()) text.append(uri->get_string());
      text += "]";
    } else if (*t == "audio" && older_than(version, "2025-03-26")) {
      const auto* mime = b->if_contains("mimeType");
      text = "[audio content";
      if (mime && mime->is_string()) text.append(" (").append(mime->get_string()).append(")");
      text += " omitted: protocol revision " + std::string(version) + " has no audio content]";
    } else {
      continue;
    }
    json::object replaced;
    replaced.emplace("type", "text");
    replaced.emplace("text", std::move(text));
    block = std::move(replaced);
  }
}

}  // namespace exai::routes::era
