// The project error category and the two wire mappings of errc (JSON-RPC codes, op error codes).
// house-style 10: one enum, mapped once per dialect; the tables live only here.
#include "codecs/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace exai::codecs {
namespace {

class codecs_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "exai"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::parse_error: return "parse error";
      case errc::message_too_large: return "message too large";
      case errc::too_deep: return "message nested too deeply";
      case errc::invalid_request: return "invalid request";
      case errc::unknown_dialect: return "neither JSON-RPC 2.0 nor op protocol";
      case errc::method_not_found: return "method not found";
      case errc::invalid_params: return "invalid params";
      case errc::tool_not_found: return "tool not found";
      case errc::not_initialized: return "not initialized";
      case errc::unauthorized: return "unauthorized";
      case errc::unsupported_version: return "unsupported protocol version";
      case errc::header_mismatch: return "header mismatch";
      case errc::missing_capability: return "missing required client capability";
      case errc::timeout: return "timed out";
      case errc::cancelled: return "cancelled";
      case errc::over_capacity: return "over capacity";
      case errc::backend_unavailable: return "no tool backend available";
      case errc::upstream_lost: return "upstream connection lost";
      case errc::upstream_error: return "upstream error";
      case errc::tool_failed: return "tool failed";
      case errc::shutting_down: return "shutting down";
      case errc::internal: return "internal error";
    }
    return "unknown exai error";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const codecs_category instance;
  return instance;
}

// mcp-server-rules.md "JSON-RPC base". Rows marked "tool error" in error.hpp are normally reported
// as a CallToolResult with isError; when one must still become a JSON-RPC error it is -32603.
int jsonrpc_code(errc e) noexcept {
  switch (e) {
    case errc::ok: return 0;
    case errc::parse_error: return -32700;
    case errc::message_too_large:
    case errc::too_deep:
    case errc::invalid_request:
    case errc::unknown_dialect:
    case errc::not_initialized:
    case errc::unauthorized: return -32600;
    case errc::method_not_found: return -32601;
    case errc::invalid_params:
    case errc::tool_not_found: return -32602;
    case errc::unsupported_version: return -32022;
    case errc::header_mismatch: return -32020;
    case errc::missing_capability: return -32021;
    case errc::timeout:
    case errc::cancelled:
    case errc::over_capacity:
    case errc::backend_unavailable:
    case errc::upstream_lost:
    case errc::upstream_error:
    case errc::tool_failed:
    case errc::shutting_down:
    case errc::internal: return -32603;
  }
  return -32603;
}

// exai-op-protocol.md section 3, "Error codes seen". upstream_error has no code of its own: the
// daemon's code travels in error::upstream_code (see op_code(const error&)).
std::string_view op_code(errc e) noexcept {
  switch (e) {
    case errc::ok: return "OK";
    case errc::parse_error:
    case errc::message_too_large:
    case errc::too_deep:
    case errc::invalid_request:
    case errc::unknown_dialect: return "INVALID_REQUEST";
    case errc::method_not_found: return "NOT_FOUND";
    case errc::invalid_params: return "VALIDATION_ERROR";
    case errc::tool_not_found: return "TOOL_NOT_FOUND";
    case errc::not_initialized:
    case errc::unsupported_version:
    case errc::header_mismatch:
    case errc::missing_capability: return "PROTOCOL_ERROR";
    case errc::unauthorized: return "UNAUTHORIZED";
    case errc::timeout: return "TIMEOUT";
    case errc::cancelled: return "CANCELLED";
    case errc::over_capacity: return "OVER_CAPACITY";
    case errc::backend_unavailable:
    case errc::upstream_lost:
    case errc::shutting_down: return "SERVICE_UNAVAILABLE";
    case errc::tool_failed: return "TOOL_EXECUTION_ERROR";
    case errc::upstream_error:
    case errc::internal: return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

std::string_view op_code(const error& e) noexcept {
  if (e.code == errc::upstream_error && e.upstream_code && !e.upstream_code->empty()) {
    return *e.upstream_code;
  }
  return op_code(e.code);
}

// A daemon's INTERNAL_ERROR or PROVIDER_ERROR is its failure, not a bug of ours, so it maps to
// upstream_error rather than errc::internal (house-style 10: upstream kept apart from our own).
errc from_op_code(std::string_view code) noexcept {
  struct row {
    std::string_view code;
    errc e;
  };
  static constexpr row table[] = {
      {"INVALID_REQUEST", errc::invalid_request},
      {"PROTOCOL_ERROR", errc::invalid_request},
      {"UNAUTHORIZED", errc::unauthorized},
      {"NOT_FOUND", errc::method_not_found},
      {"VALIDATION_ERROR", errc::invalid_params},
      {"TOOL_NOT_FOUND", errc::tool_not_found},
      {"TIMEOUT", errc::timeout},
      {"CANCELLED", errc::cancelled},
      {"OVER_CAPACITY", errc::over_capacity},
      {"SERVICE_UNAVAILABLE", errc::backend_unavailable},
      {"TOOL_EXECUTION_ERROR", errc::tool_failed},
      {"EXEC_ERROR", errc::tool_failed},
  };
  for (const auto& r : table) {
    if (r.code == code) return r.e;
  }
  return errc::upstream_error;
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(e.code), e.message), loc);
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace exai::codecs
