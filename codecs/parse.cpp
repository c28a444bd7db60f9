// Bounded JSON parsing for every dialect (house-style 1): byte limit checked before any work,
// nesting limit enforced by the parser, strict UTF-8 (Boost.JSON's default), one value only,
// and only finite numbers, so that whatever parses can be written back as JSON.
#include "codecs/parse.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace exai::codecs {
namespace {

namespace json = boost::json;

// Boost.JSON 1.81 parses an out-of-range number such as 1e400 as infinity and serialises it as
// `Infinity`, which is not JSON. Iterative so that no value can exhaust the stack.
template <class Value, class Fn>
void for_each_double(Value& root, Fn&& fn) {
  std::vector<Value*> stack{&root};
  while (!stack.empty()) {
    Value* v = stack.back();
    stack.pop_back();
    if (auto* o = v->if_object()) {
      for (auto& kv : *o) stack.push_back(&kv.value());
    } else if (auto* a = v->if_array()) {
      for (auto& e : *a) stack.push_back(&e);
    } else if (v->is_double()) {
      if (!fn(*v)) return;
    }
  }
}

bool has_non_finite(const json::value& v) {
  bool found = false;
  for_each_double(v, [&](const json::value& d) {
    found = !std::isfinite(d.get_double());
    return !found;
  });
  return found;
}

// Whether the text can hold a number that parses as infinity: one with an exponent (a digit or
// '.' then 'e'/'E') or a run of more than 300 digits (10^309 overflows a double). Cheap, so that
// almost every message skips the tree walk (issue 7 profile): memchr finds each 'e'/'E', and a run
// of 301 digits must cover a multiple of 300, so only those positions are probed. A false
// positive (such a pattern inside a string) only costs the walk.
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool has_exponent_after(std::string_view text, char e) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const auto* hit = static_cast<const char*>(std::memchr(p, e, static_cast<std::size_t>(end - p)));
    if (!hit) return false;
    if (hit > text.data() && (is_digit(hit[-1]) || hit[-1] == '.')) return true;
    p = hit + 1;
  }
  return false;
}

bool may_hold_non_finite(std::string_view text) noexcept {
  constexpr std::size_t max_digits = 300;
  if (has_exponent_after(text, 'e') || has_exponent_after(text, 'E')) return true;
  for (std::size_t k = max_digits; k < text.size(); k += max_digits) {
    if (!is_digit(text[k])) continue;
    std::size_t first = k, last = k;
    while (first > 0 && is_digit(text[first - 1])) --first;
    while (last + 1 < text.size() && is_digit(text[last + 1])) ++last;
    if (last - first + 1 > max_digits) return true;
  }
  return false;
}

}  // namespace

result<json::value> parse_json(std::string_view text, const parse_limits& limits) {
  if (text.size() > limits.max_bytes) {
    return error(errc::message_too_large, "message of " + std::to_string(text.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(limits.max_bytes));
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  // The parser's value stack starts in this buffer: a message of ordinary size is parsed
  // without allocating the stack itself (issue 7 profile; only the values are allocated).
  unsigned char stack_buffer[2048];
  json::parser p(json::storage_ptr(), opts, stack_buffer, sizeof stack_buffer);
  boost::system::error_code ec;
  // parser::write takes the whole text: it reports incomplete input and trailing non-whitespace.
  p.write(text.data(), text.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return error(errc::too_deep,
                   "JSON nesting exceeds the limit of " + std::to_string(limits.max_depth));
    }
    return error(errc::parse_error, "invalid JSON: " + ec.message());
  }
  json::value v = p.release();
  if (may_hold_non_finite(text) && has_non_finite(v)) {
    return error(errc::parse_error, "invalid JSON: number out of range");
  }
  return v;
}

// A value built in code may still hold a NaN or an infinity: those are written as null, so the
// line is always JSON.
std::string to_line(const json::value& v) {
  if (!has_non_finite(v)) return json::serialize(v);
  json::value copy = v;
  for_each_double(copy, [](json::value& d) {
    if (!std::isfinite(d.get_double())) d = nullptr;
    return true;
  });
  return json::serialize(copy);
}

namespace {
// The serializer writes straight into `out`'s tail, which grows geometrically: a large result
// (an 8 MiB text) is written once, not staged through a small buffer and appended piece by piece.
template <class T>
void append_serialized(std::string& out, const T& v) {
  json::serializer sr;
  sr.reset(v);
  constexpr std::size_t min_room = 1024;
  while (!sr.done()) {
    const std::size_t used = out.size();
    out.resize(std::max(out.capacity(), used + min_room));
    out.resize(used + sr.read(out.data() + used, out.size() - used).size());
  }
}
}  // namespace

void append_json(std::string& out, const json::value& v) { append_serialized(out, &v); }
void append_json(std::string& out, const json::object& o) { append_serialized(out, &o); }
void append_json(std::string& out, std::string_view s) { append_serialized(out, s); }

boost::json::value json_number(double d) noexcept {
  if (!std::isfinite(d)) return nullptr;
  constexpr double exact = 9007199254740992.0;  // 2^53: larger integral doubles lose precision
  if (std::trunc(d) == d && std::fabs(d) <= exact) return static_cast<std::int64_t>(d);
  return d;
}

}  // namespace exai::codecs
