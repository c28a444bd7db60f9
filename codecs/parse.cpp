// Bounded JSON parsing for every dialect (house-style 1): byte limit checked before any work,
// nesting limit enforced by the parser, strict UTF-8 (Boost.JSON's default), one value only.
#include "codecs/parse.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

namespace exai::codecs {

result<boost::json::value> parse_json(std::string_view text, const parse_limits& limits) {
  if (text.size() > limits.max_bytes) {
    return error(errc::message_too_large, "message of " + std::to_string(text.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(limits.max_bytes));
  }
  boost::json::parse_options opts;
  opts.max_depth = limits.max_depth;
  boost::json::parser p(boost::json::storage_ptr(), opts);
  boost::system::error_code ec;
  // parser::write takes the whole text: it reports incomplete input and trailing non-whitespace.
  p.write(text.data(), text.size(), ec);
  if (ec) {
    if (ec == boost::json::error::too_deep) {
      return error(errc::too_deep,
                   "JSON nesting exceeds the limit of " + std::to_string(limits.max_depth));
    }
    return error(errc::parse_error, "invalid JSON: " + ec.message());
  }
  return p.release();
}

std::string to_line(const boost::json::value& v) { return boost::json::serialize(v); }

}  // namespace exai::codecs
