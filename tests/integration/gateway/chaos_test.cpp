// Chaos (issue 14): steady load from several WebSocket sessions through the real exai-gateway to
// two real exai-daemons while a loop SIGKILLs them (and restarts them on their port) and
// SIGSTOPs / SIGCONTs them. Asserts that every request got exactly one answer (a cancelled one:
// at most one), that no answer carried an id or a text that was not its own, and that /ready
// followed the upstream (503 with both daemons stopped or dead, 200 again once they are back).
// About a minute; every wait bounded. Label `chaos` (ctest -L chaos).
#define BOOST_TEST_MODULE gateway chaos
#include "gateway_process.hpp"
#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace exai::test;
namespace json = boost::json;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

listening_child start_daemon(std::uint16_t port) {
  return start_listening({program("EXAI_DAEMON_BIN"), "--listen",
                          "127.0.0.1:" + std::to_string(port), "--tools", "core,diagnostics",
                          "--log-level", "error"});
}

// What one session saw. Problems are counted and the first few described.
struct tally {
  std::uint64_t sent = 0, answered = 0, tool_errors = 0, rpc_errors = 0, cancelled = 0;
  std::uint64_t unanswered = 0, duplicates = 0, strangers = 0, wrong_text = 0;
  std::vector<std::string> problems;
  void problem(std::string p) {
    if (problems.size() < 5) problems.push_back(std::move(p));
  }
};

struct pending {
  std::string expect;  // echo: the text that must come back; empty: a delay call
  bool cancelled = false;
};

// One session: up to 8 calls outstanding, a mix of echo, short delays and cancelled long delays.
void run_session(int n, std::uint16_t port, const std::atomic<bool>& stop, tally& t) {
  try {
    ws_client c("127.0.0.1", port);
    c.send_json(initialize_request(0));
    (void)c.read_json(std::chrono::seconds(20));
    c.send_json(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});

    std::mt19937 rng(static_cast<unsigned>(n) * 7919u + 1u);
    std::map<std::int64_t, pending> open;
    std::set<std::int64_t> done;
    std::int64_t next = 1;
    std::size_t live = 0;  // calls in flight that were not cancelled

    auto handle = [&](const std::string& text) {
      auto v = json::parse(text);
      const auto& o = v.as_object();
      if (!o.contains("id")) return;  // a notification (tools/list_changed)
      const auto* idv = o.at("id").if_int64();
      if (!idv) {
        ++t.strangers;
        t.problem("answer with a non-integer id: " + text.substr(0, 200));
        return;
      }
      const std::int64_t id = *idv;
      auto it = open.find(id);
      if (it == open.end()) {
        if (done.contains(id)) {
          ++t.duplicates;
          t.problem("second answer for id " + std::to_string(id));
        } else {
          ++t.strangers;
          t.problem("answer for an id never sent: " + std::to_string(id));
        }
        return;
      }
      ++t.answered;
      if (o.contains("error")) {
        ++t.rpc_errors;
      } else if (const auto* e = o.at("result").as_object().if_contains("isError");
                 e && e->as_bool()) {
        ++t.tool_errors;
      } else if (!it->second.expect.empty() && result_text(v) != it->second.expect) {
        ++t.wrong_text;
        t.problem("id " + std::to_string(id) + " got another call's text: " + result_text(v));
      }
      done.insert(id);
      if (!it->second.cancelled) --live;
      open.erase(it);
    };

    // Cancelled calls stay in `open` (an answer that crossed the cancel is allowed, once) but
    // do not count against the 8 in flight.
    while (!stop.load()) {
      while (live < 8) {
        const std::int64_t id = next++;
        const unsigned roll = rng() % 10;
        pending p;
        if (roll < 7) {
          p.expect = "s" + std::to_string(n) + "-" + std::to_string(id);
          c.send_json(tool_call(id, "echo", json::object{{"text", p.expect}}));
        } else if (roll < 9) {
          c.send_json(tool_call(id, "delay", json::object{{"ms", 100 + static_cast<int>(rng() % 300)}}));
        } else {
          c.send_json(tool_call(id, "delay", json::object{{"ms", 3000}}));
          c.send_json(json::object{{"jsonrpc", "2.0"},
                                   {"method", "notifications/cancelled"},
                                   {"params", json::object{{"requestId", id}, {"reason", "chaos"}}}});
          p.cancelled = true;
          ++t.cancelled;
        }
        ++t.sent;
        if (!p.cancelled) ++live;
        open.emplace(id, std::move(p));
      }
      if (auto m = c.read(ms(200))) handle(*m);
      if (!c.is_open()) {
        t.problem("the gateway closed the session");
        break;
      }
    }
    // Drain: every call that was not cancelled must be answered (call budget 20 s).
    const auto end = steady::now() + std::chrono::seconds(40);
    auto waiting = [&] {
      return std::any_of(open.begin(), open.end(), [](const auto& kv) { return !kv.second.cancelled; });
    };
    while (waiting() && steady::now() < end && c.is_open()) {
      if (auto m = c.read(ms(500))) handle(*m);
    }
    // A quiet moment more, to catch late duplicates.
    while (auto m = c.read(ms(500))) handle(*m);
    for (const auto& [id, p] : open) {
      if (!p.cancelled) {
        ++t.unanswered;
        t.problem("no answer for id " + std::to_string(id));
      }
    }
    c.close();
  } catch (const std::exception& e) {
    t.problem(std::string("session failed: ") + e.what());
    ++t.unanswered;
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(load_through_killed_and_stopped_daemons) {
  std::vector<listening_child> daemons;
  daemons.push_back(start_daemon(0));
  daemons.push_back(start_daemon(0));
  const std::uint16_t ports[2] = {daemons[0].port, daemons[1].port};

  const std::string cfg = temp_path("chaos-gw") + ".json";
  std::ofstream(cfg) << R"({"upstream": {"connections_per_endpoint": 2, "connect_timeout_ms": 1000,
                             "hello_timeout_ms": 1000, "backoff_initial_ms": 50, "backoff_max_ms": 500,
                             "hang_timeout_ms": 2000, "unreachable_wait_ms": 1000},
                             "tools": {"call_timeout_ms": 20000}})";
  const std::string ready = temp_path("chaos-gw-ready");
  auto gw = child_process::start({program("EXAI_GATEWAY_BIN"), "--listen", "127.0.0.1:0", "--admin",
                                  "127.0.0.1:0", "--ready-file", ready, "--config", cfg,
                                  "--upstream", "ws://127.0.0.1:" + std::to_string(ports[0]),
                                  "--upstream", "ws://127.0.0.1:" + std::to_string(ports[1]),
                                  "--log-level", "warn"});
  const auto info = gw.wait_ready(ready, ms(20000));
  const auto ws_port = port_of(std::string(info.at("ws").as_string()));
  const auto admin = port_of(std::string(info.at("admin").as_string()));
  BOOST_TEST_REQUIRE(http_status_becomes(admin, "/ready", 200, ms(15000)));

  constexpr int sessions = 4;
  std::atomic<bool> stop{false};
  std::vector<tally> tallies(sessions);
  std::vector<std::thread> load;
  for (int i = 0; i < sessions; ++i) {
    load.emplace_back([&, i] { run_session(i, ws_port, stop, tallies[i]); });
  }

  auto kill = [&](int i) {
    daemons[i].proc.signal(SIGCONT);  // a stopped process dies on SIGKILL too; be explicit
    daemons[i].proc.kill();
  };
  auto restart = [&](int i) {
    daemons[i] = start_daemon(ports[i]);
  };

  // Phase 1, about 30 s: one daemon at a time is killed and restarted, or stopped for a while.
  std::mt19937 rng(20261204);
  const auto phase1_end = steady::now() + std::chrono::seconds(30);
  int kills = 0, stops = 0;
  for (int round = 0; steady::now() < phase1_end; ++round) {
    const int i = round % 2;
    if (rng() % 2 == 0) {
      kill(i);
      ++kills;
      std::this_thread::sleep_for(ms(200 + rng() % 600));
      restart(i);
    } else {
      daemons[i].proc.signal(SIGSTOP);
      ++stops;
      std::this_thread::sleep_for(ms(1000 + rng() % 4000));
      daemons[i].proc.signal(SIGCONT);
    }
    std::this_thread::sleep_for(ms(500 + rng() % 1000));
  }
  BOOST_TEST_MESSAGE("phase 1: " << kills << " kills, " << stops << " stops");

  // Phase 2: both stopped: /ready must go 503 (hang detection), and 200 after SIGCONT.
  for (auto& d : daemons) d.proc.signal(SIGSTOP);
  const bool stopped_seen = http_status_becomes(admin, "/ready", 503, ms(15000));
  BOOST_TEST(stopped_seen, "/ready stayed 200 with both daemons stopped");
  if (!stopped_seen) {
    const auto log = gw.stderr_text();
    BOOST_TEST_MESSAGE("gateway log tail:\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  }
  for (auto& d : daemons) d.proc.signal(SIGCONT);
  BOOST_TEST(http_status_becomes(admin, "/ready", 200, ms(20000)), "/ready did not come back after SIGCONT");

  // Phase 3: both dead: 503; restarted: 200.
  kill(0);
  kill(1);
  BOOST_TEST(http_status_becomes(admin, "/ready", 503, ms(10000)), "/ready stayed 200 with both daemons dead");
  restart(0);
  restart(1);
  BOOST_TEST(http_status_becomes(admin, "/ready", 200, ms(20000)), "/ready did not come back after the restart");
  std::this_thread::sleep_for(ms(1000));  // some load on the recovered pool

  stop = true;
  for (auto& t : load) t.join();

  tally sum;
  for (int i = 0; i < sessions; ++i) {
    const auto& t = tallies[i];
    sum.sent += t.sent;
    sum.answered += t.answered;
    sum.tool_errors += t.tool_errors;
    sum.rpc_errors += t.rpc_errors;
    sum.cancelled += t.cancelled;
    sum.unanswered += t.unanswered;
    sum.duplicates += t.duplicates;
    sum.strangers += t.strangers;
    sum.wrong_text += t.wrong_text;
    for (const auto& p : t.problems) BOOST_TEST_MESSAGE("session " << i << ": " << p);
  }
  BOOST_TEST_MESSAGE("sent " << sum.sent << ", answered " << sum.answered << " (tool errors "
                             << sum.tool_errors << ", JSON-RPC errors " << sum.rpc_errors
                             << "), cancelled " << sum.cancelled);
  BOOST_TEST(sum.unanswered == 0u);
  BOOST_TEST(sum.duplicates == 0u);
  BOOST_TEST(sum.strangers == 0u);
  BOOST_TEST(sum.wrong_text == 0u);
  BOOST_TEST(sum.answered > 200u);  // the load was real
  BOOST_TEST(sum.answered > sum.tool_errors + sum.rpc_errors);  // and mostly served

  gw.signal(SIGTERM);
  BOOST_TEST(gw.wait_exit(ms(20000)).has_value());
  std::remove(cfg.c_str());
  std::remove(ready.c_str());
}
