// pretty_json: the exact layout --print-config shows, and text that parses back to the value.
#include "codecs/pretty_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using exai::codecs::pretty_json;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(pretty)

BOOST_AUTO_TEST_CASE(layout_of_conf_files) {
  auto v = json::parse(R"({"listen":"127.0.0.1:3005","log":{"level":"info","rotate_bytes":10485760},)"
                       R"("tools":["core","diagnostics"],"origins":[],"none":{},"nested":[{"a":1},[2]],"x":null})");
  BOOST_TEST(pretty_json(v) ==
             "{\n"
             "  \"listen\": \"127.0.0.1:3005\",\n"
             "  \"log\": {\n"
             "    \"level\": \"info\",\n"
             "    \"rotate_bytes\": 10485760\n"
             "  },\n"
             "  \"tools\": [\"core\", \"diagnostics\"],\n"
             "  \"origins\": [],\n"
             "  \"none\": {},\n"
             "  \"nested\": [\n"
             "    {\n"
             "      \"a\": 1\n"
             "    },\n"
             "    [2]\n"
             "  ],\n"
             "  \"x\": null\n"
             "}");
}

BOOST_AUTO_TEST_CASE(round_trips_escapes_and_scalars) {
  auto v = json::parse(R"({"q\"uote\n":"tab\there","n":-3,"b":false,"u":18446744073709551615})");
  BOOST_TEST(json::parse(pretty_json(v)) == v);
  BOOST_TEST(pretty_json(json::value("s")) == "\"s\"");
  BOOST_TEST(pretty_json(json::value(7)) == "7");
}

BOOST_AUTO_TEST_SUITE_END()
