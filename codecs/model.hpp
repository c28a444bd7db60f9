// The canonical message model: what routes and backends see, whatever dialect a client speaks.
// Dialects exist only at the edges (house-style 3): jsonrpc.hpp and op.hpp translate to and from this.
#pragma once

#include "codecs/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace exai::codecs {

enum class dialect : std::uint8_t { jsonrpc, op };

// A client's request id, kept verbatim: JSON-RPC ids stay string or integer (1 and "1" differ);
// op request_ids are strings.
struct client_id {
  boost::json::value value;

  // A type-tagged key for tables: "i:1", "s:1" ... never equal across types.
  std::string key() const;
  friend bool operator==(const client_id& a, const client_id& b) { return a.key() == b.key(); }
};

enum class message_type : std::uint8_t { request, notification, response };

// One decoded client message in canonical (MCP) terms.
// Canonical methods: MCP names ("initialize", "ping", "tools/list", "tools/call",
// "notifications/initialized", "notifications/cancelled", ...). Op ops map to them:
//   hello -> "hello" {token, session_id, capabilities}
//   list_tools -> "tools/list" {}
//   call_tool / tool_call -> "tools/call" {name, arguments}
//   ping -> "ping" {}
//   cancel -> "cancel" {requestId}   (a request in the op dialect: it is answered with `cancelled`)
struct inbound {
  dialect from = dialect::jsonrpc;
  message_type type = message_type::request;
  std::string method;
  std::optional<client_id> id;   // absent for notifications
  boost::json::object params;    // canonical params; `_meta` kept untouched
  std::string op;                // the op name as received (op dialect only), for reply shaping
  // JSON-RPC responses from the client (type == response): the result or error member.
  std::optional<boost::json::value> result_or_error;
};

// What a tool call produced, in MCP terms (CallToolResult).
struct tool_result {
  boost::json::array content;                    // MCP content blocks
  std::optional<boost::json::object> structured; // structuredContent
  bool is_error = false;

  static tool_result text(std::string t, bool is_error = false);
};

// A progress report from a running tool (op `progress` / MCP notifications/progress).
struct progress_update {
  std::optional<double> progress;  // absent for the reference daemon's text-only progress
  std::optional<double> total;
  std::string message;
  // A streaming tool's new text since its last report (op `stream_chunk` for clients without the
  // progress extension); empty for other reports.
  std::string chunk;
  // Set: this is a log line of the tool (MCP notifications/message at this level, one of the
  // eight syslog names), not progress. `log_data` is its data (null: `message` is).
  std::string log_level;
  std::string logger;
  boost::json::value log_data;
};

}  // namespace exai::codecs
