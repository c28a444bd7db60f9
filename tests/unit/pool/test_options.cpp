// Pool configuration: defaults, every key, URL parsing, and errors that name the key (issue 5).
#include "gateway/pool/pool_options.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace exai::gateway::pool;
using std::chrono::milliseconds;

namespace {
boost::json::object obj(const char* text) { return boost::json::parse(text).as_object(); }
}  // namespace

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_with_one_url) {
  auto o = parse_pool_options({}, {"ws://127.0.0.1:3010"}, "secret");
  BOOST_TEST_REQUIRE(o.has_value());
  BOOST_TEST(o->endpoints.size() == 1u);
  BOOST_TEST(o->endpoints[0].host == "127.0.0.1");
  BOOST_TEST(o->endpoints[0].port == 3010);
  BOOST_TEST(o->endpoints[0].path == "/");
  BOOST_TEST(o->token == "secret");
  BOOST_TEST(o->connections_per_endpoint == 4u);
  BOOST_TEST(o->queue_limit == 10000u);
  BOOST_TEST(o->max_serial_connections == 10u);
  BOOST_TEST(o->read_limit >= 64u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(every_key) {
  auto o = parse_pool_options(obj(R"({"connections_per_endpoint":2,"connect_timeout_ms":100,
      "hello_timeout_ms":200,"backoff_initial_ms":10,"backoff_max_ms":1000,"abandon_timeout_ms":5000,
      "queue_limit":7,
      "max_serial_connections":3,"idle_timeout_ms":20000,"read_limit_bytes":134217728,
      "max_inflight_default":32})"),
                              {"ws://a:1", "ws://[::1]:2/x"}, "");
  BOOST_TEST_REQUIRE(o.has_value(), o.error().message);
  BOOST_TEST(o->connections_per_endpoint == 2u);
  BOOST_TEST(o->connect_timeout.count() == 100);
  BOOST_TEST(o->hello_timeout.count() == 200);
  BOOST_TEST(o->backoff_initial.count() == 10);
  BOOST_TEST(o->backoff_max.count() == 1000);
  BOOST_TEST(o->abandon_timeout.count() == 5000);
  BOOST_TEST(o->queue_limit == 7u);
  BOOST_TEST(o->max_serial_connections == 3u);
  BOOST_TEST(o->idle_timeout.count() == 20000);
  BOOST_TEST(o->read_limit == 134217728u);
  BOOST_TEST(o->max_inflight_default == 32u);
  BOOST_TEST(o->endpoints.size() == 2u);
  BOOST_TEST(o->endpoints[1].host == "::1");
  BOOST_TEST(o->endpoints[1].port == 2);
  BOOST_TEST(o->endpoints[1].path == "/x");
}

BOOST_AUTO_TEST_CASE(urls_from_the_section_only_when_none_given) {
  auto o = parse_pool_options(obj(R"({"urls":["ws://h1:1","ws://h2:2"]})"), {}, "");
  BOOST_TEST_REQUIRE(o.has_value());
  BOOST_TEST(o->endpoints.size() == 2u);
  o = parse_pool_options(obj(R"({"url":"ws://h1:1"})"), {"ws://cli:9"}, "");
  BOOST_TEST_REQUIRE(o.has_value());
  BOOST_TEST(o->endpoints.size() == 1u);
  BOOST_TEST(o->endpoints[0].host == "cli");
}

BOOST_AUTO_TEST_CASE(errors_name_the_key) {
  struct bad {
    const char* json;
    const char* key;
  };
  for (auto [json, key] : {bad{R"({"bogus":1})", "upstream.bogus"},
                           bad{R"({"queue_limit":"10"})", "upstream.queue_limit"},
                           bad{R"({"queue_limit":-1})", "upstream.queue_limit"},
                           bad{R"({"max_serial_connections":11})", "upstream.max_serial_connections"},
                           bad{R"({"connections_per_endpoint":0})", "upstream.connections_per_endpoint"},
                           bad{R"({"call_timeout_ms":1000})", "tools.call_timeout_ms"},
                           bad{R"({"read_limit_bytes":1024})", "upstream.read_limit_bytes"},
                           bad{R"({"tool_timeouts_ms":{"chat":1000}})", "tools.timeouts_ms"},
                           bad{R"({"backoff_initial_ms":500,"backoff_max_ms":100})", "upstream.backoff_max_ms"}}) {
    auto o = parse_pool_options(obj(json), {"ws://a:1"}, "");
    BOOST_TEST_REQUIRE(o.has_error(), json);
    BOOST_TEST(o.error().message.find(key) != std::string::npos, o.error().message << " lacks " << key);
  }
}

BOOST_AUTO_TEST_CASE(bad_urls) {
  for (const char* u : {"http://a:1", "ws://a", "ws://:1", "ws://a:0", "ws://a:65536", "ws://a:1x", "ws://[::1:1"}) {
    auto o = parse_pool_options({}, {u}, "");
    BOOST_TEST_REQUIRE(o.has_error(), u);
    BOOST_TEST(o.error().message.find(u) != std::string::npos);
  }
  BOOST_TEST(parse_pool_options({}, {}, "").has_error());  // no upstream at all
}

BOOST_AUTO_TEST_SUITE_END()
