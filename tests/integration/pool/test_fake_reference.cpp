// The daemon pool against exai-fake-reference-daemon, the test double of the reference daemon
// (issue 5, "Tests"): bare errors, stream_complete before the result, text-only progress, close
// 1008 beyond the per-address limit, rate-limit errors without request_id, a request that never
// gets a reply. The pool must answer every request and never hang.
#define BOOST_TEST_MODULE pool_fake_reference
#include "tests/integration/pool/harness.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

using namespace exai::gateway::pool;
using namespace exai::gateway::pool::itest;
using exai::codecs::errc;

namespace {

json::object text_arg(std::string t) {
  json::object a;
  a["text"] = std::move(t);
  return a;
}

asio::awaitable<json::object> fake_status(daemon_pool& pool) {
  auto r = co_await call(pool, "status", {}, ms(5000));
  if (!r) throw std::runtime_error("status failed: " + describe(r));
  co_return json::parse(text_of(*r)).as_object();
}

std::int64_t num(const json::object& o, const char* k) { return o.at(k).to_number<std::int64_t>(); }

// ---- quirks one by one ---------------------------------------------------------------------

asio::awaitable<void> quirks_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 2));
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready() && pool.snapshot().ready == 2; }, ms(10000)));
  BOOST_TEST(pool.snapshot().serial == 2u);  // no capabilities in the ack
  BOOST_TEST(pool.snapshot().multiplexed == 0u);

  auto tools = co_await pool.async_list_tools();
  BOOST_TEST_REQUIRE(tools.has_value());
  BOOST_TEST(tools->size() == 5u);

  // stream_complete comes first and is not the result.
  auto echo = co_await call(pool, "echo", text_arg("h\u00e9llo \"quoted\""), ms(5000));
  BOOST_TEST_REQUIRE(echo.has_value(), describe(echo));
  BOOST_TEST(text_of(*echo) == "h\u00e9llo \"quoted\"");  // \uXXXX escapes decoded

  // Bare errors (no op, no request_id) belong to the current call.
  auto unknown = co_await call(pool, "nope", {}, ms(5000));
  BOOST_TEST_REQUIRE(unknown.has_error(), describe(unknown));
  BOOST_TEST((unknown.error().code == errc::tool_not_found));
  BOOST_TEST(*unknown.error().upstream_code == "TOOL_NOT_FOUND");

  auto invalid = co_await call(pool, "echo", {}, ms(5000));
  BOOST_TEST_REQUIRE(invalid.has_error(), describe(invalid));
  BOOST_TEST((invalid.error().code == errc::invalid_params));

  json::object fa;
  fa["message"] = "kaboom";
  auto failed = co_await call(pool, "fail", fa, ms(5000));
  BOOST_TEST_REQUIRE(failed.has_value(), describe(failed));
  BOOST_TEST(failed->is_error);
  BOOST_TEST(text_of(*failed).find("kaboom") != std::string::npos);

  // A "status":"<tool>_failed" document in a successful result is a tool error for MCP clients.
  json::object fd;
  fd["message"] = "doc-failure";
  fd["document"] = true;
  auto doc = co_await call(pool, "fail", fd, ms(5000));
  BOOST_TEST_REQUIRE(doc.has_value(), describe(doc));
  BOOST_TEST(doc->is_error);
  BOOST_TEST(text_of(*doc).find("fail_failed") != std::string::npos);

  // After a failure the connection keeps working (the pool never reuses the failed id).
  auto again = co_await call(pool, "echo", text_arg("after-fail"), ms(5000));
  BOOST_TEST_REQUIRE(again.has_value(), describe(again));
  BOOST_TEST(text_of(*again) == "after-fail");

  // Text-only progress every 100 ms reaches the sink; the result is still the result.
  std::vector<exai::codecs::progress_update> updates;
  json::object da;
  da["ms"] = 450;
  auto delayed = co_await call(pool, "delay", da, ms(5000),
                               [&updates](const exai::codecs::progress_update& u) { updates.push_back(u); });
  BOOST_TEST_REQUIRE(delayed.has_value(), describe(delayed));
  BOOST_TEST(text_of(*delayed) == "waited 450 ms");
  BOOST_TEST(updates.size() >= 3u);
  for (const auto& u : updates) {
    BOOST_TEST(!u.progress.has_value());
    BOOST_TEST(u.message == "Tool execution in progress...");
  }
  const auto s = pool.snapshot();
  BOOST_TEST(s.late_replies_dropped == 0u);
  BOOST_TEST(s.in_flight == 0u);
  co_await pool.async_stop();
}

// ---- 1008 on connections beyond the per-address limit ----------------------------------------

asio::awaitable<void> refusal_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  daemon_pool pool(ex, test_options(d->port, 5));  // 5 wanted, the daemon allows 3
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until(
      [&] {
        auto s = pool.snapshot();
        return pool.ready() && s.ready == 3 && s.connecting == 0 && s.backoff == 0;
      },
      ms(10000)));
  fanout f(ex, 30);
  for (std::size_t i = 0; i < 30; ++i) {
    json::object a;
    a["ms"] = 50 + static_cast<std::int64_t>(i);
    f.launch(i, pool, "delay", std::move(a), ms(20000));
  }
  BOOST_TEST_REQUIRE(co_await f.wait_all(ms(25000)));
  for (std::size_t i = 0; i < 30; ++i) {
    const auto& r = *f.records()[i].result;
    BOOST_TEST_REQUIRE(r.has_value(), describe(r));
    BOOST_TEST(text_of(*r) == "waited " + std::to_string(50 + i) + " ms");
  }
  auto st = co_await fake_status(pool);
  BOOST_TEST(num(st, "refused_1008") >= 2);
  BOOST_TEST(num(st, "max_active") <= 3);
  BOOST_TEST(pool.snapshot().ready == 3u);
  co_await pool.async_stop();
}

// ---- rate limits: OVER_CAPACITY errors without request_id ------------------------------------

asio::awaitable<void> rate_limit_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  auto opts = test_options(d->port, 1);
  opts.max_serial_connections = 1;  // one session: its budget is the fake's session burst
  daemon_pool pool(ex, opts);
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(10000)));
  std::size_t ok = 0, over = 0, other = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string text = "rl-" + std::to_string(i);
    auto r = co_await call(pool, "echo", text_arg(text), ms(5000));
    if (r.has_value() && !r->is_error) {
      ++ok;
      BOOST_TEST(text_of(*r) == text);  // never another call's answer
    } else if (r.has_error() && r.error().code == errc::over_capacity) {
      ++over;
      BOOST_TEST(*r.error().upstream_code == "OVER_CAPACITY");
    } else {
      ++other;
      BOOST_TEST_MESSAGE("unexpected: " << describe(r));
    }
  }
  // Burst 3 with list_tools taking one token, refill 0.2/s: 2 (or 3) pass, the rest are refused.
  BOOST_TEST(ok >= 1u);
  BOOST_TEST(ok <= 3u);
  BOOST_TEST(over >= 5u);
  BOOST_TEST(other == 0u);
  BOOST_TEST(ok + over == 8u);
  BOOST_TEST(pool.snapshot().late_replies_dropped == 0u);
  co_await pool.async_stop();
}

// ---- a request that never gets a reply ---------------------------------------------------------

asio::awaitable<void> hang_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  auto opts = test_options(d->port, 1);
  opts.abandon_timeout = ms(400);
  daemon_pool pool(ex, opts);
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready() && pool.snapshot().ready == 1; }, ms(10000)));
  const auto reconnects_before = pool.snapshot().reconnects;

  const auto t0 = steady::now();
  auto hung = co_await call(pool, "hang", {}, ms(300));
  const auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  BOOST_TEST_REQUIRE(hung.has_error(), describe(hung));
  BOOST_TEST((hung.error().code == errc::timeout));
  BOOST_TEST(took < 300 + 250);
  // The only connection is now held by the abandoned call: a spare one is opened at once.
  BOOST_TEST(co_await wait_until([&] { return pool.snapshot().ready == 2; }, ms(2000)));

  // The stuck connection does not delay new calls: others serve them (growing if needed).
  fanout f(ex, 10);
  for (std::size_t i = 0; i < 10; ++i) {
    f.records()[i].expected_text = "next-" + std::to_string(i);
    f.launch(i, pool, "echo", text_arg("next-" + std::to_string(i)), ms(5000));
  }
  BOOST_TEST_REQUIRE(co_await f.wait_all(ms(6000)));
  for (auto& r : f.records()) {
    BOOST_TEST_REQUIRE(r.result->has_value(), describe(*r.result));
    BOOST_TEST(text_of(**r.result) == r.expected_text);
    BOOST_TEST(std::chrono::duration_cast<ms>(r.finished - r.started).count() < 1000);
  }
  // Bounded by abandon_timeout: the stuck connection is closed and replaced.
  BOOST_TEST(co_await wait_until([&] { return pool.snapshot().reconnects > reconnects_before; }, ms(3000)));
  BOOST_TEST(co_await wait_until([&] { return pool.snapshot().abandoned == 0; }, ms(3000)));
  auto st = co_await fake_status(pool);
  BOOST_TEST(num(st, "hung") == 1);
  co_await pool.async_stop();
}

// ---- a full queue is refused at once; queued calls wait for the replacement connection -------

asio::awaitable<void> queue_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  auto opts = test_options(d->port, 1);
  opts.max_serial_connections = 1;
  opts.queue_limit = 2;
  opts.abandon_timeout = ms(300);
  daemon_pool pool(ex, opts);
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(10000)));

  fanout f(ex, 4);
  f.launch(0, pool, "hang", {}, ms(500));
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.snapshot().in_flight == 1; }, ms(2000)));
  f.records()[1].expected_text = "q1";
  f.records()[2].expected_text = "q2";
  f.launch(1, pool, "echo", text_arg("q1"), ms(8000));
  f.launch(2, pool, "echo", text_arg("q2"), ms(8000));
  BOOST_TEST(pool.snapshot().queued == 2u);
  f.launch(3, pool, "echo", text_arg("q3"), ms(8000));
  co_await sleep_for(ms(20));
  // Over the limit: refused at once with OVER_CAPACITY, never left waiting.
  BOOST_TEST_REQUIRE(f.records()[3].result.has_value());
  BOOST_TEST_REQUIRE(f.records()[3].result->has_error());
  BOOST_TEST((f.records()[3].result->error().code == errc::over_capacity));
  BOOST_TEST(pool.snapshot().rejected == 1u);

  BOOST_TEST_REQUIRE(co_await f.wait_all(ms(8000)));
  BOOST_TEST((f.records()[0].result->error().code == errc::timeout));
  for (std::size_t i : {1u, 2u}) {
    const auto& r = *f.records()[i].result;
    BOOST_TEST_REQUIRE(r.has_value(), describe(r));
    BOOST_TEST(text_of(*r) == f.records()[i].expected_text);
  }
  co_await pool.async_stop();
}

// ---- every request answered under a mixed barrage, reference rate limits on ------------------

asio::awaitable<void> barrage_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  auto opts = test_options(d->port, 4);
  opts.abandon_timeout = ms(500);
  daemon_pool pool(ex, opts);
  pool.start();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(10000)));

  constexpr std::size_t n = 300;
  fanout f(ex, n);
  std::vector<ms> budgets(n);
  for (std::size_t i = 0; i < n; ++i) {
    json::object a;
    std::string tool;
    switch (i % 6) {
      case 0: tool = "echo"; a["text"] = "u-" + std::to_string(i); f.records()[i].expected_text = "u-" + std::to_string(i); break;
      case 1: tool = "echo"; a["text"] = "same"; f.records()[i].expected_text = "same"; break;  // cache hits
      case 2: tool = "fail"; a["message"] = "f" + std::to_string(i); break;
      case 3: tool = "missing_tool"; break;
      case 4: tool = "delay"; a["ms"] = 100 + static_cast<std::int64_t>(i % 200); break;
      case 5: tool = "hang"; break;
    }
    budgets[i] = i % 6 == 5 ? ms(400) : ms(6000);
    f.launch(i, pool, tool, std::move(a), budgets[i]);
    if (i % 20 == 19) co_await sleep_for(ms(10));
  }
  BOOST_TEST_REQUIRE(co_await f.wait_all(ms(15000)), f.pending() << " calls never answered");
  std::map<std::string, std::size_t> outcomes;
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = f.records()[i];
    BOOST_TEST_REQUIRE(r.result.has_value());
    const auto took = std::chrono::duration_cast<ms>(r.finished - r.started);
    BOOST_TEST(took.count() <= budgets[i].count() + 500, "call " << i << " took " << took.count() << " ms");
    const auto& res = *r.result;
    if (res.has_error()) {
      ++outcomes[std::string(exai::codecs::op_code(res.error().code))];
      if (i % 6 == 5) BOOST_TEST((res.error().code == errc::timeout));
      if (i % 6 == 3) BOOST_TEST((res.error().code == errc::tool_not_found || res.error().code == errc::over_capacity));
    } else {
      ++outcomes[res->is_error ? "tool_error" : "ok"];
      if (!r.expected_text.empty() && !res->is_error) BOOST_TEST(text_of(*res) == r.expected_text);
      if (i % 6 == 2) BOOST_TEST(res->is_error);
    }
  }
  for (const auto& [k, v] : outcomes) BOOST_TEST_MESSAGE("outcome " << k << ": " << v);
  BOOST_TEST(outcomes["ok"] > 0u);
  co_await pool.async_stop();
}

// ---- token ------------------------------------------------------------------------------------

asio::awaitable<void> token_body(peer* d) {
  auto ex = co_await asio::this_coro::executor;
  auto wrong = test_options(d->port, 1);
  wrong.token = "not-the-token";
  daemon_pool bad(ex, wrong);
  bad.start();
  co_await sleep_for(ms(500));
  BOOST_TEST(!bad.ready());
  BOOST_TEST(bad.snapshot().ready == 0u);
  auto r = co_await call(bad, "echo", text_arg("x"), ms(200));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::timeout));  // queued for a connection that never came
  co_await bad.async_stop();

  auto right = test_options(d->port, 1);
  right.token = "s3cret";
  daemon_pool good(ex, right);
  good.start();
  BOOST_TEST(co_await wait_until([&] { return good.ready(); }, ms(5000)));
  co_await good.async_stop();
}

void run_with_fake(asio::awaitable<void> (*body)(peer*), std::vector<std::string> flags, int limit_s) {
  peer d = start_fake_reference(std::move(flags));
  asio::io_context io(1);
  run_bounded(io, body(&d), std::chrono::seconds(limit_s));
}

}  // namespace

BOOST_AUTO_TEST_CASE(serial_mode_and_wire_quirks) {
  run_with_fake(quirks_body, {"--progress-interval-ms", "100", "--cache-ttl-ms", "0", "--no-rate-limit"}, 60);
}
BOOST_AUTO_TEST_CASE(close_1008_beyond_the_per_address_limit_caps_the_pool) {
  run_with_fake(refusal_body, {"--max-per-ip", "3", "--cache-ttl-ms", "0", "--no-rate-limit"}, 60);
}
BOOST_AUTO_TEST_CASE(rate_limit_errors_without_id_answer_the_current_call) {
  run_with_fake(rate_limit_body,
                {"--session-rate", "0.2", "--session-burst", "3", "--ip-rate", "1000", "--ip-burst", "1000",
                 "--global-rate", "1000", "--global-burst", "1000", "--cache-ttl-ms", "0"},
                60);
}
BOOST_AUTO_TEST_CASE(a_request_that_never_gets_a_reply_is_bounded) {
  run_with_fake(hang_body, {"--cache-ttl-ms", "0", "--no-rate-limit"}, 60);
}
BOOST_AUTO_TEST_CASE(full_queue_is_refused_at_once_and_queued_calls_survive_a_stuck_connection) {
  run_with_fake(queue_body, {"--cache-ttl-ms", "0", "--no-rate-limit"}, 60);
}
BOOST_AUTO_TEST_CASE(every_request_answered_under_a_mixed_barrage_with_reference_limits) {
  run_with_fake(barrage_body, {"--progress-interval-ms", "200"}, 90);
}
BOOST_AUTO_TEST_CASE(hello_token_checked) {
  run_with_fake(token_body, {"--token", "s3cret", "--no-rate-limit"}, 60);
}
