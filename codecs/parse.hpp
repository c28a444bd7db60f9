// Bounded JSON parsing shared by every dialect: size and depth limits, strict UTF-8.
#pragma once

#include "codecs/error.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace exai::codecs {

struct parse_limits {
  std::size_t max_bytes = 32u * 1024 * 1024;  // 32 MiB, the reference daemon's default
  std::size_t max_depth = 64;
};

// errc::message_too_large, errc::too_deep, or errc::parse_error (also for invalid UTF-8).
result<boost::json::value> parse_json(std::string_view text, const parse_limits& limits = {});

// Compact serialisation (no newlines: safe as one stdio line).
std::string to_line(const boost::json::value& v);

// Appends the compact serialisation of a value, an object or a string (quoted and escaped) to
// `out`: for encoders that write a message's envelope by hand around its JSON parts.
void append_json(std::string& out, const boost::json::value& v);
void append_json(std::string& out, const boost::json::object& o);
void append_json(std::string& out, std::string_view s);

// A number as we write it: integral values as integers (3, not 3E0, which strictly typed clients
// such as serde's u64 reject); non-finite values as null (they are not JSON).
boost::json::value json_number(double d) noexcept;

}  // namespace exai::codecs
