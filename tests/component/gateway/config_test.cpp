// gateway/config: precedence (command line > environment > file > defaults), derived defaults,
// validation naming the bad flag or key, redaction in --print-config. Pure, no io_context.
#define BOOST_TEST_MODULE gateway_config
#include "gateway/config.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace exai::gateway;
namespace json = boost::json;

namespace {

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

gateway_config load(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto r = load_config(args, env_of(std::move(env)));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return r->config;
}

std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto r = load_config(args, env_of(std::move(env)));
  BOOST_REQUIRE(!r);
  return r.error().message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults) {
  auto c = load({});
  BOOST_TEST(!c.stdio);
  BOOST_REQUIRE(c.listen);
  BOOST_TEST(c.listen->to_string() == "127.0.0.1:3005");
  BOOST_REQUIRE(c.admin);
  BOOST_TEST(c.admin->to_string() == "127.0.0.1:3002");
  BOOST_TEST(!c.admin_explicit);
  BOOST_TEST(c.embedded());
  BOOST_TEST(c.call_timeout.count() == 300000);
  BOOST_TEST(c.shutdown_grace.count() == 10000);
  BOOST_TEST(c.profiles == (std::vector<std::string>{"core", "models"}));
  // A model tool's deadline: its own 600 s budget plus a margin, not the 300 s default.
  BOOST_TEST(c.tool_timeouts.at("chat").count() == 605000);
}

BOOST_AUTO_TEST_CASE(model_tool_deadlines_follow_the_configuration) {
  // Longer default: the model tool is not cut shorter than it.
  BOOST_TEST(load({"--call-timeout-ms", "900000"}).tool_timeouts.at("chat").count() == 900000);
  // A per-tool entry in the file wins.
  const std::string file = "/tmp/exai-config-test-" + std::to_string(::getpid()) + ".json";
  std::ofstream(file) << R"({"tools":{"timeouts_ms":{"chat":1000}}})";
  BOOST_TEST(load({"--config", file}).tool_timeouts.at("chat").count() == 1000);
  std::remove(file.c_str());
  // Unknown profile names list the known ones (daemon/profiles.hpp).
  BOOST_TEST(error_of({"--tools", "core,magic"}).find("core, models, diagnostics") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stdio_holds_no_port_unless_asked) {
  auto c = load({"--stdio"});
  BOOST_TEST(c.stdio);
  BOOST_TEST(!c.listen);
  BOOST_TEST(!c.admin);
  auto both = load({"--stdio", "--listen", "127.0.0.1:0"});
  BOOST_REQUIRE(both.listen);
  BOOST_REQUIRE(both.admin);  // next to a listener, admin follows (port 0 with port 0)
  BOOST_TEST(both.admin->port == 0);
  auto with_admin = load({"--stdio", "--admin", "127.0.0.1:9"});
  BOOST_TEST(!with_admin.listen);
  BOOST_REQUIRE(with_admin.admin);
  BOOST_TEST(with_admin.admin_explicit);
}

BOOST_AUTO_TEST_CASE(flags_in_both_spellings) {
  auto c = load({"--listen=[::1]:0", "--admin", "off", "--tools", "core,diagnostics",
                 "--call-timeout-ms=1500", "--log-level", "debug", "--ready-file", "/tmp/r"});
  BOOST_TEST(c.listen->host == "::1");
  BOOST_TEST(c.listen->to_string() == "[::1]:0");
  BOOST_TEST(!c.admin);
  BOOST_TEST(c.profiles == (std::vector<std::string>{"core", "diagnostics"}));
  BOOST_TEST(c.call_timeout.count() == 1500);
  BOOST_TEST((c.log.min_level == exai::obs::level::debug));
  BOOST_TEST(c.ready_file == "/tmp/r");
}

BOOST_AUTO_TEST_CASE(upstream_precedence) {
  BOOST_TEST(load({}).upstreams == std::vector<std::string>{"embedded"});
  auto env = load({}, {{"EXAI_WS_HOST", "10.0.0.2"}, {"EXAI_WS_PORT", "3999"}});
  BOOST_TEST(env.upstreams == std::vector<std::string>{"ws://10.0.0.2:3999"});
  auto port_only = load({}, {{"EXAI_WS_PORT", "4000"}});
  BOOST_TEST(port_only.upstreams == std::vector<std::string>{"ws://127.0.0.1:4000"});
  auto cli = load({"--upstream", "ws://a:1", "--upstream", "ws://b:2"},
                  {{"EXAI_WS_HOST", "10.0.0.2"}, {"EXAI_WS_PORT", "3999"}});
  BOOST_TEST(cli.upstreams == (std::vector<std::string>{"ws://a:1", "ws://b:2"}));
  auto emb = load({"--upstream", "embedded"}, {{"EXAI_WS_PORT", "3999"}});
  BOOST_TEST(emb.embedded());
  BOOST_TEST(error_of({"--upstream", "embedded", "--upstream", "ws://a:1"}).find("embedded") !=
             std::string::npos);
  BOOST_TEST(error_of({"--upstream", "http://x:1"}).find("--upstream") != std::string::npos);
  BOOST_TEST(error_of({}, {{"EXAI_WS_PORT", "notaport"}}).find("EXAI_WS_PORT") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(log_level_precedence) {
  BOOST_TEST((load({}, {{"LOG_LEVEL", "warn"}}).log.min_level == exai::obs::level::warn));
  BOOST_TEST((load({"--log-level", "error"}, {{"LOG_LEVEL", "warn"}}).log.min_level ==
              exai::obs::level::error));
  BOOST_TEST(error_of({}, {{"LOG_LEVEL", "loud"}}).find("LOG_LEVEL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tokens_from_the_environment_and_redacted) {
  auto c = load({}, {{"EXAI_GATEWAY_TOKEN", "client-secret"}, {"EXAI_WS_TOKEN", "daemon-secret"}});
  BOOST_TEST(c.client_token == "client-secret");
  BOOST_TEST(c.upstream_token == "daemon-secret");
  auto text = json::serialize(to_json(c));
  BOOST_TEST(text.find("secret") == std::string::npos);
  BOOST_TEST(text.find("<redacted>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(file_values_and_precedence) {
  auto file = json::parse(R"({
    "listen": "127.0.0.1:4005",
    "admin": "off",
    "log": {"level": "warn", "format": "json"},
    "upstream": {"urls": ["ws://127.0.0.1:3010"], "connections_per_endpoint": 2},
    "tools": {"profiles": ["core", "diagnostics"], "call_timeout_ms": 1000,
              "timeouts_ms": {"thinkdeep": 600000}, "page_size": 2},
    "websocket": {"max_connections": 7, "allowed_origins": ["https://app.example"]},
    "shutdown_grace_ms": 2500,
    "stdio": {"eof_grace_ms": 100}
  })").as_object();
  auto r = apply_config_file(gateway_config{}, file, "gw.json");
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  auto& c = *r;
  BOOST_TEST(c.listen->port == 4005);
  BOOST_TEST(!c.admin);
  BOOST_TEST(c.admin_explicit);
  BOOST_TEST(c.log.json);
  BOOST_TEST(c.upstreams == std::vector<std::string>{"ws://127.0.0.1:3010"});
  BOOST_TEST(c.upstream_section.at("connections_per_endpoint").as_int64() == 2);
  BOOST_TEST(c.call_timeout.count() == 1000);
  BOOST_TEST(c.tool_timeouts.at("thinkdeep").count() == 600000);
  BOOST_TEST(c.page_size == 2u);
  BOOST_TEST(c.websocket.max_connections == 7u);
  BOOST_TEST(c.websocket.allowed_origins.size() == 1u);
  BOOST_TEST(c.shutdown_grace.count() == 2500);
  BOOST_TEST(c.stdio_eof_grace.count() == 100);
}

BOOST_AUTO_TEST_CASE(bad_file_keys_are_named) {
  auto check = [](const char* text, const char* key) {
    auto r = apply_config_file(gateway_config{}, json::parse(text).as_object(), "gw.json");
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().message.find(key) != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("gw.json") != std::string::npos);
  };
  check(R"({"listn": "127.0.0.1:1"})", "listn");
  check(R"({"tools": {"call_timeout": 5}})", "tools.call_timeout");
  check(R"({"tools": {"timeouts_ms": {"chat": "long"}}})", "tools.timeouts_ms.chat");
  check(R"({"tools": {"call_timeout_ms": -1}})", "tools.call_timeout_ms");
  check(R"({"websocket": {"max_connections": 0}})", "websocket.max_connections");
  check(R"({"websocket": {"pings": true}})", "websocket.pings");
  check(R"({"log": {"level": "chatty"}})", "log.level");
  check(R"({"listen": "nowhere"})", "listen");
  check(R"({"token": "x"})", "token");
  check(R"({"upstream": {"urls": ["tcp://x:1"]}})", "upstream.urls");
  check(R"({"tools": {"profiles": ["core", "magic"]}})", "tools.profiles");
}

BOOST_AUTO_TEST_CASE(bad_flags_are_named) {
  BOOST_TEST(error_of({"--listen", "localhost"}).find("--listen") != std::string::npos);
  BOOST_TEST(error_of({"--listen", "1.2.3.4:70000"}).find("--listen") != std::string::npos);
  BOOST_TEST(error_of({"--call-timeout-ms", "0"}).find("--call-timeout-ms") != std::string::npos);
  BOOST_TEST(error_of({"--tools", "core,x"}).find("--tools") != std::string::npos);
  BOOST_TEST(error_of({"--frobnicate"}).find("--frobnicate") != std::string::npos);
  BOOST_TEST(error_of({"--listen"}).find("needs a value") != std::string::npos);
  BOOST_TEST(error_of({"--config", "/nonexistent/gw.json"}).find("/nonexistent/gw.json") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(commands) {
  BOOST_TEST((load_config({"--help"}, env_of({}))->cmd == command::help));
  BOOST_TEST((load_config({"--version"}, env_of({}))->cmd == command::version));
  BOOST_TEST((load_config({"--print-config"}, env_of({}))->cmd == command::print_config));
  BOOST_TEST(usage().find("--call-timeout-ms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_shipped_config_file_is_valid) {
  const std::string path = std::string(EXAI_TEST_DATA_DIR) + "/../../conf/gateway.json";
  auto r = load_config({"--config", path}, env_of({}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  BOOST_TEST(r->config.listen.has_value());
}

// --print-config (issue 20): the layout of conf/gateway.json, so what it prints, less the two
// things a file cannot set (tokens, --stdio), reads back as a file giving the same configuration.
BOOST_AUTO_TEST_CASE(print_config_reads_back_as_a_config_file) {
  auto file = json::parse(R"({
    "listen": "127.0.0.1:4005", "admin": "127.0.0.1:4002",
    "log": {"level": "warn", "format": "json", "keep_files": 3},
    "upstream": {"url": "ws://127.0.0.1:3010", "connections_per_endpoint": 2},
    "tools": {"profiles": ["core", "diagnostics"], "timeouts_ms": {"thinkdeep": 600000}},
    "websocket": {"max_connections": 7, "allowed_origins": ["https://app.example"]},
    "shutdown_grace_ms": 2500, "stdio": {"eof_grace_ms": 100}
  })").as_object();
  auto first = apply_config_file(gateway_config{}, file, "gw.json");
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().message));
  first->upstream_token = "daemon-secret";
  const json::object printed = to_json(*first);
  BOOST_TEST(!printed.contains("admin_explicit"));
  BOOST_TEST(!printed.contains("config_file"));
  BOOST_TEST(!printed.at("upstream").as_object().contains("url"));
  BOOST_TEST(printed.at("tokens").at("EXAI_WS_TOKEN").as_string() == "<redacted>");
  BOOST_TEST(printed.at("tokens").at("EXAI_GATEWAY_TOKEN").as_string() == "");

  json::object as_file = printed;
  as_file.erase("tokens");
  as_file.at("stdio").as_object().erase("enabled");
  auto second = apply_config_file(gateway_config{}, as_file, "printed.json");
  BOOST_REQUIRE_MESSAGE(second, (second ? "" : second.error().message));
  second->upstream_token = "daemon-secret";
  BOOST_TEST(json::serialize(to_json(*second)) == json::serialize(printed));
}

BOOST_AUTO_TEST_CASE(http_section) {
  auto file = json::parse(R"({"http": {"session_idle_ms": 5000, "session_lifetime_ms": 60000,
                                       "sse_after_ms": 250, "max_sessions": 3}})").as_object();
  auto c = apply_config_file({}, file, "gateway.json");
  BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  BOOST_TEST(c->http.session_idle.count() == 5000);
  BOOST_TEST(c->http.session_lifetime.count() == 60000);
  BOOST_TEST(c->http.sse_after.count() == 250);
  BOOST_TEST(c->http.max_sessions == 3u);
  auto printed = to_json(*c);
  BOOST_TEST(printed.at("http").at("max_sessions").as_uint64() == 3u);
  auto bad = apply_config_file({}, json::parse(R"({"http": {"nope": 1}})").as_object(), "gateway.json");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("http.nope") != std::string::npos);
  auto zero = apply_config_file({}, json::parse(R"({"http": {"session_idle_ms": 0}})").as_object(), "gateway.json");
  BOOST_TEST(!zero);
}
