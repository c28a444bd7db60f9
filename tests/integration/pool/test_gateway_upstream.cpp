// The daemon pool through the real exai-gateway (issue 5): `exai-gateway --stdio --upstream ws://`
// against exai-daemon and against the reference-daemon test double. MCP over stdio lines; every
// wait bounded.
#define BOOST_TEST_MODULE pool_gateway_upstream
#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <thread>

namespace json = boost::json;
using namespace exai::test;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

using daemon_child = listening_child;

daemon_child start_daemon(std::vector<std::string> argv, std::uint16_t port,
                          std::vector<std::string> env = {}) {
  argv.insert(argv.begin() + 1, {"--listen", "127.0.0.1:" + std::to_string(port)});
  return start_listening(std::move(argv), std::move(env));
}

daemon_child exai_daemon(std::uint16_t port = 0, const char* tools = "core,diagnostics",
                         std::vector<std::string> env = {}) {
  return start_daemon({program("EXAI_DAEMON_BIN"), "--tools", tools, "--log-level", "warn"}, port,
                      std::move(env));
}

// A gateway config file with this "upstream" section (the test removes it).
std::string upstream_config(const std::string& upstream_json) {
  const std::string path = temp_path("pool-gw-config") + ".json";
  std::ofstream(path) << R"({"upstream": )" << upstream_json << "}";
  return path;
}

daemon_child fake_reference(std::uint16_t port = 0) {
  return start_daemon({EXAI_FAKE_REFERENCE_DAEMON_BIN, "--cache-ttl-ms", "0", "--no-rate-limit"}, port);
}

// exai-gateway --stdio with the pool as its backend.
class gateway {
 public:
  gateway(std::uint16_t upstream_port, std::vector<std::string> extra = {})
      : proc_(child_process::start(args(upstream_port, std::move(extra)), {}, true)) {}

  void send(const json::value& v) { proc_.write_stdin(json::serialize(v) + "\n"); }

  json::object request(json::value id, std::string method, json::object params = {}) {
    json::object o{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
    o["id"] = std::move(id);
    return o;
  }

  // The response with this id; notifications seen meanwhile are kept. nullopt on timeout.
  std::optional<json::object> response(const json::value& id, ms timeout) {
    const auto deadline = steady::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = proc_.read_stdout_line(left);
      if (!line) return std::nullopt;
      auto v = json::parse(*line);
      auto& o = v.as_object();
      if (!o.contains("id")) {
        notifications_.push_back(o);
        continue;
      }
      if (o.at("id") == id) return o;
      others_.push_back(o);
    }
  }

  bool saw_notification(const std::string& method, ms timeout) {
    const auto deadline = steady::now() + timeout;
    for (;;) {
      for (const auto& n : notifications_)
        if (n.at("method").as_string() == method) return true;
      const auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left.count() <= 0) return false;
      auto line = proc_.read_stdout_line(left);
      if (!line) return false;
      auto v = json::parse(*line);
      if (!v.as_object().contains("id")) notifications_.push_back(v.as_object());
      else others_.push_back(v.as_object());
    }
  }

  void initialize() {
    json::object p{{"protocolVersion", "2025-06-18"}, {"capabilities", json::object{}},
                   {"clientInfo", json::object{{"name", "pool-itest"}, {"version", "1"}}}};
    send(request(0, "initialize", p));
    BOOST_TEST_REQUIRE(response(0, ms(10000)).has_value());
    send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }

  // tools/list until the pool has loaded the daemon's list (it answers an error before).
  json::array wait_tools(ms timeout) {
    const auto deadline = steady::now() + timeout;
    for (int id = 1000; steady::now() < deadline; ++id) {
      send(request(id, "tools/list"));
      auto r = response(id, ms(5000));
      if (r && r->contains("result")) return r->at("result").at("tools").as_array();
      std::this_thread::sleep_for(ms(50));
    }
    BOOST_FAIL("the gateway never listed the daemon's tools");
    return {};
  }

  json::object call(json::value id, std::string tool, json::object args) {
    json::object p{{"name", tool}, {"arguments", std::move(args)}};
    return request(std::move(id), "tools/call", std::move(p));
  }

  child_process& proc() { return proc_; }
  const std::vector<json::object>& others() const { return others_; }

 private:
  static std::vector<std::string> args(std::uint16_t port, std::vector<std::string> extra) {
    std::vector<std::string> a{program("EXAI_GATEWAY_BIN"), "--stdio", "--upstream",
                               "ws://127.0.0.1:" + std::to_string(port), "--log-level", "warn"};
    for (auto& e : extra) a.push_back(std::move(e));
    return a;
  }

  child_process proc_;
  std::vector<json::object> notifications_;
  std::vector<json::object> others_;
};

std::string first_text(const json::object& response) {
  return std::string(response.at("result").at("content").at(0).at("text").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(gateway_relays_calls_and_cancels_to_exai_daemon) {
  auto d = exai_daemon();
  gateway gw(d.port);
  gw.initialize();
  auto tools = gw.wait_tools(ms(10000));
  BOOST_TEST(tools.size() >= 5u);

  gw.send(gw.call(1, "echo", json::object{{"text", "through the pool"}}));
  auto r = gw.response(1, ms(5000));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(first_text(*r) == "through the pool");

  // A client cancel: no response for that id, and the daemon counts the call cancelled.
  gw.send(gw.call(2, "delay", json::object{{"ms", 10000}}));
  std::this_thread::sleep_for(ms(200));
  gw.send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                       {"params", json::object{{"requestId", 2}, {"reason", "test"}}}});
  std::this_thread::sleep_for(ms(300));
  gw.send(gw.call(3, "status", {}));
  auto st = gw.response(3, ms(5000));
  BOOST_TEST_REQUIRE(st.has_value());
  const auto& sc = st->at("result").at("structuredContent").as_object();
  BOOST_TEST(sc.at("cancelled").to_number<std::int64_t>() == 1);
  for (const auto& o : gw.others()) BOOST_TEST(o.at("id") != json::value(2), "a response for the cancelled call");
}

BOOST_AUTO_TEST_CASE(gateway_answers_at_once_when_the_daemon_dies_and_recovers) {
  auto d = exai_daemon();
  const auto port = d.port;
  gateway gw(d.port);
  gw.initialize();
  gw.wait_tools(ms(10000));

  gw.send(gw.call(1, "delay", json::object{{"ms", 20000}}));
  std::this_thread::sleep_for(ms(200));
  const auto t0 = steady::now();
  d.proc.signal(SIGKILL);
  auto r = gw.response(1, ms(3000));
  const auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->at("result").at("isError").as_bool());
  BOOST_TEST(first_text(*r).find("daemon connection lost") != std::string::npos, first_text(*r));
  BOOST_TEST(took < 500, "answered " << took << " ms after SIGKILL");  // issue: 100 ms; 5x margin
  d.proc.wait_exit(ms(2000));

  // Back on the same port with fewer tools: calls work again and clients hear list_changed.
  d = exai_daemon(port, "core");
  gw.send(gw.call(2, "version", {}));
  auto v = gw.response(2, ms(10000));
  BOOST_TEST_REQUIRE(v.has_value());
  BOOST_TEST(!v->at("result").as_object().contains("isError"));
  BOOST_TEST(gw.saw_notification("notifications/tools/list_changed", ms(5000)));
}

BOOST_AUTO_TEST_CASE(gateway_over_the_reference_double_never_hangs) {
  auto d = fake_reference();
  gateway gw(d.port, {"--call-timeout-ms", "400"});
  gw.initialize();
  gw.wait_tools(ms(10000));

  const auto t0 = steady::now();
  gw.send(gw.call(1, "hang", {}));
  auto r = gw.response(1, ms(3000));
  const auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  BOOST_TEST_REQUIRE(r.has_value(), "no answer for a request the daemon never answers");
  BOOST_TEST(r->at("result").at("isError").as_bool());
  BOOST_TEST(took < 400 + 600);

  gw.send(gw.call(2, "no_such_tool", {}));
  auto u = gw.response(2, ms(3000));
  BOOST_TEST_REQUIRE(u.has_value());
  BOOST_TEST(u->at("error").at("code").to_number<int>() == -32602);

  gw.send(gw.call(3, "echo", json::object{{"text", "still fine"}}));
  auto e = gw.response(3, ms(3000));
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(first_text(*e) == "still fine");
}

// Issue 14, defect 7: a client that lists once, right after initialize, sees the daemon's tools.
BOOST_AUTO_TEST_CASE(tools_list_right_after_initialize_has_the_daemons_tools) {
  auto d = exai_daemon();
  for (int start = 0; start < 3; ++start) {
    gateway gw(d.port);
    gw.initialize();
    gw.send(gw.request(1, "tools/list"));
    auto r = gw.response(1, ms(10000));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST_REQUIRE(r->contains("result"), json::serialize(*r));
    BOOST_TEST(r->at("result").at("tools").as_array().size() >= 5u);
  }
}

// Issue 14, defect 3: a call whose daemon message would pass the daemon's own limit (named in
// its hello_ack) fails alone, unsent; the other calls on the shared connection carry on.
BOOST_AUTO_TEST_CASE(a_call_larger_than_the_daemon_reads_fails_alone) {
  auto d = exai_daemon(0, "core,diagnostics", {"EXAI_WS_MAX_BYTES=1048576"});
  const auto cfg = upstream_config(R"({"connections_per_endpoint": 1})");
  gateway gw(d.port, {"--config", cfg});
  gw.initialize();
  gw.wait_tools(ms(10000));

  gw.send(gw.call(1, "delay", json::object{{"ms", 1500}}));
  std::this_thread::sleep_for(ms(200));
  gw.send(gw.call(2, "echo", json::object{{"text", std::string(2u << 20, 'q')}}));
  auto big = gw.response(2, ms(10000));
  BOOST_TEST_REQUIRE(big.has_value());
  BOOST_TEST(big->at("result").at("isError").as_bool());
  BOOST_TEST(first_text(*big).find("over the daemon's limit of 1048576 bytes") != std::string::npos,
             first_text(*big));
  auto other = gw.response(1, ms(10000));
  BOOST_TEST_REQUIRE(other.has_value());
  BOOST_TEST(!other->at("result").as_object().contains("isError"), json::serialize(*other));
  std::remove(cfg.c_str());
}

// Issue 14, defect 4: a stopped (not dead) daemon is found within seconds while a call waits;
// the call fails with a clear error, /ready goes 503, and both recover after SIGCONT.
BOOST_AUTO_TEST_CASE(a_stopped_daemon_is_found_in_seconds_and_ready_follows) {
  auto d = exai_daemon();
  const auto cfg = upstream_config(R"({"connections_per_endpoint": 2, "backoff_max_ms": 500})");
  const std::string ready = temp_path("pool-gw-ready");
  gateway gw(d.port, {"--config", cfg, "--admin", "127.0.0.1:0", "--ready-file", ready});
  const auto info = gw.proc().wait_ready(ready, ms(20000));
  const auto admin = port_of(std::string(info.at("admin").as_string()));
  gw.initialize();
  gw.wait_tools(ms(10000));
  BOOST_TEST_REQUIRE(http_status_becomes(admin, "/ready", 200, ms(10000)));

  d.proc.signal(SIGSTOP);
  const auto t0 = steady::now();
  gw.send(gw.call(1, "echo", json::object{{"text", "to a stopped daemon"}}));
  // hang_timeout is 4 s by default; before, the answer took 35 s.
  auto r = gw.response(1, ms(15000));
  const auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  BOOST_TEST_REQUIRE(r.has_value(), "no answer within 15 s from a stopped daemon");
  BOOST_TEST(r->at("result").at("isError").as_bool());
  BOOST_TEST(first_text(*r).find("did not answer") != std::string::npos, first_text(*r));
  BOOST_TEST_MESSAGE("answered " << took << " ms after SIGSTOP");
  BOOST_TEST(http_status_becomes(admin, "/ready", 503, ms(10000)), "/ready stayed 200 with the daemon stopped");

  d.proc.signal(SIGCONT);
  BOOST_TEST(http_status_becomes(admin, "/ready", 200, ms(20000)), "/ready did not recover after SIGCONT");
  gw.send(gw.call(2, "echo", json::object{{"text", "again"}}));
  auto again = gw.response(2, ms(10000));
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(first_text(*again) == "again");
  std::remove(cfg.c_str());
  std::remove(ready.c_str());
}

// Issue 14, defect 6: with no daemon reachable a queued call is answered after the short
// unreachable wait (2 s by default), not at its 300 s deadline.
BOOST_AUTO_TEST_CASE(calls_fail_fast_when_no_daemon_is_reachable) {
  auto d = exai_daemon();
  gateway gw(d.port);
  gw.initialize();
  gw.wait_tools(ms(10000));
  d.proc.signal(SIGKILL);
  d.proc.wait_exit(ms(2000));
  std::this_thread::sleep_for(ms(300));
  for (int id = 1; id <= 5; ++id) gw.send(gw.call(id, "echo", json::object{{"text", "nobody"}}));
  for (int id = 1; id <= 5; ++id) {
    auto r = gw.response(id, ms(10000));
    BOOST_TEST_REQUIRE(r.has_value(), "call " << id << " still waits for a dead daemon");
    BOOST_TEST(r->at("result").at("isError").as_bool());
    BOOST_TEST(first_text(*r).find("no daemon reachable") != std::string::npos, first_text(*r));
  }
}
