// The two MCP eras side by side (mcp-server-rules.md, "2026-07-28 in detail"): a request whose
// `_meta` carries the modern protocol fields is served statelessly in the 2026-07-28 shape; any
// other request follows the connection's legacy (initialize) lifecycle. The rules that depend on
// the era live here, as pure functions over Boost.JSON; routes/table.cpp calls them.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exai::routes::era {

// Revisions served statelessly, newest first (what server/discover lists as supportedVersions).
inline constexpr std::string_view modern_versions[] = {"2026-07-28"};

// Reserved `_meta` keys of the modern era.
inline constexpr std::string_view protocol_version_key = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view client_capabilities_key =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view client_info_key = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view server_info_key = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view log_level_key = "io.modelcontextprotocol/logLevel";
// Notification `_meta` key naming the subscriptions/listen stream (the listen request's id).
inline constexpr std::string_view subscription_id_key = "io.modelcontextprotocol/subscriptionId";

// The tool-level `_meta` key through which a tool names the client capabilities a call needs
// (a ClientCapabilities object, e.g. {"sampling":{}}). Checked for modern requests (-32021).
inline constexpr std::string_view tool_required_capabilities_key = "exai/requiredClientCapabilities";

// Methods that exist only in the modern era: they are modern whatever their `_meta` says, so a
// request without the fields is refused with -32602 rather than served in the legacy shape.
bool is_modern_only_method(std::string_view method) noexcept;

// Pure classifier: true when the request asks for the modern era, i.e. its `_meta` carries either
// of the two required modern fields (the other one missing is then a -32602, not legacy), or its
// method exists only in the modern era. Cheap: one or two lookups; legacy requests pay nothing more.
bool is_modern(std::string_view method, const boost::json::object& params) noexcept;

// What a valid modern request declared.
struct modern_request {
  std::string version;                     // one of modern_versions
  boost::json::object client_capabilities; // as the client sent it
  std::optional<std::string> log_level;    // `_meta` logLevel, when set
};

// Validates a modern request's `_meta`: missing or malformed protocolVersion or
// clientCapabilities -> invalid_params (-32602); a version we do not serve -> unsupported_version
// (-32022) with data {supported:[...], requested}. clientInfo is optional (a SHOULD).
codecs::result<modern_request> validate(const boost::json::object& params);

// -32601 for a method the modern era removed (initialize, ping, logging/setLevel, ...).
codecs::error removed_method(std::string_view method);

// The capabilities of `required` (a ClientCapabilities object) that `declared` lacks, as a
// ClientCapabilities object; empty when every one was declared.
boost::json::object missing_capabilities(const boost::json::object& required,
                                         const boost::json::object& declared);

// -32021 with data.requiredCapabilities = missing (a ClientCapabilities object).
codecs::error missing_capability(std::string_view what, boost::json::object missing);

// Cache hints of list results (every page alike): ttlMs >= 0 and cacheScope "public", because a
// tool list never depends on who asks (mcp-server-rules.md, modern rule 4).
struct cache_hint {
  std::chrono::milliseconds ttl{60'000};
  std::string_view scope = "public";
};

// Shapes a modern result in place: resultType "complete" on every result, and the cache hints on
// tools/list. `result` must be an object (every MCP result is).
void shape_result(std::string_view method, boost::json::value& result, const cache_hint& hint);

// server/discover's result (modern rule 2).
struct discover_info {
  std::string server_name, server_version;
  bool tools_list_changed = false;  // tools.listChanged: subscriptions/listen delivers it
  bool logging = false;             // logging capability (only when log lines are emitted)
  cache_hint hint{};
};
boost::json::value discover_result(const discover_info& info);

// ---- subscriptions/listen (modern rule 11) ----------------------------------------------------

// The notification types a listen stream agreed to deliver. Only tools/list_changed exists here:
// the gateway has no prompts or resources, so those requested types are left out of the
// acknowledgement and never sent.
struct listen_filter {
  bool tools_list_changed = false;
};

// The filter of a subscriptions/listen request: params.notifications must be an object
// (else invalid_params, -32602); `toolsListChanged: true` is honoured, every other member
// (promptsListChanged, resourcesListChanged, resourceSubscriptions, unknown ones) is not.
codecs::result<listen_filter> listen_filter_of(const boost::json::object& params);

// notifications/subscriptions/acknowledged for the listen request `id`: params.notifications is
// the agreed subset ({} when nothing requested is offered), `_meta` carries the subscription id.
boost::json::object listen_acknowledged(const boost::json::value& id, const listen_filter& f);
// A list_changed style notification (`method`, no other params) on the listen stream `id`.
boost::json::object listen_notification(std::string_view method, const boost::json::value& id);
// The listen request's result when the server ends the stream gracefully (shutdown):
// {resultType:"complete", _meta:{subscriptionId: id}}.
boost::json::value listen_result(const boost::json::value& id);

// ---- the HTTP binding of the modern era (used by the HTTP transport) ---------------------------

// The Mcp-* headers of one HTTP request, as received (absent headers are nullopt).
struct http_headers {
  std::optional<std::string_view> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string_view> method;            // Mcp-Method
  std::optional<std::string_view> name;              // Mcp-Name
};

// The name Mcp-Name must carry for this request (tools/call, prompts/get: params.name;
// resources/read: params.uri), or nullopt when the method has none.
std::optional<std::string_view> expected_name(std::string_view method,
                                              const boost::json::object& params) noexcept;

// For a modern request over HTTP: MCP-Protocol-Version must equal the `_meta` version, Mcp-Method
// the body's method and Mcp-Name (where the method has one) the body's name; otherwise
// header_mismatch (-32020). Call after validate() succeeded, with its version.
codecs::result<void> check_http_headers(const http_headers& headers, std::string_view method,
                                        const boost::json::object& params,
                                        std::string_view meta_version);

// The HTTP status of a modern request answered with error e: 404 for an unknown method, 400 for
// a request the server refuses as malformed (bad `_meta`, unsupported version, header mismatch,
// missing capability), 200 otherwise (the error travels in the JSON-RPC body).
unsigned http_status_for(const codecs::error& e) noexcept;
// The same for a JSON-RPC error code as found in a reply (0: not an error -> 200).
unsigned http_status_for_code(std::int64_t jsonrpc_code) noexcept;

// ---- translation between the legacy revisions --------------------------------------------------

// Rewrites a tools/list result's tools for a client that negotiated an older legacy revision:
// members that revision does not define are dropped (title and outputSchema before 2025-06-18,
// icons and execution before 2025-11-25, annotations before 2025-03-26). No-op for the latest.
void downgrade_tools(std::string_view version, boost::json::array& tools);

// Rewrites a CallToolResult for an older legacy revision: structuredContent is dropped before
// 2025-06-18 (its text twin stays in content); content blocks the revision lacks (audio before
// 2025-03-26, resource_link before 2025-06-18) become text blocks saying what they were.
void downgrade_call_result(std::string_view version, boost::json::object& result);

}  // namespace exai::routes::era
