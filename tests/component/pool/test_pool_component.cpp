// Component tests of the daemon pool (issue 5) on in-memory transports: the test body plays the
// daemon message by message, so handshake fields, ids, loss, abandonment and retries are checked
// exactly, with no sockets.
#define BOOST_TEST_MODULE pool_component
#include "codecs/op.hpp"
#include "gateway/pool/daemon_pool.hpp"
#include "gateway/pool/ids.hpp"
#include "observability/log.hpp"
#include "tests/component/pool/memory_daemon.hpp"
#include "tests/support/coro.hpp"
#include "tests/support/tool_changes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

using namespace exai::gateway::pool;
using exai::test::tool_changes;
using namespace exai::gateway::pool::ctest;
using exai::codecs::errc;
using call_result = exai::codecs::result<exai::codecs::tool_result>;
using steady = std::chrono::steady_clock;
using exai::test::sleep_for;
using exai::test::wait_until;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

pool_options opts(std::size_t connections) {
  pool_options o;
  o.endpoints.push_back(endpoint{"memory", 1, "/"});
  o.connections_per_endpoint = connections;
  o.backoff_initial = ms(10);
  o.backoff_max = ms(50);
  o.hello_timeout = ms(200);
  o.abandon_timeout = ms(200);
  return o;
}

// One daemon handshake granting max_inflight, then the pool ready; a test failure otherwise.
asio::awaitable<std::optional<memory_daemon::session>> accept_until_ready(
    memory_daemon& d, daemon_pool& pool, std::uint32_t max_inflight) {
  auto s = co_await d.accept_ready(max_inflight);
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(1000)));
  co_return s;
}

void run(asio::awaitable<void> (*body)(), int limit_s = 20) {
  asio::io_context io(1);
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  const auto deadline = steady::now() + std::chrono::seconds(limit_s);
  while (!done && steady::now() < deadline) io.run_one_until(deadline);
  BOOST_TEST_REQUIRE(done, "test body did not finish in time");
  io.run_for(std::chrono::milliseconds(500));
  if (failure) std::rethrow_exception(failure);
}


// A call started in the background; its result lands in `out`.
asio::awaitable<void> background_call(daemon_pool* pool, std::string tool, json::object args, ms budget,
                                      std::optional<call_result>* out) {
  exai::routes::call_context ctx;
  ctx.deadline = steady::now() + budget;
  *out = co_await pool->async_call_tool(std::move(tool), std::move(args), std::move(ctx));
}

void start_call(asio::any_io_executor ex, daemon_pool& pool, std::string tool, json::object args, ms budget,
                std::optional<call_result>& out) {
  asio::co_spawn(ex, background_call(&pool, std::move(tool), std::move(args), budget, &out), asio::detached);
}

json::object result_for(const json::value& id, std::string text) {
  json::array outputs;
  outputs.push_back(json::object{{"type", "text"}, {"text", std::move(text)}});
  json::object o{{"op", "call_tool_res"}, {"outputs", std::move(outputs)}};
  o["request_id"] = id;
  return o;
}

std::string text_of(const call_result& r) {
  return std::string(r->content.at(0).as_object().at("text").as_string());
}

// ---- handshake ---------------------------------------------------------------------------

asio::awaitable<void> hello_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  auto o = opts(2);
  o.token = "tok-123";
  daemon_pool pool(ex, o, d.factory());
  pool.start();
  std::set<std::string> sessions;
  for (int i = 0; i < 2; ++i) {
    auto s = co_await d.accept_ready(8, i == 0);
    BOOST_TEST_REQUIRE(s.has_value());
    const auto& h = s->hello;
    BOOST_TEST(h.at("op").as_string() == "hello");
    BOOST_TEST(h.at("token").as_string() == "tok-123");
    const std::string sid(h.at("session_id").as_string());
    BOOST_TEST(exai::codecs::op::valid_session_id(sid), sid);
    sessions.insert(sid);
    const auto& caps = h.at("capabilities").as_object();
    BOOST_TEST(caps.at("multiplex").as_bool());
    BOOST_TEST(caps.at("cancel").as_bool());
    BOOST_TEST(caps.at("progress").as_bool());
  }
  BOOST_TEST(sessions.size() == 2u);  // unique per connection
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(1000)));
  co_await pool.async_stop();
}

asio::awaitable<void> rejected_hello_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  for (int i = 0; i < 3; ++i) {
    auto l = co_await d.accept();
    BOOST_TEST_REQUIRE(l != nullptr);
    auto hello = co_await memory_daemon::recv(l);
    BOOST_TEST_REQUIRE(hello.has_value());
    if (i == 0) {
      memory_daemon::send(l, json::object{{"op", "hello_ack"}, {"ok", false}, {"error", "unauthorized"}});
      l->close(4003);
    } else if (i == 1) {
      memory_daemon::send(l, json::object{{"op", "pong"}});  // not a hello_ack
    } else {
      // Silence: hello_timeout (200 ms) ends the attempt.
    }
  }
  auto l = co_await d.accept(ms(2000));
  BOOST_TEST_REQUIRE(l != nullptr, "no reconnect after a silent daemon");
  BOOST_TEST(!pool.ready());
  BOOST_TEST(pool.snapshot().reconnects >= 3u);
  co_await pool.async_stop();
}

// ---- multiplexed correlation -------------------------------------------------------------

asio::awaitable<void> ids_and_order_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 16);

  constexpr int n = 10;
  std::vector<std::optional<call_result>> out(n);
  for (int i = 0; i < n; ++i) start_call(ex, pool, "echo", json::object{{"text", std::to_string(i)}}, ms(5000), out[i]);
  std::vector<json::object> reqs;
  std::set<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto m = co_await memory_daemon::recv(s->link);
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST(m->at("op").as_string() == "call_tool");
    const std::string id(m->at("request_id").as_string());
    BOOST_TEST(is_uuid_v4(id), id);
    ids.insert(id);
    reqs.push_back(*m);
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(n));  // never reused
  // Noise first: an unknown id, an id-less result, a stream_complete; then replies in reverse.
  memory_daemon::send(s->link, result_for("not-ours", "x"));
  memory_daemon::send(s->link, json::object{{"op", "call_tool_res"}, {"outputs", json::array{}}});
  memory_daemon::send(s->link, json::object{{"op", "stream_complete"}, {"request_id", reqs[0].at("request_id")}});
  for (int i = n - 1; i >= 0; --i) {
    const auto& args = reqs[i].at("arguments").as_object();
    memory_daemon::send(s->link, result_for(reqs[i].at("request_id"), std::string(args.at("text").as_string())));
  }
  BOOST_TEST_REQUIRE(co_await wait_until([&] {
    for (auto& o : out) if (!o) return false;
    return true;
  }, ms(2000)));
  for (int i = 0; i < n; ++i) {
    BOOST_TEST_REQUIRE(out[i]->has_value());
    BOOST_TEST(text_of(*out[i]) == std::to_string(i));
  }
  BOOST_TEST(pool.snapshot().late_replies_dropped == 2u);  // the unknown and the id-less reply
  co_await pool.async_stop();
}

asio::awaitable<void> abandon_expiry_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 1);  // max_inflight 1

  std::optional<call_result> first, second;
  start_call(ex, pool, "echo", json::object{{"text", "a"}}, ms(100), first);
  auto req = co_await memory_daemon::recv(s->link);
  BOOST_TEST_REQUIRE(req.has_value());
  // Deadline: the pool tells the daemon with `cancel` for exactly that id.
  auto cancel = co_await memory_daemon::recv(s->link, ms(1000));
  BOOST_TEST_REQUIRE(cancel.has_value());
  BOOST_TEST(cancel->at("op").as_string() == "cancel");
  BOOST_TEST(cancel->at("request_id") == req->at("request_id"));
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST((first->error().code == errc::timeout));

  // The daemon never confirms: the slot stays taken (max_inflight 1) until abandon_timeout.
  start_call(ex, pool, "echo", json::object{{"text", "b"}}, ms(3000), second);
  co_await sleep_for(ms(50));
  BOOST_TEST(pool.snapshot().queued == 1u);
  auto next = co_await memory_daemon::recv(s->link, ms(1500));
  BOOST_TEST_REQUIRE(next.has_value(), "the abandoned slot was never freed");
  BOOST_TEST(pool.snapshot().abandoned == 0u);
  memory_daemon::send(s->link, result_for(next->at("request_id"), "b"));
  // A late reply for the expired entry is unknown by now: counted and dropped.
  memory_daemon::send(s->link, result_for(req->at("request_id"), "late"));
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return second.has_value(); }, ms(1000)));
  BOOST_TEST(text_of(*second) == "b");
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.snapshot().late_replies_dropped == 1; }, ms(1000)));
  co_await pool.async_stop();
}

asio::awaitable<void> daemon_side_outcomes_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 8);

  std::optional<call_result> a, b, c;
  std::vector<exai::codecs::progress_update> updates;
  exai::routes::call_context ctx;
  start_call(ex, pool, "x", {}, ms(5000), a);
  start_call(ex, pool, "y", {}, ms(5000), b);
  start_call(ex, pool, "z", {}, ms(5000), c);
  auto ra = co_await memory_daemon::recv(s->link);
  auto rb = co_await memory_daemon::recv(s->link);
  auto rc = co_await memory_daemon::recv(s->link);
  BOOST_TEST_REQUIRE((ra && rb && rc));
  memory_daemon::send(s->link, json::object{{"op", "cancelled"}, {"request_id", ra->at("request_id")}});
  json::object over{{"op", "call_tool_res"},
                    {"error", json::object{{"code", "OVER_CAPACITY"}, {"message", "max_inflight"}}}};
  over["request_id"] = rb->at("request_id");
  memory_daemon::send(s->link, over);
  json::object rich{{"op", "call_tool_res"}, {"is_error", true}, {"structured", json::object{{"k", 1}}}};
  rich["request_id"] = rc->at("request_id");
  rich["outputs"] = json::array{json::object{{"type", "text"}, {"text", "bad"}}};
  memory_daemon::send(s->link, rich);
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return a && b && c; }, ms(1000)));
  BOOST_TEST((a->error().code == errc::cancelled));
  BOOST_TEST((b->error().code == errc::over_capacity));
  BOOST_TEST_REQUIRE(c->has_value());
  BOOST_TEST((*c)->is_error);
  BOOST_TEST((*c)->structured->at("k").as_int64() == 1);
  co_await pool.async_stop();
}

// ---- serial: call_tool_ack does not extend our deadline ------------------------------------

asio::awaitable<void> call_tool_ack_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 0);  // reference ack: serial
  BOOST_TEST(pool.snapshot().serial == 1u);
  std::optional<call_result> r;
  const auto t0 = steady::now();
  start_call(ex, pool, "slow", {}, ms(200), r);
  auto req = co_await memory_daemon::recv(s->link);
  BOOST_TEST_REQUIRE(req.has_value());
  json::object ack{{"op", "call_tool_ack"}, {"timeout", 900}};
  ack["request_id"] = req->at("request_id");
  memory_daemon::send(s->link, ack);
  memory_daemon::send(s->link, json::object{{"op", "progress"}, {"message", "Tool execution in progress..."}});
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return r.has_value(); }, ms(2000)));
  BOOST_TEST((r->error().code == errc::timeout));
  BOOST_TEST(std::chrono::duration_cast<ms>(steady::now() - t0).count() < 200 + 250);
  co_await pool.async_stop();
}

// ---- loss: sent calls fail at once, queued ones wait; nothing is resent ---------------------

asio::awaitable<void> loss_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 1);

  std::optional<call_result> sent, queued;
  start_call(ex, pool, "echo", json::object{{"text", "sent"}}, ms(5000), sent);
  auto req = co_await memory_daemon::recv(s->link);
  BOOST_TEST_REQUIRE(req.has_value());
  start_call(ex, pool, "echo", json::object{{"text", "queued"}}, ms(5000), queued);
  co_await sleep_for(ms(20));
  BOOST_TEST(pool.snapshot().queued == 1u);

  const auto t0 = steady::now();
  s->link->close();  // the daemon goes away
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return sent.has_value(); }, ms(1000)));
  BOOST_TEST((sent->error().code == errc::upstream_lost));
  BOOST_TEST(sent->error().message == "daemon connection lost");
  BOOST_TEST(std::chrono::duration_cast<ms>(steady::now() - t0).count() < 100);
  BOOST_TEST(!queued.has_value());  // still waiting for a reconnect

  auto s2 = co_await d.accept_ready(1);
  BOOST_TEST_REQUIRE(s2.has_value());
  auto req2 = co_await memory_daemon::recv(s2->link);
  BOOST_TEST_REQUIRE(req2.has_value());
  BOOST_TEST(req2->at("arguments").at("text").as_string() == "queued");  // never the lost one
  BOOST_TEST(req2->at("request_id") != req->at("request_id"));
  memory_daemon::send(s2->link, result_for(req2->at("request_id"), "queued"));
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return queued.has_value(); }, ms(1000)));
  BOOST_TEST(text_of(*queued) == "queued");
  auto extra = co_await memory_daemon::recv(s2->link, ms(200));
  BOOST_TEST(!extra.has_value(), "the failed call was retried silently");
  co_await pool.async_stop();
}

// ---- the tool list: retried after a failure, refreshed after a reconnect ------------------

asio::awaitable<void> tool_list_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  auto o = opts(1);
  // async_list_tools waits this long for a first list before it answers unavailable.
  o.unreachable_wait = ms(100);
  daemon_pool pool(ex, o, d.factory());
  tool_changes watched(pool, ex);
  pool.start();
  auto l = co_await d.accept();
  BOOST_TEST_REQUIRE(l != nullptr);
  auto hello = co_await memory_daemon::recv(l);
  memory_daemon::send(l, json::object{{"op", "hello_ack"}, {"ok", true}});
  auto list = co_await memory_daemon::recv(l);
  BOOST_TEST_REQUIRE(list.has_value());
  json::object err{{"op", "error"}, {"error", json::object{{"code", "INTERNAL_ERROR"}, {"message", "not now"}}}};
  memory_daemon::send(l, err);  // id-less, serial: the list request's answer
  co_await sleep_for(ms(50));
  BOOST_TEST(!pool.ready());
  auto unavailable = co_await pool.async_list_tools();
  BOOST_TEST_REQUIRE(unavailable.has_error());
  BOOST_TEST((unavailable.error().code == errc::backend_unavailable));
  auto again = co_await memory_daemon::recv(l, ms(2000));  // retried by housekeeping
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->at("op").as_string() == "list_tools");
  BOOST_TEST(again->at("request_id") != list->at("request_id"));
  auto res = echo_tool_list();  // old daemons omit request_id
  memory_daemon::send(l, res);
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return pool.ready(); }, ms(1000)));
  // The watcher hears of the load on a later turn than the pool makes it.
  BOOST_TEST(co_await wait_until([&] { return watched.count() == 1; }, ms(1000)));

  // Reconnect: fetched again; a different list is announced.
  l->close();
  auto l2 = co_await d.accept();
  BOOST_TEST_REQUIRE(l2 != nullptr);
  co_await memory_daemon::recv(l2);
  memory_daemon::send(l2, json::object{{"op", "hello_ack"}, {"ok", true}});
  auto list2 = co_await memory_daemon::recv(l2);
  BOOST_TEST_REQUIRE(list2.has_value());
  auto res2 = echo_tool_list();
  res2["tools"].as_array().push_back(json::object{{"name", "second"}, {"inputSchema", json::object{{"type", "object"}}}});
  res2["request_id"] = list2->at("request_id");
  memory_daemon::send(l2, res2);
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return watched.count() == 2; }, ms(1000)));
  auto tools = co_await pool.async_list_tools();
  BOOST_TEST_REQUIRE(tools.has_value());
  BOOST_TEST(tools->size() == 2u);
  co_await pool.async_stop();
}

// ---- queue admission and shutdown ------------------------------------------------------------

asio::awaitable<void> shutdown_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  auto o = opts(1);
  o.queue_limit = 1;
  daemon_pool pool(ex, o, d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 1);
  std::optional<call_result> a, b, c;
  start_call(ex, pool, "echo", {}, ms(5000), a);
  start_call(ex, pool, "echo", {}, ms(5000), b);
  start_call(ex, pool, "echo", {}, ms(5000), c);
  co_await sleep_for(ms(20));
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST((c->error().code == errc::over_capacity));
  co_await pool.async_stop();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return a && b; }, ms(1000)));
  BOOST_TEST((a->error().code == errc::shutting_down));
  BOOST_TEST((b->error().code == errc::shutting_down));
  BOOST_TEST(!pool.ready());
}

// ---- per-call log records (issue 6) ---------------------------------------------------------

// The debug "call" records the pool wrote, by upstream request_id.
std::map<std::string, json::object> call_records(const exai::obs::capture& cap) {
  std::map<std::string, json::object> out;
  for (const auto& line : cap.lines()) {
    auto v = json::parse(line).as_object();
    if (v.at("channel").as_string() != "pool" || v.at("msg").as_string() != "call") continue;
    out[std::string(v.at("request_id").as_string())] = v;
  }
  return out;
}

// A call as the gateway's session makes it: with the session and client id for the logs, and an
// argument that must never reach a log record.
asio::awaitable<void> call_with_ids(daemon_pool* pool, std::string client, std::string tool, ms budget,
                                    std::optional<call_result>* out) {
  exai::routes::call_context ctx;
  ctx.deadline = steady::now() + budget;
  ctx.session = "gw-log-test";
  ctx.client_id = std::move(client);
  json::object args;
  args["text"] = "do-not-log";
  *out = co_await pool->async_call_tool(std::move(tool), std::move(args), std::move(ctx));
}

asio::awaitable<void> call_log_body() {
  auto ex = co_await asio::this_coro::executor;
  memory_daemon d(ex);
  daemon_pool pool(ex, opts(1), d.factory());
  pool.start();
  auto s = co_await accept_until_ready(d, pool, 8);

  exai::obs::capture cap;
  std::optional<call_result> ok, failed, late, lost;
  auto call_as = [&](std::string client, std::string tool, ms budget, std::optional<call_result>& out) {
    asio::co_spawn(ex, call_with_ids(&pool, std::move(client), std::move(tool), budget, &out),
                   asio::detached);
  };
  call_as("ji:1", "echo", ms(5000), ok);
  call_as("js:two", "fails", ms(5000), failed);
  call_as("oi:3", "slow", ms(100), late);
  std::map<std::string, std::string> id_of;  // tool -> upstream request_id
  for (int i = 0; i < 3; ++i) {
    auto m = co_await memory_daemon::recv(s->link);
    BOOST_TEST_REQUIRE(m.has_value());
    id_of[std::string(m->at("name").as_string())] = std::string(m->at("request_id").as_string());
  }
  memory_daemon::send(s->link, result_for(json::value(id_of["echo"]), "fine"));
  json::object bad{{"op", "call_tool_res"}, {"is_error", true},
                   {"outputs", json::array{json::object{{"type", "text"}, {"text", "no"}}}}};
  bad["request_id"] = id_of["fails"];
  memory_daemon::send(s->link, bad);
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return ok && failed && late; }, ms(2000)));
  call_as("ji:4", "echo", ms(5000), lost);
  std::optional<json::object> m;
  for (int i = 0; i < 3; ++i) {  // skip the cancel sent for "slow"
    m = co_await memory_daemon::recv(s->link);
    BOOST_TEST_REQUIRE(m.has_value());
    if (m->at("op").as_string() == "call_tool") break;
  }
  BOOST_TEST_REQUIRE(m->at("op").as_string() == "call_tool");
  id_of["lost"] = std::string(m->at("request_id").as_string());
  s->link->close();
  BOOST_TEST_REQUIRE(co_await wait_until([&] { return lost.has_value(); }, ms(2000)));

  auto records = call_records(cap);
  struct expect { std::string id, client, tool, outcome; };
  for (const auto& e : {expect{id_of["echo"], "ji:1", "echo", "ok"},
                        expect{id_of["fails"], "js:two", "fails", "error"},
                        expect{id_of["slow"], "oi:3", "slow", "timeout"},
                        expect{id_of["lost"], "ji:4", "echo", "lost"}}) {
    BOOST_TEST_CONTEXT("call " << e.tool << " expecting " << e.outcome) {
      BOOST_TEST(is_uuid_v4(e.id), e.id);
      BOOST_TEST_REQUIRE(records.count(e.id) == 1u);
      const auto& r = records[e.id];
      BOOST_TEST(r.at("level").as_string() == "debug");
      BOOST_TEST(r.at("session").as_string() == "gw-log-test");
      BOOST_TEST(r.at("client_id") == json::value(e.client));
      BOOST_TEST(r.at("tool") == json::value(e.tool));
      BOOST_TEST(r.at("outcome") == json::value(e.outcome));
      BOOST_TEST(r.at("conn").as_string() == "ep0/c0");
      BOOST_TEST(r.at("latency_ms").is_number());
      BOOST_TEST(r.at("latency_ms").to_number<double>() >= 0.0);
    }
  }
  for (const auto& line : cap.lines()) BOOST_TEST(line.find("do-not-log") == std::string::npos, line);
  co_await pool.async_stop();
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_call_leaves_a_debug_record_with_its_request_fields) {
  const auto before = exai::obs::enabled(exai::obs::level::debug);
  exai::obs::set_level(exai::obs::level::debug);
  run(call_log_body);
  if (!before) exai::obs::set_level(exai::obs::level::info);
}

BOOST_AUTO_TEST_CASE(hello_carries_token_unique_session_ids_and_capabilities) { run(hello_body); }
BOOST_AUTO_TEST_CASE(rejected_garbled_or_silent_hello_reconnects) { run(rejected_hello_body); }
BOOST_AUTO_TEST_CASE(fresh_uuid_ids_and_out_of_order_replies) { run(ids_and_order_body); }
BOOST_AUTO_TEST_CASE(unconfirmed_cancel_frees_the_slot_after_abandon_timeout) { run(abandon_expiry_body); }
BOOST_AUTO_TEST_CASE(daemon_cancelled_over_capacity_and_rich_results) { run(daemon_side_outcomes_body); }
BOOST_AUTO_TEST_CASE(call_tool_ack_extends_nothing_beyond_our_deadline) { run(call_tool_ack_body); }
BOOST_AUTO_TEST_CASE(loss_fails_sent_calls_at_once_and_queued_calls_wait) { run(loss_body); }
BOOST_AUTO_TEST_CASE(tool_list_retried_and_refreshed_after_reconnect) { run(tool_list_body); }
BOOST_AUTO_TEST_CASE(full_queue_rejected_and_shutdown_fails_pending) { run(shutdown_body); }
