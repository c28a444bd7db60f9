// The daemon pool against the real exai-daemon (issue 5, "Tests"): multiplexed mode, and serial
// mode against `exai-daemon --compat reference`, with the same correctness scenarios. The pool
// runs in-process on a test io_context; the daemon is a child process on loopback.
#define BOOST_TEST_MODULE pool_daemon_modes
#include "tests/integration/pool/scenarios.hpp"
#include "tests/support/tool_changes.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>

using namespace exai::gateway::pool;
using exai::test::tool_changes;
using namespace exai::gateway::pool::itest;

namespace {

struct mode_param {
  bool compat = false;  // --compat reference: serial mode
  bool multiplexed() const { return !compat; }
};

asio::awaitable<void> wait_pool_ready(daemon_pool& pool, std::size_t connections) {
  const bool ok = co_await wait_until(
      [&] { return pool.ready() && pool.snapshot().ready >= connections; }, ms(10000));
  BOOST_TEST_REQUIRE(ok, "pool not ready: " << pool.snapshot().ready << " connections ready");
}

asio::awaitable<void> basics_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 4));
  tool_changes watched(pool, ex);
  pool.start();
  co_await wait_pool_ready(pool, 1);
  // The first load, which the watcher hears of on a later turn than the pool loads it.
  BOOST_TEST(co_await wait_until([&] { return watched.count() == 1; }, ms(5000)));
  co_await scenario_basics(pool, m.multiplexed());
  co_await pool.async_stop();
  BOOST_TEST(!pool.ready());
  // After stop, calls fail at once instead of waiting.
  json::object args;  // built apart from the co_await (toolchain gotcha 1)
  args["text"] = "x";
  auto r = co_await call(pool, "echo", std::move(args), ms(1000));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == exai::codecs::errc::shutting_down));
}

asio::awaitable<void> many_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 4));
  pool.start();
  co_await wait_pool_ready(pool, 4);
  co_await scenario_many_clients(pool, 50, 100);
  const auto s = pool.snapshot();
  if (m.multiplexed()) {
    BOOST_TEST(s.multiplexed == 4u);  // 5000 calls over exactly 4 connections
    BOOST_TEST(s.ready == 4u);
  } else {
    // Serial: grown on demand, never beyond the per-address limit of 10.
    BOOST_TEST(s.serial > 4u);
    BOOST_TEST(s.ready + s.connecting + s.backoff <= 10u);
  }
  co_await pool.async_stop();
}

asio::awaitable<void> cancel_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 4));
  pool.start();
  co_await wait_pool_ready(pool, 4);
  co_await scenario_cancel(pool, m.multiplexed());
  co_await pool.async_stop();
}

asio::awaitable<void> deadline_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 4));
  pool.start();
  co_await wait_pool_ready(pool, 4);
  co_await scenario_deadline(pool, m.multiplexed());
  co_await pool.async_stop();
}

asio::awaitable<void> kill_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 4));
  pool.start();
  co_await wait_pool_ready(pool, 4);
  const bool compat = m.compat;
  co_await scenario_kill_and_restart(pool, *d, m.multiplexed() ? 20 : 8,
                                     [compat](std::uint16_t port) { return start_exai_daemon(compat, port); });
  co_await pool.async_stop();
}

// The tool list is fetched again after a reconnect; a changed list is announced once.
asio::awaitable<void> tools_refresh_body(peer* d, mode_param m) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 2));
  tool_changes watched(pool, ex);
  pool.start();
  co_await wait_pool_ready(pool, 2);
  const std::size_t full = pool.snapshot().tools;
  BOOST_TEST(co_await wait_until([&] { return watched.count() == 1; }, ms(5000)));  // as in basics

  const std::uint16_t port = d->port;
  d->proc.kill();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.snapshot().ready == 0; }, ms(5000)));
  *d = start_exai_daemon(m.compat, port, {"--tools", "core"});  // the later --tools wins
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return watched.count() == 2; }, ms(10000)),
                     "no tool-set change seen after the daemon came back with other tools");
  const std::size_t core_only = pool.snapshot().tools;
  BOOST_TEST(core_only < full);
  auto tools = co_await pool.async_list_tools();
  BOOST_TEST_REQUIRE(tools.has_value());
  for (const auto& t : *tools) BOOST_TEST(t.as_object().at("name").as_string() != "echo");

  // Same tools again after another reconnect: no announcement.
  d->proc.kill();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.snapshot().ready == 0; }, ms(5000)));
  *d = start_exai_daemon(m.compat, port, {"--tools", "core"});
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready() && pool.snapshot().ready == 2; }, ms(10000)));
  co_await sleep_for(ms(300));
  BOOST_TEST(watched.count() == 2);
  co_await pool.async_stop();
}

// A daemon that stops answering without closing its connections (SIGSTOP: the kernel keeps its
// sockets open and even accepts new ones): the keep-alive pings, hears nothing back and drops the
// connections after idle_timeout; after SIGCONT the pool reconnects and calls go through (issue 5:
// pings and idle timeout; issue 7 moved them from Beast's per-read timer to net::ws_keepalive).
asio::awaitable<void> silent_daemon_body(peer* d, mode_param) {
  auto ex = co_await asio::this_coro::executor;
  auto o = test_options(d->port, 2);
  o.idle_timeout = ms(1000);
  daemon_pool pool(ex, o);
  pool.start();
  co_await wait_pool_ready(pool, 2);
  // Quiet but alive: over two idle timeouts without a call, the daemon's pongs keep both.
  co_await sleep_for(ms(2500));
  BOOST_TEST(pool.snapshot().ready == 2u);

  d->proc.signal(SIGSTOP);
  const bool dropped = co_await wait_until([&] { return pool.snapshot().ready == 0; }, ms(8000));
  d->proc.signal(SIGCONT);
  BOOST_TEST_REQUIRE(dropped, "connections to a stopped daemon were never dropped");

  co_await wait_pool_ready(pool, 2);
  json::object args;  // built apart from the co_await (toolchain gotcha 1)
  args["text"] = "back";
  auto r = co_await call(pool, "echo", std::move(args), ms(5000));
  BOOST_TEST_REQUIRE(r.has_value(), describe(r));
  BOOST_TEST(text_of(*r) == "back");
  co_await pool.async_stop();
}

void run_with_daemon(asio::awaitable<void> (*body)(peer*, mode_param), mode_param m, int limit_s) {
  peer d = start_exai_daemon(m.compat);
  asio::io_context io(1);
  run_bounded(io, body(&d, m), std::chrono::seconds(limit_s));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(multiplexed)
BOOST_AUTO_TEST_CASE(basics) { run_with_daemon(basics_body, {false}, 60); }
BOOST_AUTO_TEST_CASE(calls_5000_from_50_clients_over_4_connections) { run_with_daemon(many_body, {false}, 180); }
BOOST_AUTO_TEST_CASE(client_cancel_reaches_the_daemon) { run_with_daemon(cancel_body, {false}, 60); }
BOOST_AUTO_TEST_CASE(deadline_fires_within_budget) { run_with_daemon(deadline_body, {false}, 60); }
BOOST_AUTO_TEST_CASE(daemon_killed_then_restarted) { run_with_daemon(kill_body, {false}, 90); }
BOOST_AUTO_TEST_CASE(tool_list_refreshed_after_reconnect) { run_with_daemon(tools_refresh_body, {false}, 60); }
BOOST_AUTO_TEST_CASE(silent_daemon_dropped_by_keepalive_then_reconnected) {
  run_with_daemon(silent_daemon_body, {false}, 60);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(serial_compat_reference)
BOOST_AUTO_TEST_CASE(basics) { run_with_daemon(basics_body, {true}, 60); }
BOOST_AUTO_TEST_CASE(calls_5000_from_50_clients) { run_with_daemon(many_body, {true}, 240); }
BOOST_AUTO_TEST_CASE(client_cancel_completes_at_once_and_late_reply_is_dropped) {
  run_with_daemon(cancel_body, {true}, 60);
}
BOOST_AUTO_TEST_CASE(deadline_fires_within_budget) { run_with_daemon(deadline_body, {true}, 60); }
BOOST_AUTO_TEST_CASE(daemon_killed_then_restarted) { run_with_daemon(kill_body, {true}, 90); }
BOOST_AUTO_TEST_CASE(tool_list_refreshed_after_reconnect) { run_with_daemon(tools_refresh_body, {true}, 60); }
BOOST_AUTO_TEST_SUITE_END()
