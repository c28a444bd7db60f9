// daemon.json, environment and command line: precedence and error messages that name the key.
#include "daemon/config.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

using namespace exai::daemon;

namespace {

std::map<std::string, std::string> fake_env;
const char* lookup(const char* name) {
  auto it = fake_env.find(name);
  return it == fake_env.end() ? nullptr : it->second.c_str();
}

struct env_guard {
  explicit env_guard(std::map<std::string, std::string> e) { fake_env = std::move(e); }
  ~env_guard() { fake_env.clear(); }
};

std::string error_of(std::string_view json) {
  daemon_config c;
  auto r = apply_config_json(json, c);
  BOOST_REQUIRE_MESSAGE(!r.has_value(), "expected an error for " << json);
  return r.error().message;
}

std::string write_temp(std::string_view text) {
  std::string path = "/tmp/exai-daemon-config-test-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults) {
  env_guard g({});
  auto r = parse_command_line({}, lookup);
  BOOST_REQUIRE(r.has_value());
  const auto& c = r->config;
  BOOST_TEST(c.listen == "127.0.0.1:3010");
  BOOST_TEST(c.limits.max_message_bytes == 32u * 1024 * 1024);
  BOOST_TEST(c.limits.max_inflight == 256u);
  BOOST_TEST(c.timeouts.hello.count() == 15000);
  BOOST_TEST(c.timeouts.shutdown_grace.count() == 10000);
  BOOST_TEST(c.tools == (std::vector<std::string>{"core", "models"}));
  BOOST_TEST(!c.compat_reference);
  BOOST_TEST(c.token.empty());
}

BOOST_AUTO_TEST_CASE(full_file_is_applied) {
  daemon_config c;
  auto r = apply_config_json(R"({
      // comments are allowed
      "listen": "127.0.0.1:0", "tools": ["core", "diagnostics"], "compat": "reference",
      "log_level": "debug",
      "limits": {"max_message_bytes": 65536, "max_connections": 5, "max_connections_per_ip": 2,
                 "max_inflight": 8, "max_queued_bytes": 1048576},
      "timeouts": {"hello_ms": 100, "handshake_ms": 200, "idle_ms": 0, "call_ms": 0,
                   "shutdown_grace_ms": 50, "progress_interval_ms": 10},
    })", c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(c.listen == "127.0.0.1:0");
  BOOST_TEST(c.tools.size() == 2u);
  BOOST_TEST(c.compat_reference);
  BOOST_TEST(c.limits.max_inflight == 8u);
  BOOST_TEST(c.limits.max_connections_per_ip == 2u);
  BOOST_TEST(c.timeouts.hello.count() == 100);
  BOOST_TEST(c.timeouts.idle.count() == 0);
}

BOOST_AUTO_TEST_CASE(bad_keys_and_values_are_named) {
  BOOST_TEST(error_of(R"({"listne":"x"})") == "listne: unknown key");
  BOOST_TEST(error_of(R"({"limits":{"max_inflite":3}})") == "limits.max_inflite: unknown key");
  BOOST_TEST(error_of(R"({"limits":{"max_inflight":0}})").starts_with("limits.max_inflight: "));
  BOOST_TEST(error_of(R"({"limits":{"max_inflight":"8"}})").starts_with("limits.max_inflight: "));
  BOOST_TEST(error_of(R"({"timeouts":{"hello_ms":-1}})").starts_with("timeouts.hello_ms: "));
  BOOST_TEST(error_of(R"({"tools":["core","magic"]})").find("magic") != std::string::npos);
  BOOST_TEST(error_of(R"({"listen":"nohost"})").starts_with("listen: "));
  BOOST_TEST(error_of(R"({"compat":"python"})").starts_with("compat: "));
  // Providers are configured by their keys in the environment, not in the file.
  BOOST_TEST(error_of(R"({"providers":{}})").find("GLM_API_KEY") != std::string::npos);
  BOOST_TEST(error_of(R"({"token":"x"})").starts_with("token: "));
  BOOST_TEST(error_of("[1]").find("object") != std::string::npos);
  BOOST_TEST(error_of("{").find("JSON") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(precedence_cli_over_env_over_file) {
  auto path = write_temp(R"({"listen":"127.0.0.1:1111","log_level":"warn","limits":{"max_message_bytes":4096}})");
  {
    env_guard g({{"EXAI_WS_PORT", "2222"}, {"LOG_LEVEL", "DEBUG"}, {"EXAI_WS_TOKEN", "tok"},
                 {"EXAI_WS_MAX_BYTES", "8192"}, {"EXAI_WS_HELLO_TIMEOUT", "0.25"}});
    auto r = parse_command_line({"--config", path}, lookup);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->config.listen == "127.0.0.1:2222");
    BOOST_TEST(r->config.log_level == "debug");
    BOOST_TEST(r->config.token == "tok");
    BOOST_TEST(r->config.limits.max_message_bytes == 8192u);
    BOOST_TEST(r->config.timeouts.hello.count() == 250);
    auto cli = parse_command_line({"--config=" + path, "--listen", "127.0.0.1:0", "--log-level=error"}, lookup);
    BOOST_REQUIRE(cli.has_value());
    BOOST_TEST(cli->config.listen == "127.0.0.1:0");
    BOOST_TEST(cli->config.log_level == "error");
  }
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(file_errors_name_the_file_and_key) {
  auto path = write_temp(R"({"limits":{"bogus":1}})");
  env_guard g({});
  auto r = parse_command_line({"--config", path}, lookup);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message == path + ": limits.bogus: unknown key");
  std::remove(path.c_str());
  auto missing = parse_command_line({"--config", "/nonexistent/daemon.json"}, lookup);
  BOOST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message.find("/nonexistent/daemon.json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(command_line_errors) {
  env_guard g({});
  BOOST_TEST(!parse_command_line({"--listen"}, lookup).has_value());
  BOOST_TEST(!parse_command_line({"--listen", "127.0.0.1:99999"}, lookup).has_value());
  BOOST_TEST(!parse_command_line({"--tools", "core,bogus"}, lookup).has_value());
  BOOST_TEST(!parse_command_line({"--compat", "yes"}, lookup).has_value());
  BOOST_TEST(!parse_command_line({"--frob", "1"}, lookup).has_value());
  BOOST_TEST(!parse_command_line({"stray"}, lookup).has_value());
  auto help = parse_command_line({"--help"}, lookup);
  BOOST_REQUIRE(help.has_value());
  BOOST_TEST((help->what == cli_result::action::help));
  auto version = parse_command_line({"--version"}, lookup);
  BOOST_TEST((version->what == cli_result::action::version));
}

BOOST_AUTO_TEST_CASE(compat_defaults_to_ten_connections_per_ip) {
  env_guard g({});
  auto r = parse_command_line({"--compat", "reference", "--tools", "core,diagnostics"}, lookup);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->config.compat_reference);
  BOOST_TEST(r->config.limits.max_connections_per_ip == 10u);
  BOOST_TEST(r->config.tools.size() == 2u);
  auto plain = parse_command_line({}, lookup);
  BOOST_TEST(plain->config.limits.max_connections_per_ip == 0u);
}

BOOST_AUTO_TEST_CASE(host_port_split) {
  auto v4 = split_host_port("127.0.0.1:0");
  BOOST_REQUIRE(v4.has_value());
  BOOST_TEST(v4->first == "127.0.0.1");
  BOOST_TEST(v4->second == 0);
  auto v6 = split_host_port("[::1]:3010");
  BOOST_REQUIRE(v6.has_value());
  BOOST_TEST(v6->first == "::1");
  BOOST_TEST(v6->second == 3010);
  BOOST_TEST(!split_host_port(":80").has_value());
  BOOST_TEST(!split_host_port("host:").has_value());
  BOOST_TEST(!split_host_port("host:65536").has_value());
  BOOST_TEST(!split_host_port("host:8x").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shipped_config)

// conf/daemon.json is what operators copy: it must parse and state the documented defaults.
BOOST_AUTO_TEST_CASE(conf_daemon_json_is_valid_and_matches_defaults) {
  const std::string path = std::string(EXAI_TEST_DATA_DIR) + "/../../conf/daemon.json";
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  daemon_config c;
  auto r = apply_config_json(ss.str(), c);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  daemon_config d;
  BOOST_TEST(c.listen == d.listen);
  BOOST_TEST(c.limits.max_message_bytes == d.limits.max_message_bytes);
  BOOST_TEST(c.limits.max_connections == d.limits.max_connections);
  BOOST_TEST(c.limits.max_inflight == d.limits.max_inflight);
  BOOST_TEST(c.limits.max_queued_bytes == d.limits.max_queued_bytes);
  BOOST_TEST(c.timeouts.hello.count() == d.timeouts.hello.count());
  BOOST_TEST(c.timeouts.idle.count() == d.timeouts.idle.count());
  BOOST_TEST(c.timeouts.call.count() == d.timeouts.call.count());
  BOOST_TEST(c.timeouts.shutdown_grace.count() == d.timeouts.shutdown_grace.count());
  BOOST_TEST(c.timeouts.progress_interval.count() == d.timeouts.progress_interval.count());
}

// --print-config (issue 20): the layout of conf/daemon.json, the token redacted; less `tokens`
// it reads back as a daemon.json giving the same configuration.
BOOST_AUTO_TEST_CASE(print_config_reads_back_as_daemon_json) {
  env_guard g(std::map<std::string, std::string>{{"EXAI_WS_TOKEN", "daemon-secret"}});
  const std::string path = write_temp(R"({"tools": ["core", "diagnostics"], "compat": "reference",
    "limits": {"max_inflight": 8}, "timeouts": {"call_ms": 0}})");
  auto r = parse_command_line({"--print-config", "--config", path, "--listen", "127.0.0.1:0"}, lookup);
  std::remove(path.c_str());
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST((r->what == cli_result::action::print_config));
  auto printed = to_json(r->config);
  const std::string text = boost::json::serialize(printed);
  BOOST_TEST(text.find("daemon-secret") == std::string::npos, text);
  BOOST_TEST(printed.at("tokens").at("EXAI_WS_TOKEN").as_string() == "<redacted>");
  BOOST_TEST(printed.at("listen").as_string() == "127.0.0.1:0");
  BOOST_TEST(printed.at("limits").at("max_connections_per_ip").as_uint64() == 10u);  // compat default

  printed.erase("tokens");
  daemon_config again;
  again.token = r->config.token;
  auto applied = apply_config_json(boost::json::serialize(printed), again);
  BOOST_REQUIRE_MESSAGE(applied.has_value(), (applied ? "" : applied.error().message));
  BOOST_TEST(boost::json::serialize(to_json(again)) == text);
}

BOOST_AUTO_TEST_SUITE_END()
