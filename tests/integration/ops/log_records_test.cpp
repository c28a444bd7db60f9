// Logging as an operator sees it (issue 6), through the real programs: `exai-gateway --stdio
// --log-file F` keeps stdout for MCP while records go to stderr and to F, rotated by size; and
// with a real exai-daemon behind it, a call's records (the session's and the pool's) carry the
// session, client id, upstream request_id, tool, latency and outcome, and never a token or an
// argument.
#define BOOST_TEST_MODULE ops_log_records
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace exai::test;
using ms = std::chrono::milliseconds;

namespace {

std::string line_of(const json::value& v) { return json::serialize(v) + "\n"; }

json::object request(json::value id, std::string_view method, json::object params = {}) {
  json::object o{{"jsonrpc", "2.0"}, {"method", method}};
  o["id"] = std::move(id);
  if (!params.empty()) o["params"] = std::move(params);
  return o;
}

json::object tool_call(json::value id, std::string_view tool, json::object args) {
  return request(std::move(id), "tools/call", json::object{{"name", tool}, {"arguments", std::move(args)}});
}

// Reads stdout until EOF (the gateway exits after stdin EOF): every line must be a JSON-RPC
// message. Returns the responses by id (serialized id -> message).
std::map<std::string, json::object> read_all_responses(child_process& p, ms timeout) {
  std::map<std::string, json::object> out;
  for (;;) {
    auto line = p.read_stdout_line(timeout);
    if (!line) break;
    boost::system::error_code ec;
    auto v = json::parse(*line, ec);
    BOOST_TEST_REQUIRE(!ec, "stdout line is not JSON: " << line->substr(0, 200));
    BOOST_TEST_REQUIRE(v.is_object(), "stdout line is not a JSON-RPC message: " << line->substr(0, 200));
    BOOST_TEST_REQUIRE(v.as_object().contains("jsonrpc"), "not JSON-RPC on stdout: " << line->substr(0, 200));
    if (const auto* id = v.as_object().if_contains("id")) out[json::serialize(*id)] = v.as_object();
  }
  return out;
}

// JSON records of one file; every line must be one.
std::vector<json::object> records_of(const fs::path& p) {
  std::vector<json::object> out;
  for (const auto& l : lines_of(read_file(p))) {
    boost::system::error_code ec;
    auto v = json::parse(l, ec);
    BOOST_TEST_REQUIRE(!ec, p.filename() << ": not a JSON record: " << l.substr(0, 200));
    BOOST_TEST_REQUIRE(v.as_object().contains("ts"));
    out.push_back(v.as_object());
  }
  return out;
}

const json::object* find_record(const std::vector<json::object>& recs, std::string_view channel,
                                std::string_view msg, std::string_view client_id) {
  for (const auto& r : recs) {
    if (r.at("channel").as_string() == channel && r.at("msg").as_string() == msg &&
        r.contains("client_id") && r.at("client_id").as_string() == client_id)
      return &r;
  }
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(stdio_with_a_log_file_keeps_stdout_for_mcp_and_rotates_the_file) {
  temp_dir dir("ops-logs");
  const fs::path log = dir.path / "gw.log";
  const fs::path cfg = dir.path / "gw.json";
  std::ofstream(cfg) << R"({"log": {"format": "json", "rotate_bytes": 4096, "keep_files": 2}})";

  auto gw = child_process::start({program("EXAI_GATEWAY_BIN"), "--stdio", "--config", cfg.string(),
                                  "--log-level", "debug", "--log-file", log.string(), "--tools",
                                  "core,diagnostics"},
                                 {}, true);
  // ~200 debug request records of ~250 bytes: about a dozen rotations at 4 KiB.
  constexpr int n = 200;
  std::string batch;
  for (int i = 0; i < n; ++i) {
    batch += i % 2 ? line_of(request(i, "ping"))
                   : line_of(tool_call(i, "echo", json::object{{"text", "t" + std::to_string(i)}}));
  }
  gw.write_stdin(batch);
  gw.close_stdin();
  auto responses = read_all_responses(gw, ms(20000));
  BOOST_TEST(responses.size() == std::size_t(n));
  auto rc = gw.wait_exit(ms(10000));
  BOOST_TEST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);

  // The active file and exactly keep_files rotated ones, each near the rotation size.
  std::vector<fs::path> rotated;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    const auto name = e.path().filename().string();
    if (name != "gw.log" && name.starts_with("gw.") && name.ends_with(".log")) rotated.push_back(e.path());
  }
  BOOST_TEST_REQUIRE(fs::exists(log));
  BOOST_TEST(rotated.size() == 2u, "rotated files: " << rotated.size());
  std::size_t request_records = 0;
  for (const auto& p : rotated) {
    BOOST_TEST(fs::file_size(p) <= 4096u + 1024u, p.filename() << ": " << fs::file_size(p));
    for (const auto& r : records_of(p))
      if (r.at("msg").as_string() == "request") ++request_records;
  }
  auto active = records_of(log);
  BOOST_TEST_REQUIRE(!active.empty());
  BOOST_TEST(active.back().at("msg").as_string() == "stopped");
  BOOST_TEST(request_records > 0u);
  // The file is an extra sink: stderr got the records too (JSON, from the config file).
  BOOST_TEST(gw.stderr_text().find("\"msg\":\"request\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unwritable_log_file_is_a_startup_failure_naming_it) {
  temp_dir dir("ops-logs");
  const fs::path log = dir.path / "no-such-dir" / "gw.log";
  auto gw = child_process::start({program("EXAI_GATEWAY_BIN"), "--stdio", "--log-file", log.string()},
                                 {}, true);
  auto rc = gw.wait_exit(ms(10000));
  BOOST_TEST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 1);  // exit_startup_failure, not an abort (134)
  BOOST_TEST(gw.stderr_text().find(log.string()) != std::string::npos, gw.stderr_text());
  BOOST_TEST(!gw.read_stdout_line(ms(100)).has_value());  // stdout stays clean
}

BOOST_AUTO_TEST_CASE(a_calls_records_carry_session_client_request_id_tool_latency_outcome) {
  temp_dir dir("ops-logs");
  const std::string token = "tok-never-logged-5e1f";
  const std::string secret_arg = "argument-never-logged-77";
  auto daemon = start_listening({program("EXAI_DAEMON_BIN"), "--listen", "127.0.0.1:0", "--tools",
                                  "core,diagnostics", "--log-level", "debug"},
                                 {"EXAI_WS_TOKEN=" + token});
  const auto port = daemon.port;

  const fs::path log = dir.path / "gw.log";
  auto gw = child_process::start(
      {program("EXAI_GATEWAY_BIN"), "--stdio", "--upstream", "ws://127.0.0.1:" + std::to_string(port),
       "--log-level", "debug", "--log-format", "json", "--log-file", log.string()},
      {"EXAI_WS_TOKEN=" + token, "EXAI_GATEWAY_TOKEN=" + token}, true);

  // Calls sent before the pool is connected wait in its queue (well within their budget).
  gw.write_stdin(line_of(tool_call(7, "echo", json::object{{"text", secret_arg}})));
  gw.write_stdin(line_of(tool_call("f-8", "fail", json::object{{"message", "as asked"}})));
  gw.write_stdin(line_of(tool_call(9, "delay", json::object{{"ms", 60000}})));
  auto first = gw.read_stdout_line(ms(20000));
  BOOST_TEST_REQUIRE(first.has_value());
  auto second = gw.read_stdout_line(ms(20000));
  BOOST_TEST_REQUIRE(second.has_value());
  gw.write_stdin(line_of(json::object{{"jsonrpc", "2.0"},
                                      {"method", "notifications/cancelled"},
                                      {"params", json::object{{"requestId", 9}}}}));
  gw.write_stdin(line_of(request(10, "ping")));  // after the cancel: its answer comes after it
  auto third = gw.read_stdout_line(ms(20000));
  BOOST_TEST_REQUIRE(third.has_value());
  BOOST_TEST(json::parse(*third).at("id").as_int64() == 10);  // nothing for the cancelled call
  gw.close_stdin();
  auto rc = gw.wait_exit(ms(15000));
  BOOST_TEST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);

  const auto recs = records_of(log);
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  struct expect { std::string client, tool, outcome; };
  for (const auto& e : {expect{"ji:7", "echo", "ok"}, expect{"js:f-8", "fail", "error"},
                        expect{"ji:9", "delay", "cancelled"}}) {
    BOOST_TEST_CONTEXT("call " << e.client) {
      const auto* s = find_record(recs, "session", "request", e.client);
      const auto* p = find_record(recs, "pool", "call", e.client);
      BOOST_TEST_REQUIRE(s != nullptr);
      BOOST_TEST_REQUIRE(p != nullptr);
      BOOST_TEST(s->at("level").as_string() == "debug");
      BOOST_TEST(s->at("method").as_string() == "tools/call");
      BOOST_TEST(s->at("tool").as_string() == e.tool);
      BOOST_TEST(s->at("outcome").as_string() == e.outcome);
      BOOST_TEST(s->at("latency_ms").is_number());
      BOOST_TEST(p->at("session") == s->at("session"));
      BOOST_TEST(std::string(p->at("session").as_string()).starts_with("gw-"));
      BOOST_TEST(p->at("tool").as_string() == e.tool);
      BOOST_TEST(p->at("outcome").as_string() == e.outcome);
      BOOST_TEST(p->at("latency_ms").is_number());
      const std::string id(p->at("request_id").as_string());
      BOOST_TEST(std::regex_match(id, uuid), id);
    }
  }
  // Never a token, never an argument: not in the file, not on stderr (of either program).
  const std::string file_text = read_file(log);
  BOOST_TEST(file_text.find(token) == std::string::npos);
  BOOST_TEST(file_text.find(secret_arg) == std::string::npos);
  const std::string gw_err = gw.stderr_text();
  BOOST_TEST(gw_err.find(token) == std::string::npos);
  BOOST_TEST(gw_err.find(secret_arg) == std::string::npos);
  daemon.proc.signal(SIGTERM);
  BOOST_TEST(daemon.proc.wait_exit(ms(15000)).has_value());
  const std::string d_err = daemon.proc.stderr_text();
  BOOST_TEST(d_err.find(token) == std::string::npos);
  BOOST_TEST(d_err.find(secret_arg) == std::string::npos);
}
