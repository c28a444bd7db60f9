// tools/list cursors: base64url of a versioned offset + tool-set fingerprint (routes/cursor.hpp).
#include "routes/cursor.hpp"

#include <boost/json/string.hpp>

#include <array>
#include <charconv>

namespace exai::routes {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

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
  return base64url_encode(plain);
}

std::optional<list_cursor> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() > 128) return std::nullopt;
  auto plain = base64url_decode(text);
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

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                      std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int s = sextet(c);
    if (s < 0) return std::nullopt;
    acc = (acc << 6) | std::uint32_t(s);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so each byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace exai::routes
