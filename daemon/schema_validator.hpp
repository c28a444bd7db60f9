// Tool argument validation against a tool's inputSchema (JSON Schema draft 7 via Debian's valijson).
// The schema is compiled once; validation names the offending field (issue 3, "Tool host").
#pragma once

#include "codecs/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

namespace exai::daemon {

class schema_validator {
 public:
  // errc::invalid_params with the parser's reason when `schema` is not a usable JSON Schema.
  static codecs::result<schema_validator> compile(const boost::json::object& schema);

  schema_validator(schema_validator&&) noexcept;
  schema_validator& operator=(schema_validator&&) noexcept;
  ~schema_validator();

  // nullopt when `args` conforms; otherwise one message naming the most specific failing field,
  // prefixed with `root` ("arguments.text: expected string, got number",
  // "arguments: missing required property 'ms'").
  // `args` is a value (normally an object) because valijson's adapter wraps values only.
  std::optional<std::string> validate(const boost::json::value& args,
                                      const std::string& root = "arguments") const;

 private:
  struct impl;
  explicit schema_validator(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace exai::daemon
