// tools/list cursors: base64url of a versioned offset + tool-set fingerprint (routes/cursor.hpp).
#include "routes/cursor.hpp"

#include "codecs/base64url.hpp"

#include <boost/json/string.hpp>

#include <array>
#include <charconv>

namespace exai::routes {
namespace {

template <class N>
bool parse_number(std::string_view s, N& out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::uint64_t tools_fingerprint(const boost::json::array& tools) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  for (const auto& t : tools) {
    const auto* o = t.if_object();
    const auto* name = o ? o->if_contains("name") : nullptr;
    if (name && name->is_string()) {
      for (char c : name->get_string()) mix(static_cast<unsigned char>(c));
    }
    mix(0);  // separator: ["ab","c"] and ["a","bc"] differ
  }
  return h;
}

std::string encode_cursor(const list_cursor& c) {
  std::string plain = "v1:" + std::to_string(c.offset) + ":" + std::to_string(c.fingerprint);
  return codecs::base64url_encode(plain);
}

std::optional<list_cursor> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() > 128) return std::nullopt;
  auto plain = codecs::base64url_decode(text);
  if (!plain) return std::nullopt;
  std::string_view p = *plain;
  if (p.substr(0, 3) != "v1:") return std::nullopt;
  p.remove_prefix(3);
  auto colon = p.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  list_cursor c;
  if (!parse_number(p.substr(0, colon), c.offset)) return std::nullopt;
  if (!parse_number(p.substr(colon + 1), c.fingerprint)) return std::nullopt;
  return c;
}

}  // namespace exai::routes
