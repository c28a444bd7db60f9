// The MCP and op routes (issue 4, "Sessions, codecs, routes"): lifecycle answered from local
// state, tools/list with opaque cursors, tools/call through the backend under a deadline.
#include "routes/table.hpp"

#include "net/asio_frame_warning.hpp"
#include "routes/auth.hpp"
#include "routes/cursor.hpp"
#include "routes/deadline.hpp"
#include "routes/era.hpp"
#include "routes/logging.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <utility>

namespace exai::routes {
namespace {

namespace json = boost::json;
using codecs::errc;
using codecs::error;
using reply = codecs::result<json::value>;

const json::string* string_param(const json::object& params, std::string_view key) {
  const auto* v = params.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// A failure inside a tool, or around it in a way a model can react to, is a result with isError
// (mcp-server-rules.md, "Tools"); a malformed call or an unknown tool is a JSON-RPC error.
bool is_tool_level(errc e) noexcept {
  switch (e) {
    case errc::invalid_params:  // argument validation by the tool host: the model can fix it
    case errc::timeout:
    case errc::over_capacity:
    case errc::backend_unavailable:
    case errc::upstream_lost:
    case errc::upstream_error:
    case errc::tool_failed:
    case errc::shutting_down: return true;
    default: return false;
  }
}

std::string tool_error_text(std::string_view tool, const error& e) {
  std::string text = "Tool '";
  text.append(tool).append("' failed: ");
  text.append(e.message.empty() ? codecs::make_error_code(e.code).message() : e.message);
  if (e.upstream_code) text.append(" (").append(*e.upstream_code).append(")");
  return text;
}

json::object server_info(const route_options& o) {
  json::object info;
  info.emplace("name", o.server_name);
  info.emplace("version", o.server_version);
  return info;
}

era::cache_hint cache_hint_of(const route_options& o) { return era::cache_hint{o.list_ttl}; }

// Modern rule 7: a tool that names client capabilities in its `_meta` (era.hpp) is refused with
// -32021 when the request did not declare them. Nothing is checked when the list is unavailable:
// the call itself then reports that.
boost::asio::awaitable<codecs::result<void>> check_tool_capabilities(const codecs::inbound& in,
                                                                     request_context& ctx) {
  const auto* name = string_param(in.params, "name");
  if (!name) co_return codecs::result<void>();
  auto listed = co_await async_with_deadline(ctx.backend.async_list_tools(), ctx.deadline);
  if (!listed) co_return codecs::result<void>();
  for (const auto& t : *listed) {
    const auto* o = t.if_object();
    const auto* n = o ? o->if_contains("name") : nullptr;
    if (!n || !n->is_string() || n->get_string() != *name) continue;
    const auto* meta = o->if_contains("_meta");
    const auto* m = meta ? meta->if_object() : nullptr;
    const auto* req = m ? m->if_contains(era::tool_required_capabilities_key) : nullptr;
    if (!req || !req->is_object()) break;
    auto missing = era::missing_capabilities(req->get_object(), ctx.modern->client_capabilities);
    if (!missing.empty()) {
      co_return era::missing_capability("tool '" + codecs::excerpt(*name) + "'",
                                        std::move(missing));
    }
    break;
  }
  co_return codecs::result<void>();
}

// A 2026-07-28 request through the legacy handler h: `_meta` validated first, the result shaped
// after (resultType, cache hints). Stateless: nothing of the session's lifecycle is read.
boost::asio::awaitable<reply> serve_modern(handler h, codecs::inbound& in, request_context& ctx) {
  auto m = era::validate(in.params);
  if (!m) co_return m.error();
  ctx.modern = &*m;
  if (in.method == "tools/call") {
    auto ok = co_await check_tool_capabilities(in, ctx);
    if (!ok) co_return ok.error();
  }
  auto r = co_await h(in, ctx);
  ctx.modern = nullptr;  // *m ends with this frame
  if (r) era::shape_result(in.method, *r, cache_hint_of(ctx.options));
  co_return r;
}

}  // namespace

std::string_view negotiate_version(std::string_view requested) noexcept {
  for (auto v : supported_versions) {
    if (v == requested) return v;
  }
  return latest_version;
}

std::chrono::milliseconds route_options::timeout_for(std::string_view tool) const {
  auto it = tool_timeouts.find(tool);
  return it == tool_timeouts.end() ? call_timeout : it->second;
}

std::string timeout_message(std::string_view tool, std::chrono::milliseconds budget) {
  std::string text = "Tool '";
  text.append(tool).append("' timed out after ").append(std::to_string(budget.count()));
  text.append(" ms (the gateway's call budget for this tool); the call was cancelled.");
  return text;
}

// initialize never touches the backend: it must be fast whatever the backend's state (issue 4).
boost::asio::awaitable<reply> handle_initialize(codecs::inbound& in, request_context& ctx) {
  if (era::is_modern(in.method, in.params)) co_return era::removed_method(in.method);
  const auto* requested = string_param(in.params, "protocolVersion");
  std::string_view version =
      negotiate_version(requested ? std::string_view(*requested) : std::string_view());
  ctx.session.protocol_version = std::string(version);

  json::object tools;
  tools.emplace("listChanged", true);
  json::object caps;
  caps.emplace("tools", std::move(tools));
  caps.emplace("logging", json::object());  // logging/setLevel; tools' log lines are relayed
  json::object result;
  result.emplace("protocolVersion", version);
  result.emplace("capabilities", std::move(caps));
  result.emplace("serverInfo", server_info(ctx.options));
  co_return json::value(std::move(result));
}

boost::asio::awaitable<reply> handle_initialized(codecs::inbound&, request_context& ctx) {
  ctx.session.initialized_notified = true;
  co_return json::value(json::object());
}

boost::asio::awaitable<reply> handle_ping(codecs::inbound& in, request_context&) {
  if (era::is_modern(in.method, in.params)) co_return era::removed_method(in.method);
  co_return json::value(json::object());
}

// Modern rule 2. Capabilities name exactly what this gateway serves to modern clients.
boost::asio::awaitable<reply> handle_server_discover(codecs::inbound& in, request_context& ctx) {
  auto m = era::validate(in.params);
  if (!m) co_return m.error();
  era::discover_info info;
  info.server_name = ctx.options.server_name;
  info.server_version = ctx.options.server_version;
  info.hint = cache_hint_of(ctx.options);
  info.logging = true;  // tools' log lines, for requests that set _meta logLevel
  info.tools_list_changed = static_cast<bool>(ctx.session.listen);  // subscriptions/listen
  co_return era::discover_result(info);
}

// Modern rule 11: a long-lived request whose stream carries the acknowledgement and then the
// requested list_changed notifications; the session serves it (session_state::listen).
boost::asio::awaitable<reply> handle_subscriptions_listen(codecs::inbound& in,
                                                          request_context& ctx) {
  auto m = era::validate(in.params);
  if (!m) co_return m.error();
  auto f = era::listen_filter_of(in.params);
  if (!f) co_return f.error();
  if (!ctx.session.listen || !in.id) {
    co_return error(errc::method_not_found, "subscriptions/listen is not offered here");
  }
  co_return co_await ctx.session.listen(*f, ctx);
}

// Legacy only: the connection's threshold for tools' log lines (modern requests carry their own).
boost::asio::awaitable<reply> handle_logging_set_level(codecs::inbound& in, request_context& ctx) {
  if (era::is_modern(in.method, in.params)) co_return era::removed_method(in.method);
  const auto* level = string_param(in.params, "level");
  if (!level || !log_severity(*level)) {
    co_return error(errc::invalid_params,
                    "params.level must be one of debug, info, notice, warning, error, critical, "
                    "alert, emergency");
  }
  ctx.session.log_level = std::string(*level);
  co_return json::value(json::object());
}

boost::asio::awaitable<reply> handle_tools_list(codecs::inbound& in, request_context& ctx) {
  if (!ctx.modern && in.from == codecs::dialect::jsonrpc && era::is_modern(in.method, in.params)) {
    co_return co_await serve_modern(&handle_tools_list, in, ctx);
  }
  std::optional<list_cursor> cursor;
  if (const auto* c = in.params.if_contains("cursor"); c && !c->is_null()) {
    const auto* s = c->if_string();
    if (!s) co_return error(errc::invalid_params, "cursor must be a string");
    cursor = decode_cursor(*s);
    if (!cursor) co_return error(errc::invalid_params, "invalid cursor");
  }

  auto listed = co_await async_with_deadline(ctx.backend.async_list_tools(), ctx.deadline);
  if (!listed) {
    error e = std::move(listed.error());
    if (e.code == errc::timeout) {
      e = error(errc::backend_unavailable, "the tool backend did not list its tools in time");
    }
    // Never an empty list in place of an error (issue 4).
    if (e.code != errc::cancelled && e.code != errc::backend_unavailable) {
      e.message = "cannot list tools: " + e.message;
    }
    co_return e;
  }
  json::array tools = std::move(*listed);

  json::object result;
  // Op clients get the whole list in one list_tools_res (the op protocol has no cursor).
  if (ctx.dialect == codecs::dialect::op || ctx.options.page_size == 0) {
    if (cursor) co_return error(errc::invalid_params, "invalid cursor");
    result.emplace("tools", std::move(tools));
    co_return json::value(std::move(result));
  }

  const std::uint64_t fingerprint = tools_fingerprint(tools);
  std::size_t offset = 0;
  if (cursor) {
    if (cursor->fingerprint != fingerprint || cursor->offset == 0 ||
        cursor->offset >= tools.size()) {
      co_return error(errc::invalid_params,
                      "invalid cursor (the tool list changed; list again from the start)");
    }
    offset = cursor->offset;
  }
  const std::size_t end = std::min(tools.size(), offset + ctx.options.page_size);
  json::array page;
  if (offset == 0 && end == tools.size()) {
    page = std::move(tools);
  } else {
    page.reserve(end - offset);
    for (std::size_t i = offset; i < end; ++i) page.push_back(std::move(tools[i]));
  }
  if (!ctx.modern && ctx.session.protocol_version) {
    era::downgrade_tools(*ctx.session.protocol_version, page);
  }
  result.emplace("tools", std::move(page));
  if (end < tools.size()) result.emplace("nextCursor", encode_cursor({end, fingerprint}));
  co_return json::value(std::move(result));
}

EXAI_ASIO_FRAME_WARNING_OFF  // a GCC false positive at -O2, see net/asio_frame_warning.hpp
boost::asio::awaitable<reply> handle_tools_call(codecs::inbound& in, request_context& ctx) {
  if (!ctx.modern && in.from == codecs::dialect::jsonrpc && era::is_modern(in.method, in.params)) {
    co_return co_await serve_modern(&handle_tools_call, in, ctx);
  }
  const auto* name = string_param(in.params, "name");
  if (!name || name->empty()) {
    co_return error(errc::invalid_params, "tools/call needs a tool name (params.name)");
  }
  json::object arguments;
  if (auto* a = in.params.if_contains("arguments"); a && !a->is_null()) {
    auto* obj = a->if_object();
    if (!obj) co_return error(errc::invalid_params, "params.arguments must be an object");
    arguments = std::move(*obj);  // moved on to the backend: nothing reads them here again
  }
  std::string tool(name->data(), name->size());
  ctx.tool = tool;
  const auto budget = ctx.options.timeout_for(tool);
  // The tighter of the request's own deadline and the tool's budget (house-style 9: absolute).
  const auto deadline = std::min(ctx.deadline, ctx.received + budget);

  call_context cc;
  cc.deadline = deadline;
  cc.progress = ctx.progress;
  cc.session = ctx.session_label;
  cc.client_id = ctx.client_key;
  // The backend ends the call by the deadline (tool_backend's deadline contract).
  codecs::result<codecs::tool_result> called =
      co_await ctx.backend.async_call_tool(tool, std::move(arguments), std::move(cc));

  codecs::tool_result r;
  if (called) {
    r = std::move(*called);
  } else {
    const error& e = called.error();
    if (e.code == errc::timeout) {
      ctx.timed_out = true;
      r = codecs::tool_result::text(timeout_message(tool, budget), true);
    } else if (is_tool_level(e.code)) {
      r = codecs::tool_result::text(tool_error_text(tool, e), true);
    } else if (e.code == errc::tool_not_found) {
      co_return error(errc::tool_not_found, "unknown tool: " + codecs::excerpt(tool));
    } else {
      co_return e;
    }
  }
  json::object out;
  out.emplace("content", std::move(r.content));
  if (r.structured) out.emplace("structuredContent", std::move(*r.structured));
  if (r.is_error) out.emplace("isError", true);
  if (!ctx.modern && ctx.session.protocol_version) {
    era::downgrade_call_result(*ctx.session.protocol_version, out);
  }
  co_return json::value(std::move(out));
}
EXAI_ASIO_FRAME_WARNING_ON

// notifications/cancelled: unknown or finished ids are ignored silently (mcp-server-rules.md).
boost::asio::awaitable<reply> handle_cancelled(codecs::inbound& in, request_context& ctx) {
  const auto* id = in.params.if_contains("requestId");
  if (id && (id->is_string() || id->is_int64() || id->is_uint64()) && ctx.session.cancel_request) {
    ctx.session.cancel_request(codecs::client_id{*id}, codecs::dialect::jsonrpc);
  }
  co_return json::value(json::object());
}

// Op hello (exai-op-protocol.md sections 2 and 5): the gateway checks the token itself.
boost::asio::awaitable<reply> handle_op_hello(codecs::inbound& in, request_context& ctx) {
  if (!ctx.options.token.empty()) {
    const auto* token = string_param(in.params, "token");
    std::string_view given = token ? std::string_view(*token) : std::string_view();
    if (!constant_time_equal(given, ctx.options.token)) {
      co_return error(errc::unauthorized, "unauthorized");
    }
  }
  ctx.session.authenticated = true;
  ctx.session.op_hello_done = true;
  const auto* sid = string_param(in.params, "session_id");

  json::object caps;
  caps.emplace("multiplex", true);
  caps.emplace("max_inflight", ctx.options.max_inflight);
  caps.emplace("cancel", true);
  caps.emplace("progress", true);
  json::object result;
  if (sid) {
    result.emplace("session_id", *sid);
  } else {
    result.emplace("session_id", ctx.session.session_id);
  }
  result.emplace("server", server_info(ctx.options));
  result.emplace("capabilities", std::move(caps));
  co_return json::value(std::move(result));
}

// Op cancel: the request_id names the call to stop; it is answered with `cancelled` whether or
// not the call was still running (the reference daemon acknowledges the same way).
boost::asio::awaitable<reply> handle_op_cancel(codecs::inbound& in, request_context& ctx) {
  if (in.id && ctx.session.cancel_request) {
    ctx.session.cancel_request(*in.id, codecs::dialect::op);
  }
  co_return json::value(json::object());
}

handler find_route(std::string_view method, codecs::dialect d) noexcept {
  struct row {
    std::string_view method;
    handler h;
    bool jsonrpc;
    bool op;
  };
  // Few routes: a linear scan over string_views beats hashing here.
  static constexpr row table[] = {
      {"tools/call", &handle_tools_call, true, true},
      {"tools/list", &handle_tools_list, true, true},
      {"ping", &handle_ping, true, true},
      {"initialize", &handle_initialize, true, false},
      {"server/discover", &handle_server_discover, true, false},
      {"subscriptions/listen", &handle_subscriptions_listen, true, false},
      {"logging/setLevel", &handle_logging_set_level, true, false},
      {"notifications/initialized", &handle_initialized, true, false},
      {"notifications/cancelled", &handle_cancelled, true, false},
      {"hello", &handle_op_hello, false, true},
      {"cancel", &handle_op_cancel, false, true},
  };
  const bool jsonrpc = d == codecs::dialect::jsonrpc;
  for (const auto& r : table) {
    if (r.method == method) return (jsonrpc ? r.jsonrpc : r.op) ? r.h : nullptr;
  }
  return nullptr;
}

bool is_inline_method(std::string_view method, codecs::dialect d) noexcept {
  if (d == codecs::dialect::op) return method == "cancel" || method == "hello";
  return method == "initialize" || method.starts_with("notifications/");
}

}  // namespace exai::routes
