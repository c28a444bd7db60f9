// exai-bench smoke test (issue 7): ~1 s runs of the real program against its own echo server
// (raw frames), a real exai-daemon (op protocol with multiplex) and a real exai-gateway (MCP over
// WebSocket and stdio, the cancel and idle scenarios), checking the JSON report's fields and zero
// errors, and that a run whose answers are wrong fails. Never asserts speed.
#define BOOST_TEST_MODULE bench smoke
#include <boost/test/unit_test.hpp>

#include "tests/support/process.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace json = boost::json;
using exai::test::child_process;

namespace {

struct bench_run {
  int exit_code = -1;
  json::object report;
  std::string stderr_text;
};

// Runs exai-bench to completion (bounded) and parses the one JSON line it prints.
bench_run run_bench(std::vector<std::string> args) {
  args.insert(args.begin(), exai::test::program("EXAI_BENCH_BIN"));
  auto c = child_process::start(args, {}, /*pipe_stdio=*/true);
  c.close_stdin();
  bench_run r;
  auto line = c.read_stdout_line(60s);
  auto code = c.wait_exit(20s);
  r.stderr_text = c.stderr_text();
  BOOST_REQUIRE_MESSAGE(line.has_value(), "exai-bench printed no report; stderr:\n" << r.stderr_text);
  BOOST_REQUIRE_MESSAGE(code.has_value(), "exai-bench did not exit");
  r.exit_code = *code;
  boost::system::error_code ec;
  auto v = json::parse(*line, ec);
  BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "report is not a JSON object: " << *line);
  r.report = v.as_object();
  return r;
}

double num(const json::object& o, const char* key) {
  auto it = o.find(key);
  BOOST_REQUIRE_MESSAGE(it != o.end() && it->value().is_number(), "report lacks number " << key);
  return it->value().to_number<double>();
}

void check_load_report(const bench_run& r) {
  BOOST_TEST_INFO("stderr: " << r.stderr_text);
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(num(r.report, "errors") == 0);
  BOOST_TEST(r.report.at("error_kinds").as_object().empty());
  BOOST_TEST(num(r.report, "requests") > 0);
  BOOST_TEST(num(r.report, "throughput_per_s") > 0);
  double p50 = num(r.report, "p50_us"), p90 = num(r.report, "p90_us"), p99 = num(r.report, "p99_us"),
         p999 = num(r.report, "p999_us"), max = num(r.report, "max_us");
  BOOST_TEST(p50 > 0);
  BOOST_TEST(p50 <= p90);
  BOOST_TEST(p90 <= p99);
  BOOST_TEST(p99 <= p999);
  BOOST_TEST(p999 <= max);
}

struct echo_server {
  std::string ready = exai::test::temp_path("bench-echo-ready");
  child_process proc = child_process::start({exai::test::program("EXAI_BENCH_BIN"), "echo-server",
                                             "--listen", "127.0.0.1:0", "--ready-file", ready});
  std::string url = "ws://" + std::string(proc.wait_ready(ready).at("ws").as_string());
};

struct daemon_proc {
  std::string ready = exai::test::temp_path("bench-daemon-ready");
  child_process proc = child_process::start(
      {exai::test::program("EXAI_DAEMON_BIN"), "--listen", "127.0.0.1:0", "--ready-file", ready,
       "--tools", "core,diagnostics", "--log-level", "warn"},
      {"EXAI_WS_TOKEN="});
  std::string url = "ws://" + std::string(proc.wait_ready(ready).at("ws").as_string());
};

struct gateway_proc {
  std::string ready = exai::test::temp_path("bench-gateway-ready");
  child_process proc;
  std::string url, admin;
  explicit gateway_proc(const std::string& upstream)
      : proc(child_process::start({exai::test::program("EXAI_GATEWAY_BIN"), "--listen", "127.0.0.1:0",
                                   "--admin", "127.0.0.1:0", "--ready-file", ready, "--upstream",
                                   upstream, "--tools", "core,diagnostics", "--log-level", "warn"},
                                  {"EXAI_WS_TOKEN=", "EXAI_GATEWAY_TOKEN="})) {
    auto r = proc.wait_ready(ready);
    url = "ws://" + std::string(r.at("ws").as_string());
    admin = std::string(r.at("admin").as_string());
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(raw_against_its_own_echo_server) {
  echo_server srv;
  auto r = run_bench({"raw", "--url", srv.url, "--connections", "2", "--inflight", "4", "--duration",
                      "1", "--warmup", "0.2", "--payload-bytes", "200", "--target-pid",
                      std::to_string(srv.proc.pid())});
  check_load_report(r);
  BOOST_TEST(r.report.at("mode").as_string() == "raw");
  BOOST_TEST(num(r.report, "rss_peak_kb") > 0);
  BOOST_TEST(num(r.report, "cpu_s") >= 0);

  // A fixed request count ends after exactly that many answers.
  auto n = run_bench({"raw", "--url", srv.url, "--requests", "500", "--warmup", "0", "--inflight", "3"});
  check_load_report(n);
  BOOST_TEST(num(n.report, "requests") == 500);

  srv.proc.signal(SIGTERM);
  BOOST_TEST(srv.proc.wait_exit(5s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(op_against_a_real_daemon) {
  daemon_proc d;
  auto r = run_bench({"op", "--url", d.url, "--connections", "2", "--inflight", "8", "--duration", "1",
                      "--warmup", "0.2", "--target-pid", std::to_string(d.proc.pid())});
  check_load_report(r);
  BOOST_TEST(r.report.at("multiplex_granted").as_bool());
  BOOST_TEST(num(r.report, "rss_peak_kb") > 0);
  BOOST_TEST(r.report.at("target_pid").as_int64() == d.proc.pid());
}

BOOST_AUTO_TEST_CASE(wrong_answers_fail_the_run) {
  daemon_proc d;
  // `fail` answers every call with a tool error: each is counted and the run exits non-zero.
  auto r = run_bench({"op", "--url", d.url, "--tool", "fail", "--args", R"({"message":"boom"})",
                      "--requests", "20", "--warmup", "0"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(num(r.report, "errors") == 20);
  BOOST_TEST(r.report.at("error_kinds").at("error_reply").to_number<double>() == 20);
  BOOST_TEST(num(r.report, "requests") == 0);

  // An MCP client against a plain echo server gets its own requests back: not answers.
  echo_server srv;
  auto m = run_bench({"mcp-ws", "--url", srv.url, "--duration", "0.5", "--warmup", "0"});
  BOOST_TEST(m.exit_code == 1);
  BOOST_TEST(num(m.report, "errors") >= 1);
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_an_error_not_a_hang) {
  auto r = run_bench({"op", "--url", "ws://127.0.0.1:1", "--duration", "0.5", "--warmup", "0"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.report.at("error_kinds").at("connection").to_number<double>() == 1);
}

BOOST_AUTO_TEST_CASE(mcp_modes_against_a_real_gateway) {
  daemon_proc d;
  gateway_proc g(d.url);
  auto r = run_bench({"mcp-ws", "--url", g.url, "--connections", "2", "--inflight", "4", "--duration",
                      "1", "--warmup", "0.2", "--target-pid", std::to_string(g.proc.pid()),
                      "--peer-pid", std::to_string(d.proc.pid())});
  check_load_report(r);
  BOOST_TEST(num(r.report, "rss_peak_kb") > 0);
  BOOST_TEST(num(r.report, "peer_rss_peak_kb") > 0);
  BOOST_TEST(r.report.at("generator_sched").as_string() == "batch");  // the default

  auto s = run_bench({"mcp-stdio", "--inflight", "4", "--duration", "1", "--warmup", "0.2", "--",
                      exai::test::program("EXAI_GATEWAY_BIN"), "--stdio", "--upstream", "embedded",
                      "--tools", "core,diagnostics", "--log-level", "warn"});
  check_load_report(s);
  BOOST_TEST(num(s.report, "rss_peak_kb") > 0);  // the spawned child's
  BOOST_TEST(num(s.report, "child_exit_code") == 0);
}

// The generator runs in SCHED_BATCH unless told otherwise, and the child it spawns, the process
// under test, always in the normal class. A shell in front of the gateway checks both from
// /proc (field 41 of stat is the policy: 0 normal, 3 batch) and exits 7 before the gateway starts
// when either is wrong, which fails the run.
BOOST_AUTO_TEST_CASE(generator_in_batch_class_and_its_child_in_the_normal_one) {
  const std::string check =
      R"sh([ "$(cut -d' ' -f41 /proc/self/stat)" = 0 ] || exit 7; )sh"
      R"sh([ "$(cut -d' ' -f41 /proc/$PPID/stat)" = "$1" ] || exit 7; shift; exec "$@")sh";
  for (const auto& [flag, policy] : {std::pair{"batch", "3"}, std::pair{"normal", "0"}}) {
    BOOST_TEST_CONTEXT("--sched " << flag) {
      auto s = run_bench({"mcp-stdio", "--sched", flag, "--requests", "50", "--warmup", "0", "--",
                          "/bin/sh", "-c", check, "sh", policy,
                          exai::test::program("EXAI_GATEWAY_BIN"), "--stdio", "--upstream",
                          "embedded", "--tools", "core,diagnostics", "--log-level", "warn"});
      check_load_report(s);
      BOOST_TEST(num(s.report, "child_exit_code") == 0);
      BOOST_TEST(s.report.at("generator_sched").as_string() == flag);
    }
  }
}

BOOST_AUTO_TEST_CASE(cancel_and_idle_against_a_real_gateway) {
  daemon_proc d;
  gateway_proc g(d.url);
  // 200 delay calls cancelled mid-flight: none answered, the gateway's in-flight gauge and the
  // daemon's count (status tool) back to their baseline.
  auto c = run_bench({"cancel", "--url", g.url, "--connections", "4", "--requests", "200",
                      "--metrics-url", "http://" + g.admin + "/metrics", "--status-check"});
  BOOST_TEST_INFO("stderr: " << c.stderr_text);
  BOOST_TEST(c.exit_code == 0);
  BOOST_TEST(num(c.report, "errors") == 0);
  BOOST_TEST(num(c.report, "cancelled") == 200);
  BOOST_TEST(num(c.report, "inflight_before_cancel") == 200);
  BOOST_TEST(num(c.report, "inflight_after") == 0);
  BOOST_TEST(num(c.report, "answered_after_cancel") == 0);
  BOOST_TEST(num(c.report, "status_in_flight") <= num(c.report, "status_in_flight_base"));

  auto i = run_bench({"idle", "--url", g.url, "--connections", "50", "--duration", "0.5",
                      "--target-pid", std::to_string(g.proc.pid())});
  BOOST_TEST_INFO("stderr: " << i.stderr_text);
  BOOST_TEST(i.exit_code == 0);
  BOOST_TEST(num(i.report, "connections_open") == 50);
  BOOST_TEST(num(i.report, "errors") == 0);
  BOOST_TEST(num(i.report, "rss_peak_kb") > 0);
}
