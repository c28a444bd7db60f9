// The real exai-gateway over stdio pipes (issue 4, "Transports" and "Tests"): lifecycle, calls,
// cancel, EOF exit, and stdout purity with debug logging (every line JSON-RPC; 2 MB in one line).
#define BOOST_TEST_MODULE gateway_stdio_integration
#include "gateway_process.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

using namespace exai::test;

namespace {

struct stdio_gateway {
  std::optional<child_process> proc;
  explicit stdio_gateway(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{gateway_bin(), "--stdio", "--tools", "core,diagnostics"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc.emplace(child_process::start(argv, {}, /*pipe_stdio=*/true));
  }
  void send(const json::value& v) { proc->write_stdin(json::serialize(v) + "\n"); }
  json::value next(std::chrono::milliseconds timeout = 10s) {
    auto line = proc->read_stdout_line(timeout);
    BOOST_REQUIRE_MESSAGE(line, "no stdout line from the gateway; stderr:\n" + proc->stderr_text());
    return json::parse(*line);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(initialize_list_call_cancel_and_eof_exit) {
  stdio_gateway g;
  g.send(initialize_request(1));
  auto init = g.next();
  BOOST_TEST(init.at("id").as_int64() == 1);
  BOOST_TEST(init.at("result").at("serverInfo").at("name").as_string() == "exai-gateway");
  BOOST_TEST(init.at("result").at("protocolVersion").as_string() == "2025-06-18");
  g.send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});

  g.send(rpc(2, "tools/list"));
  auto list = g.next();
  std::vector<std::string> names;
  for (auto& t : list.at("result").at("tools").as_array()) names.emplace_back(t.at("name").as_string());
  for (const char* want : {"status", "version", "listmodels", "echo", "delay", "fail", "blob"}) {
    BOOST_TEST((std::find(names.begin(), names.end(), want) != names.end()), "listed: " << want);
  }

  g.send(tool_call("three", "echo", {{"text", "h\u00e9llo \"quoted\"\nline"}}));
  auto echo = g.next();
  BOOST_TEST(echo.at("id").as_string() == "three");
  BOOST_TEST(result_text(echo) == "h\u00e9llo \"quoted\"\nline");

  // Cancel: nothing ever comes back for id 4; the session keeps working.
  g.send(tool_call(4, "delay", {{"ms", 5000}}));
  g.send(json::object{{"jsonrpc", "2.0"},
                      {"method", "notifications/cancelled"},
                      {"params", {{"requestId", 4}, {"reason", "test"}}}});
  g.send(rpc(5, "ping"));
  auto pong = g.next();
  BOOST_TEST(pong.at("id").as_int64() == 5);
  BOOST_TEST(!g.proc->read_stdout_line(700ms).has_value());

  // A call in flight at EOF still gets its answer, then the process exits 0.
  g.send(tool_call(6, "delay", {{"ms", 200}}));
  g.proc->close_stdin();
  auto late = g.next();
  BOOST_TEST(late.at("id").as_int64() == 6);
  BOOST_TEST(result_text(late) == "waited 200 ms");
  auto rc = g.proc->wait_exit(5s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
}

BOOST_AUTO_TEST_CASE(eof_right_away_exits_zero_quickly) {
  stdio_gateway g;
  g.proc->close_stdin();
  auto rc = g.proc->wait_exit(5s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  BOOST_TEST(!g.proc->read_stdout_line(100ms).has_value());  // nothing on stdout at all
}

// Issue 14: stdin closed while nobody reads stdout; before, the process stayed up for good.
BOOST_AUTO_TEST_CASE(eof_while_stdout_is_not_read_still_exits) {
  stdio_gateway g;
  g.send(json::parse(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"));
  // About 6 MB of replies against a 64 KB pipe that is never read.
  const std::string text(60000, 'r');
  for (int i = 1; i <= 100; ++i) {
    json::object call{{"jsonrpc", "2.0"}, {"id", i}, {"method", "tools/call"}};
    call["params"] = json::object{{"name", "echo"}, {"arguments", json::object{{"text", text}}}};
    g.send(call);
  }
  g.proc->close_stdin();
  // eof grace 2 s + final flush limit 5 s; wide margin for a busy machine.
  auto rc = g.proc->wait_exit(30s);
  BOOST_TEST_REQUIRE(rc.has_value(), "still running 30 s after stdin closed");
}

BOOST_AUTO_TEST_CASE(stdout_carries_only_json_rpc_even_with_debug_logs) {
  stdio_gateway g({"--log-level", "debug"});
  g.send(initialize_request(1));
  g.send(rpc(2, "tools/list"));
  g.proc->write_stdin("{this is not json}\n");
  g.proc->write_stdin("\r\n");  // blank lines are skipped
  g.send(rpc(3, "no/such/method"));
  g.send(tool_call(4, "fail", {{"message", "boom"}}));
  g.send(tool_call(5, "blob", {{"bytes", 2 * 1024 * 1024}}));
  json::object progress_params;
  progress_params["name"] = "delay";
  progress_params["arguments"] = json::object{{"ms", 300}, {"progress_every_ms", 50}};
  progress_params["_meta"] = json::object{{"progressToken", "p-1"}};
  g.send(rpc(6, "tools/call", progress_params));
  g.proc->close_stdin();

  std::size_t lines = 0, responses = 0, progress = 0;
  bool blob_seen = false;
  for (;;) {
    auto line = g.proc->read_stdout_line(10s);
    if (!line) break;
    ++lines;
    boost::system::error_code ec;
    auto v = json::parse(*line, ec);
    BOOST_REQUIRE_MESSAGE(!ec, "stdout line is not JSON: " << line->substr(0, 200));
    BOOST_REQUIRE(v.is_object());
    BOOST_TEST(v.at("jsonrpc").as_string() == "2.0");
    if (v.as_object().contains("id")) {
      ++responses;
      if (v.at("id").is_int64() && v.at("id").as_int64() == 5) {
        const auto text = result_text(v);
        BOOST_TEST(text.size() == 2u * 1024 * 1024);
        BOOST_TEST(text.substr(0, 26) == "abcdefghijklmnopqrstuvwxyz");
        blob_seen = true;
      }
    } else {
      BOOST_TEST(v.at("method").as_string() == "notifications/progress");
      ++progress;
    }
  }
  BOOST_TEST(blob_seen);
  BOOST_TEST(responses == 7u);  // 6 requests + the parse error
  BOOST_TEST(progress >= 1u);
  BOOST_TEST(lines == responses + progress);
  auto rc = g.proc->wait_exit(5s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  // The debug logs went to stderr.
  BOOST_TEST(g.proc->stderr_text().find("DEBUG") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stdio_holds_no_port_and_sigterm_exits_zero) {
  stdio_gateway g;
  g.send(rpc(1, "ping"));
  g.next();
  // No listening sockets in this process.
  std::string fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(g.proc->pid()) + "/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    fds += target + "\n";
  }
  BOOST_TEST(fds.find("socket:") == std::string::npos, "open sockets:\n" << fds);
  g.proc->signal(SIGTERM);
  auto rc = g.proc->wait_exit(5s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
}

// stdin a regular file and stdout a regular file: epoll refuses both, so the transport reads on a
// helper thread and writes with blocking writes (gateway/stdio_transport.hpp).
BOOST_AUTO_TEST_CASE(regular_files_and_dev_null_as_stdio) {
  const auto in = temp_path("gw-in");
  const auto out = temp_path("gw-out");
  {
    std::ofstream f(in);
    f << json::serialize(initialize_request(1)) << "\n";
    f << json::serialize(tool_call(2, "delay", {{"ms", 100}})) << "\n";
    f << json::serialize(tool_call(3, "echo", {{"text", "from a file"}})) << "\r\n";
  }
  auto p = child_process::start({"/bin/sh", "-c", "exec \"$0\" --stdio --tools core,diagnostics < \"$1\" > \"$2\"",
                                 gateway_bin(), in, out});
  auto rc = p.wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  std::ifstream f(out);
  std::map<std::int64_t, json::value> by_id;
  for (std::string line; std::getline(f, line);) {
    auto v = json::parse(line);
    by_id[v.at("id").as_int64()] = v;
  }
  BOOST_REQUIRE(by_id.size() == 3u);
  BOOST_TEST(result_text(by_id[2]) == "waited 100 ms");  // finished within the EOF grace
  BOOST_TEST(result_text(by_id[3]) == "from a file");

  // /dev/null: immediate EOF, exit 0, nothing written.
  auto q = child_process::start({"/bin/sh", "-c", "exec \"$0\" --stdio < /dev/null > \"$1\"",
                                 gateway_bin(), out});
  auto rc2 = q.wait_exit(10s);
  BOOST_REQUIRE(rc2.has_value());
  BOOST_TEST(*rc2 == 0);
  std::ifstream g(out);
  std::string all((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  BOOST_TEST(all.empty());
  std::remove(in.c_str());
  std::remove(out.c_str());
}
