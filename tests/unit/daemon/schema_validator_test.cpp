// The validation messages a client sees for bad tool arguments: they must name the field.
#include "daemon/schema_validator.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace json = boost::json;
using exai::daemon::schema_validator;

namespace {

schema_validator compile(std::string_view schema) {
  auto v = schema_validator::compile(json::parse(schema).as_object());
  BOOST_REQUIRE(v.has_value());
  return std::move(*v);
}

std::string problem(const schema_validator& v, std::string_view args) {
  auto r = v.validate(json::parse(args));
  BOOST_REQUIRE_MESSAGE(r.has_value(), "expected a validation error for " << args);
  return *r;
}

constexpr std::string_view delay_schema = R"({"type":"object","properties":{
    "ms":{"type":"integer","minimum":0,"maximum":100},
    "progress_every_ms":{"type":"integer","minimum":1}},
    "required":["ms"],"additionalProperties":false})";

}  // namespace

BOOST_AUTO_TEST_SUITE(schema_validator_messages)

BOOST_AUTO_TEST_CASE(valid_arguments_pass) {
  auto v = compile(delay_schema);
  BOOST_TEST(!v.validate(json::parse(R"({"ms":5})")).has_value());
  BOOST_TEST(!v.validate(json::parse(R"({"ms":5,"progress_every_ms":1})")).has_value());
}

BOOST_AUTO_TEST_CASE(wrong_type_names_field_and_types) {
  auto v = compile(R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})");
  BOOST_TEST(problem(v, R"({"text":5})") == "arguments.text: expected string, got integer");
  BOOST_TEST(problem(v, R"({"text":null})") == "arguments.text: expected string, got null");
  BOOST_TEST(problem(v, R"({"text":[1]})") == "arguments.text: expected string, got array");
}

BOOST_AUTO_TEST_CASE(missing_required_property) {
  auto v = compile(delay_schema);
  BOOST_TEST(problem(v, "{}") == "arguments: missing required property 'ms'");
}

BOOST_AUTO_TEST_CASE(integer_versus_number) {
  auto v = compile(delay_schema);
  BOOST_TEST(problem(v, R"({"ms":1.5})") == "arguments.ms: expected integer, got number");
  BOOST_TEST(problem(v, R"({"ms":"10"})") == "arguments.ms: expected integer, got string");
}

BOOST_AUTO_TEST_CASE(range_and_extra_properties) {
  auto v = compile(delay_schema);
  auto over = problem(v, R"({"ms":101})");
  BOOST_TEST(over.starts_with("arguments.ms: "));
  BOOST_TEST(over.find("100") != std::string::npos);
  auto neg = problem(v, R"({"ms":-1})");
  BOOST_TEST(neg.starts_with("arguments.ms: "));
  auto extra = problem(v, R"({"ms":1,"bogus":true})");
  BOOST_TEST(extra.starts_with("arguments"));
  BOOST_TEST(extra.find("bogus") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nested_paths_name_array_items) {
  auto v = compile(R"({"type":"object","properties":{"files":{"type":"array",
      "items":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}}})");
  BOOST_TEST(problem(v, R"({"files":[{"path":"a"},{"path":3}]})") ==
             "arguments.files[1].path: expected string, got integer");
  BOOST_TEST(problem(v, R"({"files":[{}]})") ==
             "arguments.files[0]: missing required property 'path'");
}

BOOST_AUTO_TEST_CASE(type_lists_are_spelled_out) {
  auto v = compile(R"({"type":"object","properties":{"x":{"type":["string","null"]}}})");
  BOOST_TEST(problem(v, R"({"x":true})") == "arguments.x: expected string or null, got boolean");
}

BOOST_AUTO_TEST_CASE(root_prefix_is_configurable) {
  auto v = compile(delay_schema);
  auto r = v.validate(json::parse("{}"), "params");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(*r == "params: missing required property 'ms'");
}

BOOST_AUTO_TEST_CASE(bad_schema_is_rejected_at_compile) {
  auto r = schema_validator::compile(json::parse(R"({"type":"object","required":"ms"})").as_object());
  BOOST_TEST(!r.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
