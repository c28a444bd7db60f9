// Replies in the client's own dialect (house-style 3: dialects only at the edges). Routes answer
// in canonical terms (an MCP result object); these turn that into a JSON-RPC response or the op
// message the reference daemon would send, always with the client's own id.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace exai::gateway {

// A JSON-RPC response: result, or error (id null when the id is unknown).
boost::json::object jsonrpc_reply(const codecs::client_id& id,
                                  codecs::result<boost::json::value> r);
boost::json::object jsonrpc_error(const std::optional<codecs::client_id>& id,
                                  const codecs::error& e);

// The op reply to a canonical request decoded from an op message (in.from == op):
// hello -> hello_ack, tools/list -> list_tools_res, tools/call -> call_tool_res, ping -> pong,
// cancel -> cancelled. Errors always carry op and request_id (exai-op-protocol.md section 5):
// a failed hello is hello_ack ok:false, a failed call is call_tool_res with `error`, anything
// else {"op":"error","request_id":..,"error":{..}}.
boost::json::object op_reply(const codecs::inbound& in, codecs::result<boost::json::value> r);
// {"op":"error","request_id":<id or null>,"error":{"code","message"}}.
boost::json::object op_error(const boost::json::value& request_id, const codecs::error& e);
// hello_ack ok:false with the reference daemon's reason ("unauthorized", "missing_hello").
boost::json::object op_hello_refused(std::string_view reason);

// MCP notifications/progress (token echoed verbatim) and the op `progress` message.
boost::json::object mcp_progress(const boost::json::value& token, double progress,
                                 std::optional<double> total, std::string_view message);
boost::json::object op_progress(const codecs::client_id* id, const codecs::progress_update& u);

boost::json::object tools_list_changed();

}  // namespace exai::gateway
