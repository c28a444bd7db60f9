// Opaque tools/list cursors (mcp-server-rules.md, "Tools": the cursor is opaque; a bad one is
// -32602). A cursor is base64url("v1:<offset>:<fingerprint>"), where the fingerprint is a hash of
// the tool names, so a cursor from before a tool-set change is refused rather than misapplied.
#pragma once

#include <boost/json/array.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exai::routes {

struct list_cursor {
  std::size_t offset = 0;
  std::uint64_t fingerprint = 0;
};

// FNV-1a over the tools' names (in order).
std::uint64_t tools_fingerprint(const boost::json::array& tools) noexcept;

std::string encode_cursor(const list_cursor& c);
// nullopt for anything that is not a cursor we made.
std::optional<list_cursor> decode_cursor(std::string_view text);

}  // namespace exai::routes
