// The EXAI op dialect (shared/docs/exai-op-protocol.md): one struct per wire message, decoders
// that accept every variant the reference daemon and older daemons send, and encoders that write
// what our daemon and gateway send. Sans-I/O: json::value in, result<T> out.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace exai::codecs::op {

// Section 4 extensions. Absent in a hello_ack (the reference daemon) means none of them.
struct capabilities {
  bool multiplex = false;
  bool cancel = false;
  bool progress = false;
  std::optional<std::uint32_t> max_inflight;  // ack only
  std::optional<std::uint64_t> max_message_bytes;  // ack only: the largest message it reads
};

// An error object as it travels: {"code","message","details"?}.
struct wire_error {
  std::string code;
  std::string message;
  std::optional<boost::json::value> details;
};

// ---- client -> daemon --------------------------------------------------------------------
struct hello {
  std::string token;                      // "" when absent
  std::optional<std::string> session_id;
  std::optional<capabilities> caps;       // present when the client asked for extensions
};
struct list_tools { std::optional<std::string> request_id; };
struct call_tool {
  std::optional<std::string> request_id;
  std::string name;
  boost::json::object arguments;          // {} when absent or null
  bool legacy_tool_call = false;          // arrived as `tool_call` with tool:{name}
};
struct ping { std::optional<std::string> request_id; };
struct cancel { std::optional<std::string> request_id; };

using client_message = std::variant<hello, list_tools, call_tool, ping, cancel>;

// ---- daemon -> client --------------------------------------------------------------------
struct hello_ack {
  bool ok = false;
  std::optional<std::string> session_id;
  std::optional<std::string> error;            // "unauthorized", "missing_hello", ...
  std::optional<capabilities> caps;            // absent: reference daemon
  std::optional<boost::json::object> server;   // {"name","version"}
};
struct list_tools_res {
  std::optional<std::string> request_id;       // old daemons omit it
  boost::json::array tools;                    // op tool objects {name, description, inputSchema, ...}
  std::optional<boost::json::value> timestamp; // string or number
};
struct progress {
  std::optional<std::string> request_id;
  std::optional<double> progress;
  std::optional<double> total;
  std::string message;
  // Our extension: `"log":{"level","logger"?,"data"?}` makes it a tool's log line, not progress.
  std::string log_level;
  std::string logger;
  boost::json::value log_data;
};
struct stream_chunk { std::optional<std::string> request_id; std::string chunk; };
struct stream_complete { std::optional<std::string> request_id; };
struct call_tool_ack { std::optional<std::string> request_id; std::optional<double> timeout_s; };
struct call_tool_res {
  std::optional<std::string> request_id;
  std::optional<boost::json::array> outputs;   // content blocks (text, or rich with our daemon)
  std::optional<wire_error> error;             // instead of outputs
  bool is_error = false;
  std::optional<boost::json::object> structured;
  bool from_cache = false;
  bool from_inflight = false;
  std::optional<std::string> text;             // older daemons: top-level text
};
struct pong { std::optional<std::string> request_id; };
struct cancelled { std::optional<std::string> request_id; };
// `{"op":"error",...}` (bare == false) or a bare `{"error":{...}}` with no op (bare == true).
struct error_msg {
  std::optional<std::string> request_id;
  wire_error error;
  bool bare = false;
};

using server_message = std::variant<hello_ack, list_tools_res, progress, stream_chunk,
                                    stream_complete, call_tool_ack, call_tool_res, pong,
                                    cancelled, error_msg>;

// Decoders: total; any malformed input is an error (invalid_request / method_not_found for an
// unknown op). `_EXAI-WS`-style name suffixes are NOT stripped here (that is daemon policy).
result<client_message> decode_client(const boost::json::value& v);
result<server_message> decode_server(const boost::json::value& v);
// The same, taking v apart: outputs and structured move into the message instead of copying.
result<server_message> decode_server(boost::json::value&& v);

// A hello session_id the reference daemon accepts: ^[A-Za-z0-9_-]{3,64}$ (section 2); it drops the
// connection without a reply for anything else.
bool valid_session_id(std::string_view id) noexcept;

// The request_id of any op object, if it has a string one (for error replies to bad messages).
std::optional<std::string> peek_request_id(const boost::json::value& v) noexcept;

// Encoders: the JSON object to send. Optional members are written only when set.
boost::json::object encode(const hello&);
boost::json::object encode(const list_tools&);
boost::json::object encode(const call_tool&);  // always `call_tool`, arguments always an object
// The same message as JSON text, byte for byte serialize(encode(m)), without building the object
// (the pool's hot path: the arguments are written straight from the caller's object).
std::string encode_text(const call_tool&);
boost::json::object encode(const ping&);
boost::json::object encode(const cancel&);
boost::json::object encode(const hello_ack&);
boost::json::object encode(const list_tools_res&);
boost::json::object encode(const progress&);
boost::json::object encode(const stream_chunk&);
boost::json::object encode(const stream_complete&);
boost::json::object encode(const call_tool_ack&);
boost::json::object encode(const call_tool_res&);
boost::json::object encode(const pong&);
boost::json::object encode(const cancelled&);
boost::json::object encode(const error_msg&);  // bare ones too, for test peers of the reference daemon

// ---- canonical <-> op ----------------------------------------------------------------------
// An op client message as a canonical inbound (see model.hpp for the method mapping).
inbound to_inbound(const client_message& m);

// An MCP Tool object from an op tool object: inputSchema defaults to {"type":"object"};
// title/outputSchema/annotations kept when present; unknown members dropped.
boost::json::object to_mcp_tool(const boost::json::object& op_tool);
// And back (our daemon lists tools in MCP shape already; this is the identity on known members).
boost::json::object to_op_tool(const boost::json::object& mcp_tool);

// A daemon's call_tool_res as a tool result: outputs -> content (text blocks lose `metadata`),
// a top-level `text` becomes one text block, `error` -> is_error with text "CODE: message",
// `is_error`/`structured` carried over.
tool_result to_tool_result(const call_tool_res& r);
tool_result to_tool_result(call_tool_res&& r);  // moves the outputs' blocks and texts
// A daemon's error message (op:"error" or bare) as a tool result for the call it belongs to.
tool_result to_tool_result(const wire_error& e);
// A tool result as a call_tool_res for request_id (outputs = content; is_error / structured set
// only when true / present, so reference-era clients see the shape they know).
call_tool_res to_call_tool_res(const tool_result& r, std::optional<std::string> request_id);
// A running tool's report as an op progress message for request_id (the `chunk` of a streaming
// tool has no place in it: it travels as stream_chunk), and an op progress message as a report.
progress to_progress(const progress_update& u, std::optional<std::string> request_id);
progress_update to_progress_update(const progress& p);

}  // namespace exai::codecs::op
