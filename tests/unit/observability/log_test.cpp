// Log facade: exact text and JSON formatting at a fixed time, escaping, redaction, level parsing
// and filtering, and test captures (issue 6; house-style 14).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "observability/log.hpp"

namespace obs = exai::obs;
namespace json = boost::json;

namespace {

// 2026-11-21T06:10:15.123Z
constexpr std::int64_t fixed_ms = 1795241415123;

// The stderr sink stays on during these tests; silence it where a test writes many records.
struct stderr_silencer {
  int saved = -1;
  stderr_silencer() {
    saved = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::close(null);
  }
  ~stderr_silencer() {
    ::dup2(saved, 2);
    ::close(saved);
  }
};

// Restores the level whatever a test sets.
struct level_guard {
  ~level_guard() { obs::set_level(obs::level::info); }
};

json::object parse_object(const std::string& line) {
  json::value v = json::parse(line);
  BOOST_REQUIRE(v.is_object());
  return v.as_object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_format)

BOOST_AUTO_TEST_CASE(text_format_exact) {
  std::string line = obs::format_record(false, fixed_ms, obs::level::info, "session", "message",
                                        {{"key", "value"}, {"key2", "quoted value"}});
  BOOST_TEST(line == R"(2026-11-21T06:10:15.123Z INFO  session: message key=value key2="quoted value")");
}

BOOST_AUTO_TEST_CASE(text_level_column_is_aligned) {
  BOOST_TEST(obs::format_record(false, fixed_ms, obs::level::error, "pool", "m") ==
             "2026-11-21T06:10:15.123Z ERROR pool: m");
  BOOST_TEST(obs::format_record(false, fixed_ms, obs::level::warn, "pool", "m") ==
             "2026-11-21T06:10:15.123Z WARN  pool: m");
  BOOST_TEST(obs::format_record(false, fixed_ms, obs::level::debug, "pool", "m") ==
             "2026-11-21T06:10:15.123Z DEBUG pool: m");
  BOOST_TEST(obs::format_record(false, fixed_ms, obs::level::trace, "pool", "m") ==
             "2026-11-21T06:10:15.123Z TRACE pool: m");
}

BOOST_AUTO_TEST_CASE(text_value_types_and_quoting) {
  std::string s = "owned";
  std::string line = obs::format_record(
      false, fixed_ms, obs::level::info, "c", "m",
      {{"i", -42}, {"u", std::uint64_t{18446744073709551615u}}, {"d", 0.25}, {"b", false},
       {"empty", ""}, {"eq", "a=b"}, {"q", R"(say "hi")"}, {"nl", "two\nlines"}, {"s", s}});
  BOOST_TEST(line == "2026-11-21T06:10:15.123Z INFO  c: m i=-42 u=18446744073709551615 d=0.25 "
                     "b=false empty=\"\" eq=\"a=b\" q=\"say \\\"hi\\\"\" nl=\"two\\nlines\" s=owned");
}

BOOST_AUTO_TEST_CASE(text_message_stays_on_one_line) {
  std::string line =
      obs::format_record(false, fixed_ms, obs::level::warn, "c", "a\nb\r\tc\x01", {});
  BOOST_TEST(line == "2026-11-21T06:10:15.123Z WARN  c: a\\nb\\r\\tc\\x01");
  BOOST_TEST(line.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_format_exact) {
  std::string line = obs::format_record(
      true, fixed_ms, obs::level::info, "session", "call done",
      {{"session", "s-1"}, {"client_id", 7}, {"latency_ms", 1.5}, {"ok", true}});
  BOOST_TEST(line == R"({"ts":"2026-11-21T06:10:15.123Z","level":"info","channel":"session",)"
                     R"("msg":"call done","session":"s-1","client_id":7,"latency_ms":1.5,"ok":true})");
}

BOOST_AUTO_TEST_CASE(json_escaping_and_invalid_utf8) {
  std::string line = obs::format_record(true, fixed_ms, obs::level::error, "c",
                                        "q\"b\\n\n\x01 caf\xC3\xA9 bad\xFF end", {});
  BOOST_TEST(line == "{\"ts\":\"2026-11-21T06:10:15.123Z\",\"level\":\"error\",\"channel\":\"c\","
                     "\"msg\":\"q\\\"b\\\\n\\n\\u0001 caf\xC3\xA9 bad\xEF\xBF\xBD end\"}");
  // And it parses, with the replacement character where the stray byte was.
  auto o = parse_object(line);
  BOOST_TEST(std::string(o.at("msg").as_string()) ==
             "q\"b\\n\n\x01 caf\xC3\xA9 bad\xEF\xBF\xBD end");
}

BOOST_AUTO_TEST_CASE(json_non_finite_double_is_null) {
  auto o = parse_object(obs::format_record(true, fixed_ms, obs::level::info, "c", "m",
                                           {{"x", std::numeric_limits<double>::infinity()}}));
  BOOST_TEST(o.at("x").is_null());
}

BOOST_AUTO_TEST_CASE(json_fields_never_shadow_record_keys) {
  auto o = parse_object(obs::format_record(true, fixed_ms, obs::level::info, "real", "real msg",
                                           {{"msg", "fake"}, {"level", "error"}}));
  BOOST_TEST(std::string(o.at("msg").as_string()) == "real msg");
  BOOST_TEST(std::string(o.at("level").as_string()) == "info");
  BOOST_TEST(std::string(o.at("_msg").as_string()) == "fake");
  BOOST_TEST(std::string(o.at("_level").as_string()) == "error");
}

BOOST_AUTO_TEST_CASE(timestamps_before_the_epoch) {
  std::string line = obs::format_record(false, -1, obs::level::info, "c", "m");
  BOOST_TEST(line == "1969-12-31T23:59:59.999Z INFO  c: m");
}

BOOST_AUTO_TEST_CASE(secret_keys_are_redacted_in_both_formats) {
  for (bool as_json : {false, true}) {
    std::string line = obs::format_record(
        as_json, fixed_ms, obs::level::info, "c", "m",
        {{"token", "tok-1"}, {"Authorization", "Bearer tok-2"}, {"PASSWORD", "pw"},
         {"secret", "s3"}, {"ws_token", "tok-4"}, {"client_secret", "s5"}, {"token_count", 3},
         {"tool", "echo"}});
    BOOST_TEST_INFO("format json=" << as_json << ": " << line);
    for (const char* leaked : {"tok-1", "tok-2", "pw\"", "=pw", "s3", "tok-4", "s5"})
      BOOST_TEST(line.find(leaked) == std::string::npos);
    if (as_json) {
      auto o = parse_object(line);
      for (const char* k : {"token", "Authorization", "PASSWORD", "secret", "ws_token", "client_secret"})
        BOOST_TEST(std::string(o.at(k).as_string()) == "***");
      BOOST_TEST(o.at("token_count").as_int64() == 3);  // only the named keys are redacted
      BOOST_TEST(std::string(o.at("tool").as_string()) == "echo");
    } else {
      BOOST_TEST(line.find("token=*** Authorization=*** PASSWORD=*** secret=*** ws_token=*** "
                           "client_secret=*** token_count=3 tool=echo") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(log_levels)

BOOST_AUTO_TEST_CASE(parse_level_names) {
  BOOST_TEST((obs::parse_level("trace") == obs::level::trace));
  BOOST_TEST((obs::parse_level("DEBUG") == obs::level::debug));
  BOOST_TEST((obs::parse_level("Info") == obs::level::info));
  BOOST_TEST((obs::parse_level("warn") == obs::level::warn));
  BOOST_TEST((obs::parse_level("WARNING") == obs::level::warn));
  BOOST_TEST((obs::parse_level("error") == obs::level::error));
  BOOST_TEST((obs::parse_level("off") == obs::level::off));
  for (const char* bad : {"", "verbose", "inf", "info ", "err", "warnings", "fatal"})
    BOOST_TEST(!obs::parse_level(bad).has_value(), "accepted '" << bad << "'");
  for (auto l : {obs::level::trace, obs::level::debug, obs::level::info, obs::level::warn,
                 obs::level::error, obs::level::off})
    BOOST_TEST((obs::parse_level(obs::to_string(l)) == l));
}

BOOST_AUTO_TEST_CASE(set_level_and_enabled) {
  level_guard restore;
  obs::set_level(obs::level::warn);
  BOOST_TEST(!obs::enabled(obs::level::debug));
  BOOST_TEST(!obs::enabled(obs::level::info));
  BOOST_TEST(obs::enabled(obs::level::warn));
  BOOST_TEST(obs::enabled(obs::level::error));
  BOOST_TEST(!obs::enabled(obs::level::off));
  obs::set_level(obs::level::off);
  BOOST_TEST(!obs::enabled(obs::level::error));
  obs::set_level(obs::level::trace);
  BOOST_TEST(obs::enabled(obs::level::trace));
  BOOST_TEST(!obs::enabled(obs::level::off));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(log_capture)

BOOST_AUTO_TEST_CASE(captured_records_are_json_with_fields) {
  level_guard restore;
  obs::set_level(obs::level::debug);
  obs::capture cap;
  std::string session = "sess-9";
  EXAI_LOG(info, "session", "tool call done", {"session", session}, {"client_id", "abc"},
           {"upstream_id", 17u}, {"tool", "echo"}, {"latency_ms", 2.5}, {"outcome", "ok"});
  EXAI_LOG(debug, "pool", "no fields");
  auto lines = cap.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  auto o = parse_object(lines[0]);
  BOOST_TEST(std::string(o.at("level").as_string()) == "info");
  BOOST_TEST(std::string(o.at("channel").as_string()) == "session");
  BOOST_TEST(std::string(o.at("msg").as_string()) == "tool call done");
  BOOST_TEST(std::string(o.at("session").as_string()) == "sess-9");
  BOOST_TEST(std::string(o.at("client_id").as_string()) == "abc");
  BOOST_TEST(o.at("upstream_id").to_number<std::uint64_t>() == 17u);
  BOOST_TEST(o.at("latency_ms").as_double() == 2.5);
  std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  BOOST_TEST(std::regex_match(std::string(o.at("ts").as_string()), iso));
  auto o2 = parse_object(lines[1]);
  BOOST_TEST(std::string(o2.at("level").as_string()) == "debug");
  BOOST_TEST(o2.size() == 4u);
}

BOOST_AUTO_TEST_CASE(capture_respects_the_level) {
  level_guard restore;
  obs::set_level(obs::level::warn);
  obs::capture cap;
  EXAI_LOG(debug, "c", "dropped");
  EXAI_LOG(info, "c", "dropped");
  EXAI_LOG(warn, "c", "kept-warn");
  EXAI_LOG(error, "c", "kept-error");
  obs::write(obs::level::off, "c", "never");
  auto lines = cap.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0].find("kept-warn") != std::string::npos);
  BOOST_TEST(lines[1].find("kept-error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(disabled_levels_skip_argument_evaluation) {
  level_guard restore;
  obs::set_level(obs::level::info);
  int evaluated = 0;
  auto bump = [&] { return ++evaluated; };
  EXAI_LOG(debug, "c", "m", {"n", bump()});
  BOOST_TEST(evaluated == 0);
  stderr_silencer quiet;
  EXAI_LOG(info, "c", "m", {"n", bump()});
  BOOST_TEST(evaluated == 1);
}

BOOST_AUTO_TEST_CASE(captures_nest_and_stop_with_their_guard) {
  stderr_silencer quiet;
  obs::capture outer;
  EXAI_LOG(info, "c", "one");
  {
    obs::capture inner;
    EXAI_LOG(info, "c", "two");
    BOOST_TEST(inner.lines().size() == 1u);
  }
  EXAI_LOG(info, "c", "three");
  auto lines = outer.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  BOOST_TEST(lines[2].find("three") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(capture_is_json_even_when_sinks_are_json) {
  stderr_silencer quiet;
  obs::log_options o;
  o.json = true;
  obs::init(o);
  obs::capture cap;
  EXAI_LOG(info, "c", "m", {"k", "v"});
  obs::init(obs::log_options{});  // back to text on stderr
  EXAI_LOG(info, "c", "m2", {"k", "v2"});
  auto lines = cap.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(std::string(parse_object(lines[0]).at("k").as_string()) == "v");
  BOOST_TEST(std::string(parse_object(lines[1]).at("k").as_string()) == "v2");
}

BOOST_AUTO_TEST_CASE(concurrent_writers_lose_nothing) {
  stderr_silencer quiet;
  obs::capture cap;
  constexpr int threads = 4, per_thread = 500;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([t] {
      for (int i = 0; i < per_thread; ++i) EXAI_LOG(info, "c", "m", {"t", t}, {"i", i});
    });
  for (auto& th : pool) th.join();
  auto lines = cap.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), std::size_t(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& l : lines) {
    auto o = parse_object(l);
    auto t = o.at("t").to_number<int>();
    // Each thread's records arrive in its own order.
    BOOST_TEST(o.at("i").to_number<int>() == next[t]);
    ++next[t];
  }
}

BOOST_AUTO_TEST_SUITE_END()
