// /metrics of the real exai-gateway in front of a real exai-daemon (issue 6): every name of
// observability/metric_names.hpp is exported from startup, and each moves with the traffic that
// should move it: requests by method, tool and outcome, latency per tool, in-flight, queue depth,
// sessions by transport and dialect, upstream connections by state, reconnects, timeouts, client
// cancels, late replies dropped, bytes in and out. The daemon runs `--compat reference` (serial:
// one call per connection, one connection allowed) so queueing and late replies are certain.
#define BOOST_TEST_MODULE ops_metrics
#include "observability/metric_names.hpp"
#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace json = boost::json;
namespace names = exai::obs::names;
using namespace exai::test;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

listening_child start_daemon(std::uint16_t port) {
  return start_listening({program("EXAI_DAEMON_BIN"), "--listen", "127.0.0.1:" + std::to_string(port),
                          "--tools", "core,diagnostics", "--compat", "reference", "--log-level", "warn"});
}

// The value of one exact series ("name{labels}") in a Prometheus text page; -1 when absent.
double series(const std::string& page, const std::string& s) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > s.size() && line.compare(0, s.size(), s) == 0 && line[s.size()] == ' ')
      return std::stod(line.substr(s.size() + 1));
  }
  return -1;
}

std::string requests(std::string_view method, std::string_view tool, std::string_view outcome) {
  return "exai_requests_total{method=\"" + std::string(method) + "\",tool=\"" + std::string(tool) +
         "\",outcome=\"" + std::string(outcome) + "\"}";
}

json::object call(json::value id, std::string_view tool, json::object args) {
  json::object o{{"jsonrpc", "2.0"}, {"method", "tools/call"},
                 {"params", json::object{{"name", tool}, {"arguments", std::move(args)}}}};
  o["id"] = std::move(id);
  return o;
}

// The response to `id` (progress notifications skipped); fails the test on timeout.
json::object response(ws_client& c, const json::value& id, ms timeout = ms(10000)) {
  const auto end = steady::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<ms>(end - steady::now());
    BOOST_TEST_REQUIRE(left.count() > 0, "no response for " << json::serialize(id));
    auto v = c.read_json(left);
    if (v.as_object().contains("id") && v.at("id") == id) return v.as_object();
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_metric_is_exported_and_moves_with_traffic_through_a_daemon) {
  auto daemon = start_daemon(0);
  const std::string cfg = temp_path("ops-metrics-gw") + ".json";
  std::ofstream(cfg) << R"({"upstream": {"connections_per_endpoint": 1, "max_serial_connections": 1,
                             "backoff_initial_ms": 50, "backoff_max_ms": 200},
                            "tools": {"timeouts_ms": {"delay": 1500}}})";
  const std::string ready = temp_path("ops-metrics-gw-ready");
  auto gw = child_process::start({program("EXAI_GATEWAY_BIN"), "--listen", "127.0.0.1:0", "--admin",
                                  "127.0.0.1:0", "--ready-file", ready, "--config", cfg, "--upstream",
                                  "ws://127.0.0.1:" + std::to_string(daemon.port), "--log-level", "warn"});
  const auto info = gw.wait_ready(ready, ms(20000));
  const auto ws_port = port_of(std::string(info.at("ws").as_string()));
  const auto admin = port_of(std::string(info.at("admin").as_string()));
  auto metrics = [&] {
    auto r = http_get("127.0.0.1", admin, "/metrics");
    BOOST_TEST_REQUIRE(r.status == 200);
    return r.body;
  };
  auto wait_for = [&](const std::string& s, double want, ms timeout) {
    const auto end = steady::now() + timeout;
    double v = -1;
    while (steady::now() < end) {
      v = series(metrics(), s);
      if (v == want) return true;
      std::this_thread::sleep_for(ms(20));
    }
    BOOST_TEST_MESSAGE(s << " stayed at " << v << ", expected " << want);
    return false;
  };
  BOOST_TEST_REQUIRE(wait_for("exai_upstream_connections{state=\"ready\"}", 1, ms(10000)));

  // From startup, before any traffic: the series without labels are there, at 0 (the labelled
  // ones appear with their first request or session).
  {
    const auto page = metrics();
    for (const auto& m : {names::timeouts_total, names::client_cancels_total, names::bytes_in_total,
                          names::bytes_out_total, names::inflight_requests, names::queue_depth,
                          names::upstream_reconnects_total, names::late_replies_dropped_total})
      BOOST_TEST(series(page, std::string(m.name)) == 0, m.name);
  }

  ws_options mcp_options;  // member by member: GCC 12 warns about fields a designated init omits
  mcp_options.subprotocol = "mcp";
  ws_client mcp("127.0.0.1", ws_port, mcp_options);
  ws_client op("127.0.0.1", ws_port);
  op.send_json(json::object{{"op", "hello"}, {"session_id", "ops-metrics"}});
  BOOST_TEST(op.read_json().at("ok").as_bool());
  op.send_json(json::object{{"op", "call_tool"}, {"request_id", "r1"}, {"name", "echo"},
                            {"arguments", json::object{{"text", "op"}}}});
  BOOST_TEST(op.read_json().at("op").as_string() == "call_tool_res");
  mcp.send_json(call(1, "echo", {{"text", "a"}}));
  response(mcp, 1);
  mcp.send_json(call(2, "no_such_tool", {}));  // the daemon's TOOL_NOT_FOUND: -32602
  BOOST_TEST(response(mcp, 2).at("error").at("code").as_int64() == -32602);
  {
    const auto page = metrics();
    BOOST_TEST(series(page, "exai_sessions{transport=\"ws\",dialect=\"mcp\"}") == 1);
    BOOST_TEST(series(page, "exai_sessions{transport=\"ws\",dialect=\"op\"}") == 1);
    BOOST_TEST(series(page, requests("call_tool", "echo", "ok")) == 1);
    BOOST_TEST(series(page, requests("tools/call", "echo", "ok")) == 1);
    BOOST_TEST(series(page, requests("tools/call", "", "error")) == 1);  // unknown tools share ""
    BOOST_TEST(series(page, "exai_request_duration_seconds_count{tool=\"echo\"}") == 2);
    BOOST_TEST(series(page, "exai_request_duration_seconds_count{tool=\"\"}") == 1);
    BOOST_TEST(series(page, std::string(names::bytes_in_total.name)) > 0);
    BOOST_TEST(series(page, std::string(names::bytes_out_total.name)) > 0);
  }

  // In flight and queued: one serial connection, three 400 ms calls.
  for (int i = 10; i < 13; ++i) mcp.send_json(call(i, "delay", {{"ms", 400}}));
  BOOST_TEST(wait_for("exai_inflight_requests", 3, ms(2000)));
  BOOST_TEST(wait_for("exai_queue_depth", 2, ms(2000)));
  for (int i = 10; i < 13; ++i) response(mcp, i);
  BOOST_TEST(wait_for("exai_inflight_requests", 0, ms(2000)));
  BOOST_TEST(wait_for("exai_queue_depth", 0, ms(2000)));
  BOOST_TEST(series(metrics(), requests("tools/call", "delay", "ok")) == 3);

  // A timeout (1500 ms budget), then a client cancel: the reference daemon answers both calls
  // anyway, later, and the pool drops those replies.
  mcp.send_json(call(20, "delay", {{"ms", 2000}}));
  auto timed_out = response(mcp, 20, ms(5000));
  BOOST_TEST(timed_out.at("result").at("isError").as_bool());
  BOOST_TEST(wait_for(std::string(names::timeouts_total.name), 1, ms(2000)));
  BOOST_TEST(wait_for(std::string(names::late_replies_dropped_total.name), 1, ms(3000)));
  mcp.send_json(call(21, "delay", {{"ms", 300}}));
  std::this_thread::sleep_for(ms(100));
  mcp.send_json(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                             {"params", json::object{{"requestId", 21}}}});
  BOOST_TEST(wait_for(std::string(names::client_cancels_total.name), 1, ms(2000)));
  BOOST_TEST(wait_for(std::string(names::late_replies_dropped_total.name), 2, ms(3000)));
  {
    const auto page = metrics();
    BOOST_TEST(series(page, requests("tools/call", "delay", "timeout")) == 1);
    BOOST_TEST(series(page, requests("tools/call", "delay", "cancelled")) == 1);
    BOOST_TEST(series(page, "exai_request_duration_seconds_count{tool=\"delay\"}") == 5);
  }

  // The daemon dies and comes back on the same port: reconnects counted, ready again.
  const auto port = daemon.port;
  daemon.proc.kill();
  BOOST_TEST(wait_for("exai_upstream_connections{state=\"ready\"}", 0, ms(3000)));
  auto again = start_daemon(port);
  BOOST_TEST(wait_for("exai_upstream_connections{state=\"ready\"}", 1, ms(10000)));
  {
    const auto page = metrics();
    BOOST_TEST(series(page, "exai_upstream_connections{state=\"connecting\"}") == 0);
    BOOST_TEST(series(page, "exai_upstream_connections{state=\"backoff\"}") == 0);
  }

  {
    const auto page = metrics();
    for (const auto& m : names::all)
      BOOST_TEST(page.find("# TYPE " + std::string(m.name) + " ") != std::string::npos, m.name);
    BOOST_TEST(series(page, std::string(names::upstream_reconnects_total.name)) >= 1);
  }

  mcp.close();
  op.close();
  BOOST_TEST(wait_for("exai_sessions{transport=\"ws\",dialect=\"mcp\"}", 0, ms(3000)));
  BOOST_TEST(wait_for("exai_sessions{transport=\"ws\",dialect=\"op\"}", 0, ms(3000)));
  gw.signal(SIGTERM);
  auto rc = gw.wait_exit(ms(15000));
  BOOST_TEST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  std::remove(cfg.c_str());
  std::remove(ready.c_str());
}
