// JSON-RPC 2.0 codec (MCP's framing): decode requests, notifications and responses into the
// canonical model; encode results, errors and notifications. Ids keep their JSON type.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace exai::codecs::jsonrpc {

// One message object. Errors: invalid_request (missing/wrong jsonrpc, null/bool/float/object id,
// non-string method, params not object/array, ...). On error, `id` is set when the message had a
// usable id, so the error reply can carry it.
// Decisions (see jsonrpc.cpp): positional (array) params are rejected with invalid_params, since
// every MCP method takes named params; a response from the client (type == response) keeps its
// member as a one-member object in inbound::result_or_error: {"result": ...} or {"error": {...}};
// an error response may have id null (then inbound::id is empty), a result may not.
struct decode_failure {
  error err;
  std::optional<client_id> id;
};
boost::system::result<inbound, decode_failure> decode(const boost::json::value& v);
// The same, taking v apart: params are moved into the inbound instead of copied.
boost::system::result<inbound, decode_failure> decode(boost::json::value&& v);
// Lets result<inbound, decode_failure>::value() throw (a system_error with the failure's code).
[[noreturn]] void throw_exception_from_error(const decode_failure& f,
                                             const boost::source_location& loc);

// A batch: one entry per element, in order. An empty array, or one of more than max_elements
// elements, is an error (invalid_request; the message names the cap) and nothing is decoded.
inline constexpr std::size_t default_max_batch_elements = 256;
result<std::vector<boost::system::result<inbound, decode_failure>>> decode_batch(
    const boost::json::array& a, std::size_t max_elements = default_max_batch_elements);

boost::json::object encode_result(const client_id& id, boost::json::value result);
// The same response as JSON text, byte for byte serialize(encode_result(id, result)), without
// building the envelope object (the session's reply path, issue 7).
std::string encode_result_text(const client_id& id, const boost::json::value& result);
// id absent -> "id":null (parse errors, undecodable ids).
boost::json::object encode_error(const std::optional<client_id>& id, const error& e);
boost::json::object encode_notification(std::string_view method, boost::json::object params);

// MCP CallToolResult for a tool result.
boost::json::object to_call_tool_result(const tool_result& r);

}  // namespace exai::codecs::jsonrpc
