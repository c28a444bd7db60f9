// The project's one error enum and its two wire mappings (JSON-RPC codes, op error codes).
// house-style 10: one enum, mapped once per dialect; upstream text kept apart from ours.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace exai::codecs {

enum class errc {
  ok = 0,
  // Framing and decoding (all dialects).
  parse_error,          // not JSON / bad UTF-8                       -> -32700 / INVALID_REQUEST
  message_too_large,    // over the byte limit                        -> -32600 / INVALID_REQUEST
  too_deep,             // over the nesting limit                     -> -32600 / INVALID_REQUEST
  invalid_request,      // JSON, but not a valid message              -> -32600 / INVALID_REQUEST
  unknown_dialect,      // neither JSON-RPC nor op, or both           -> -32600 / INVALID_REQUEST
  method_not_found,     // unknown method / op                        -> -32601 / NOT_FOUND
  invalid_params,       // bad params, bad cursor                     -> -32602 / VALIDATION_ERROR
  tool_not_found,       // unknown tool                               -> -32602 / TOOL_NOT_FOUND
  // Lifecycle and auth.
  not_initialized,      // request before initialize / hello          -> -32600 / PROTOCOL_ERROR
  unauthorized,         // bad or missing token                       -> -32600 / UNAUTHORIZED
  unsupported_version,  // modern-era version not supported           -> -32022 / PROTOCOL_ERROR
  header_mismatch,      // HTTP Mcp-* headers disagree with the body   -> -32020 / PROTOCOL_ERROR
  missing_capability,   // a needed client capability was not declared -> -32021 / PROTOCOL_ERROR
  // Execution.
  timeout,              // our deadline fired                         -> tool error / TIMEOUT
  cancelled,            // client or shutdown cancelled the call      -> (no reply) / cancelled
  over_capacity,        // queue or in-flight limit                   -> tool error / OVER_CAPACITY
  backend_unavailable,  // no ready upstream                          -> -32603 / SERVICE_UNAVAILABLE
  upstream_lost,        // daemon connection dropped mid-call         -> tool error / SERVICE_UNAVAILABLE
  upstream_error,       // the daemon answered with an error          -> tool error / (its code)
  tool_failed,          // a tool ran and failed                      -> tool error / TOOL_EXECUTION_ERROR
  shutting_down,        // process is stopping                        -> -32603 / SERVICE_UNAVAILABLE
  internal,             // a bug or an unexpected exception           -> -32603 / INTERNAL_ERROR
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

// A failure with our own message and, separately, what an upstream said (never mixed).
struct error {
  errc code = errc::internal;
  std::string message;                       // ours, safe to show a client
  std::optional<std::string> upstream_code;  // e.g. "TOOL_NOT_FOUND" from a daemon
  std::optional<boost::json::value> data;    // JSON-RPC error.data when useful

  error() = default;
  error(errc c, std::string msg) : code(c), message(std::move(msg)) {}
};

template <class T>
using result = boost::system::result<T, error>;

// JSON-RPC 2.0 error code for e (see the table above).
int jsonrpc_code(errc e) noexcept;
// Op protocol error code string for e ("INVALID_REQUEST", "TOOL_NOT_FOUND", ...).
std::string_view op_code(errc e) noexcept;
// The op code to send for e: the daemon's own code (upstream_code) for errc::upstream_error when
// it has one, else op_code(e.code). The view refers into e or static storage.
std::string_view op_code(const error& e) noexcept;
// Best-effort inverse for upstream op codes ("TIMEOUT" -> errc::timeout, unknown -> upstream_error).
errc from_op_code(std::string_view code) noexcept;

// A client-supplied name (method, tool, op) as an error message may quote it: whole when short,
// else its first max_bytes (cut at a UTF-8 character boundary) and how long it was, so one
// 1 MiB name does not come back in full.
std::string excerpt(std::string_view text, std::size_t max_bytes = 128);

// Lets result<T, error>::value() throw.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

}  // namespace exai::codecs

namespace boost::system {
template <>
struct is_error_code_enum<exai::codecs::errc> : std::true_type {};
}  // namespace boost::system
