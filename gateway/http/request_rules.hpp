// The HTTP rules of the MCP endpoints (mcp-server-rules.md, "Streamable HTTP"; MCP 2024-11-05
// "HTTP with SSE"), as pure decisions on a request's head and body: which exchange a request is,
// or the status, headers and body it is refused with. Sans-I/O: no Beast, no Asio, no clock.
// The order of the checks is the order of the functions below, and the listener calls them in
// that order: route -> Origin -> token -> Accept -> Content-Type -> size -> session -> version
// -> body -> era headers.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway::http {

// The parts of a request head the rules read (header values as sent; absent = empty).
struct request_head {
  std::string_view method;  // "POST", "GET", ...
  std::string_view target;  // "/mcp", "/messages?sessionId=..."
  std::string_view accept;
  std::string_view content_type;
  std::string_view origin;
  std::string_view authorization;
  std::string_view session_id;        // Mcp-Session-Id
  std::string_view protocol_version;  // MCP-Protocol-Version
  std::string_view mcp_method;        // Mcp-Method (2026-07-28)
  std::string_view mcp_name;          // Mcp-Name (2026-07-28)
  bool has_protocol_version = false;  // whether the headers above were sent at all
  bool has_mcp_method = false;
  bool has_mcp_name = false;
  std::optional<std::uint64_t> content_length;
};

// Which MCP exchange a request is, once its route and method are known.
enum class exchange {
  post,           // POST /mcp: one JSON-RPC message (or a 2025-03-26 batch)
  get_stream,     // GET /mcp: the session's server-to-client SSE stream
  end_session,    // DELETE /mcp
  legacy_open,    // GET /sse: a 2024-11-05 session's stream, starting with `endpoint`
  legacy_post,    // POST /messages?sessionId=...: a message on that session
};

// A refusal: the whole response but for the framing the listener adds.
struct rejection {
  unsigned status = 400;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;           // 405: the methods the path takes
  bool bearer_challenge = false;  // 401: WWW-Authenticate: Bearer
};

struct routed {
  exchange kind = exchange::post;
  std::string legacy_session;  // legacy_post: the sessionId query parameter, decoded
};

// Route and method: unknown path -> 404, other method -> 405 with Allow.
struct route_result {
  std::optional<routed> ok;
  std::optional<rejection> error;
};
route_result route_request(const request_head& h);

// Origin, as for the WebSocket upgrade (gateway/ws_listener.hpp origin_allowed) -> 403.
std::optional<rejection> check_origin(const request_head& h,
                                      const std::vector<std::string>& allowed_origins);

// EXAI_GATEWAY_TOKEN as `Authorization: Bearer <token>`, compared in constant time -> 401 with
// WWW-Authenticate: Bearer. `token` empty: no authentication.
std::optional<rejection> check_token(const request_head& h, std::string_view token);

// Accept: a POST must accept both application/json and text/event-stream (either reply may come);
// the GET streams must accept text/event-stream. `*/*` and `type/*` count. -> 406.
std::optional<rejection> check_accept(const request_head& h, exchange kind);

// Content-Type of a POST: application/json (parameters allowed) -> 415.
std::optional<rejection> check_content_type(const request_head& h, exchange kind);

// A declared Content-Length over the limit -> 413 (the body reader enforces it for chunked
// bodies and answers with body_too_large()).
std::optional<rejection> check_size(const request_head& h, std::uint64_t max_body_bytes);
rejection body_too_large(std::uint64_t max_body_bytes);

// The session header on /mcp: required on every request but initialize.
rejection session_missing();        // 400
rejection session_unknown();        // 404: unknown, expired, ended or tampered with
// The legacy POST's sessionId is not one this process holds -> 404.
rejection legacy_session_unknown();

// MCP-Protocol-Version after initialize: absent is accepted (the spec lets a server assume the
// negotiated version); a value that is not the one the session negotiated -> 400.
std::optional<rejection> check_protocol_version(const request_head& h,
                                                std::string_view negotiated);

// The body as JSON: a parse failure -> 400 with a JSON-RPC -32700 error (id null).
struct body_result {
  std::optional<boost::json::value> ok;
  std::optional<rejection> error;
};
body_result parse_body(std::string_view body, std::size_t max_depth = 64);

// Whether a POSTed message is an initialize request (the one request without a session).
bool is_initialize(const boost::json::value& message) noexcept;
// Whether a POSTed message is (or, for a batch, holds) a JSON-RPC request, which gets a response;
// notifications and responses alone get 202.
bool has_request(const boost::json::value& message) noexcept;

// Whether a POSTed message is one 2026-07-28 request (routes/era.hpp): it is served statelessly,
// without Mcp-Session-Id, on a session that lives for this one exchange.
bool is_modern_request(const boost::json::value& message) noexcept;

// The one place where header rules that depend on the message and its era are checked. For a
// 2026-07-28 request: its `_meta` (-32602, -32022) and then MCP-Protocol-Version, Mcp-Method
// and Mcp-Name against the body (-32020), each refused with the status of
// routes::era::http_status_for and a JSON-RPC error carrying the request's id. Legacy messages
// pass.
std::optional<rejection> check_era_headers(const request_head& h,
                                           const boost::json::value& message);

// The HTTP status of a 2026-07-28 reply (one JSON-RPC response as text): 404 for -32601, 400 for
// the refusals of routes::era::http_status_for_code, else 200.
unsigned modern_reply_status(std::string_view reply_text);

// A JSON-RPC error body (id null) for a rejection: clients that parse every body get JSON.
std::string jsonrpc_error_body(int code, std::string_view message);

}  // namespace exai::gateway::http
