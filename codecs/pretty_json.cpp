// Indented JSON for --print-config (issue 20): Boost.JSON 1.81 only serializes compactly.
#include "codecs/pretty_json.hpp"

#include <boost/json/serialize.hpp>

namespace exai::codecs {

namespace json = boost::json;

namespace {

bool is_container(const json::value& v) { return v.is_object() || v.is_array(); }

void write(std::string& out, const json::value& v, std::size_t depth) {
  const std::string pad((depth + 1) * 2, ' ');
  const std::string close_pad(depth * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [k, x] : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      out += json::serialize(json::value(k));
      out += ": ";
      write(out, x, depth + 1);
    }
    out += "\n" + close_pad + "}";
    return;
  }
  if (v.is_array() && !v.get_array().empty()) {
    bool flat = true;
    for (const auto& x : v.get_array()) flat = flat && !is_container(x);
    if (flat) {  // ["core", "diagnostics"]: one line, as in conf/*.json
      out += "[";
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        out += json::serialize(x);
      }
      out += "]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& x : v.get_array()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      write(out, x, depth + 1);
    }
    out += "\n" + close_pad + "]";
    return;
  }
  out += json::serialize(v);  // scalars, {} and []
}

}  // namespace

std::string pretty_json(const json::value& v) {
  std::string out;
  write(out, v, 0);
  return out;
}

}  // namespace exai::codecs
