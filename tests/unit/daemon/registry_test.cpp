// The registry part of the tool host that needs no io_context: profiles, listing, replacing,
// name normalisation.
#include "daemon/tool_host.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>

namespace json = boost::json;
using namespace exai::daemon;

namespace {

std::vector<std::string> names(const json::array& tools) {
  std::vector<std::string> out;
  for (const auto& t : tools) out.emplace_back(t.as_object().at("name").as_string());
  return out;
}

boost::asio::awaitable<exai::codecs::tool_result> nothing(json::object, tool_context) {
  co_return exai::codecs::tool_result::text("");
}

tool_spec spec(std::string name, std::string description, std::string_view schema = R"({"type":"object"})") {
  tool_spec s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.input_schema = json::parse(schema).as_object();
  s.handler = nothing;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry)

BOOST_AUTO_TEST_CASE(core_only_by_default) {
  tool_host host({});
  BOOST_TEST(names(host.list()) == (std::vector<std::string>{"status", "version", "listmodels"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(core_is_on_even_when_not_named) {
  tool_host::options o;
  o.profiles = {"diagnostics"};
  tool_host host(o);
  BOOST_TEST(names(host.list()) ==
                 (std::vector<std::string>{"status", "version", "listmodels", "echo", "delay", "fail", "blob"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unknown_profile_is_rejected) {
  tool_host::options o;
  o.profiles = {"core", "nonsense"};
  BOOST_CHECK_THROW(tool_host{o}, std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(listed_objects_are_mcp_tools) {
  tool_host::options o;
  o.profiles = {"core", "diagnostics"};
  tool_host host(o);
  for (const auto& t : host.list()) {
    const auto& obj = t.as_object();
    BOOST_TEST(obj.at("name").is_string());
    BOOST_TEST(obj.at("description").is_string());
    BOOST_TEST(obj.at("inputSchema").as_object().at("type") == "object");
  }
  auto tools = host.list();
  auto echo = std::find_if(tools.begin(), tools.end(),
                           [](const json::value& v) { return v.as_object().at("name") == "echo"; });
  BOOST_REQUIRE(echo != tools.end());
  BOOST_TEST(echo->as_object().at("inputSchema").as_object().at("required").as_array().at(0) == "text");
  BOOST_TEST(echo->as_object().at("title") == "Echo");
  auto status = host.list().at(0).as_object();
  BOOST_TEST(status.contains("outputSchema"));
  BOOST_TEST(status.at("annotations").as_object().at("readOnlyHint") == true);
}

BOOST_AUTO_TEST_CASE(add_appends_and_replaces_in_place) {
  tool_host host({});
  host.add(spec("alpha", "first"));
  host.add(spec("beta", "second"));
  host.add(spec("alpha", "replaced"));
  auto tools = host.list();
  BOOST_TEST(names(tools) == (std::vector<std::string>{"status", "version", "listmodels", "alpha", "beta"}),
             boost::test_tools::per_element());
  BOOST_TEST(tools.at(3).as_object().at("description") == "replaced");
  BOOST_TEST(!tools.at(3).as_object().contains("title"));  // empty title is not listed
}

BOOST_AUTO_TEST_CASE(add_rejects_bad_specs) {
  tool_host host({});
  BOOST_CHECK_THROW(host.add(spec("", "no name")), std::invalid_argument);
  auto no_handler = spec("x", "y");
  no_handler.handler = nullptr;
  BOOST_CHECK_THROW(host.add(std::move(no_handler)), std::invalid_argument);
  BOOST_CHECK_THROW(host.add(spec("x", "bad schema", R"({"type":"object","required":"oops"})")),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(stats_start_at_zero_and_count_sessions) {
  tool_host host({});
  auto s = host.stats();
  BOOST_TEST(s.in_flight == 0u);
  BOOST_TEST(s.completed == 0u);
  host.session_opened();
  host.session_opened();
  host.session_closed();
  BOOST_TEST(host.stats().sessions == 1u);
  host.session_closed();
  host.session_closed();  // never underflows
  BOOST_TEST(host.stats().sessions == 0u);
}

BOOST_AUTO_TEST_CASE(reference_suffixes_are_stripped) {
  BOOST_TEST(normalize_tool_name("chat_EXAI-WS") == "chat");
  BOOST_TEST(normalize_tool_name("chat-EXAI-WS") == "chat");
  BOOST_TEST(normalize_tool_name("chat_EXAI_WS") == "chat");
  BOOST_TEST(normalize_tool_name("chat-EXAI_WS") == "chat");
  BOOST_TEST(normalize_tool_name("kimi_chat_with_tools_EXAI-WS") == "kimi_chat_with_tools");
  BOOST_TEST(normalize_tool_name("chat") == "chat");
  BOOST_TEST(normalize_tool_name("chat_exai-ws") == "chat_exai-ws");       // case-sensitive
  BOOST_TEST(normalize_tool_name("chat_EXAI-WS_EXAI-WS") == "chat_EXAI-WS");  // once
  BOOST_TEST(normalize_tool_name("_EXAI-WS") == "_EXAI-WS");              // never to empty
}

BOOST_AUTO_TEST_SUITE_END()
