// One connection's op logic on an io_context without sockets: texts in through async_deliver,
// frames out through async_next_outgoing (the two ends ws_server.cpp drives). Covers what loopback
// tests cannot observe directly: read back-pressure, and what happens on transport loss.
#define BOOST_TEST_MODULE daemon_component_connection
#include "daemon/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace exai::daemon;
using namespace std::chrono_literals;

namespace {

struct harness {
  // `reading` false: nothing takes the outgoing frames until start_reading() (a peer that does
  // not read).
  explicit harness(connection_settings s = {}, bool reading = true) : host(opts()) {
    conn = std::make_shared<op_connection>(ioc.get_executor(), host, s, "test-peer", "s-test");
    conn->start();
    if (reading) start_reading();
  }

  void start_reading() {
    asio::co_spawn(ioc, drain(conn, &out, &writer_done), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }

  // For a harness made with reading = false: reads what was queued, until `n` frames arrived (or
  // 10 s), then 200 ms more so that an unexpected extra frame shows; returns the text frames.
  std::vector<json::object> read_queued(std::size_t n) {
    start_reading();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < n && std::chrono::steady_clock::now() < end) run(std::chrono::milliseconds(20));
    run(std::chrono::milliseconds(200));
    return frames();
  }

  static tool_host::options opts() {
    tool_host::options o;
    o.profiles = {"core", "diagnostics"};
    return o;
  }

  static asio::awaitable<void> drain(std::shared_ptr<op_connection> c, std::vector<outgoing>* out, bool* done) {
    for (;;) {
      auto item = co_await c->async_next_outgoing();
      if (!item) break;
      const bool close = item->close.has_value();
      out->push_back(std::move(*item));
      if (close) break;  // the transport writes the close frame and stops (ws_server.cpp)
    }
    *done = true;
  }

  // Starts a delivery; the returned flag turns true when async_deliver completes.
  std::shared_ptr<bool> deliver(std::string text) {
    auto flag = std::make_shared<bool>(false);
    asio::co_spawn(ioc, conn->async_deliver(std::move(text)), [flag](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      *flag = true;
    });
    return flag;
  }

  void run(std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
  }

  std::vector<json::object> frames() const {
    std::vector<json::object> v;
    for (const auto& o : out)
      if (!o.close) v.push_back(json::parse(o.text).as_object());
    return v;
  }

  tool_host host;        // declared first: it must outlive the coroutines the io_context destroys
  asio::io_context ioc;
  std::shared_ptr<op_connection> conn;
  std::vector<outgoing> out;
  bool writer_done = false;
};

std::string call(std::string id, std::string name, std::string args) {
  return R"({"op":"call_tool","request_id":")" + id + R"(","name":")" + name + R"(","arguments":)" + args + "}";
}

}  // namespace

BOOST_AUTO_TEST_CASE(serial_queue_full_pauses_reading) {
  connection_settings s;
  s.session.max_inflight = 2;
  s.progress_interval = 0ms;
  harness h(s);
  h.deliver(R"({"op":"hello"})");
  h.run(20ms);
  h.deliver(call("slow", "delay", R"({"ms":300})"));
  h.run(20ms);  // the serial loop has taken it: the queue is empty again
  auto a = h.deliver(call("a", "echo", R"({"text":"a"})"));
  auto b = h.deliver(call("b", "echo", R"({"text":"b"})"));
  h.run(50ms);
  BOOST_TEST(*a);
  BOOST_TEST(!*b);  // two queued behind the running call: the reader waits
  h.run(1000ms);
  BOOST_TEST(*b);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 4u);  // ack + three results, in request order
  BOOST_TEST(f[1].at("request_id") == "slow");
  BOOST_TEST(f[2].at("request_id") == "a");
  BOOST_TEST(f[3].at("request_id") == "b");
}

BOOST_AUTO_TEST_CASE(transport_loss_cancels_running_calls) {
  harness h;
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true}})");
  h.run(20ms);
  h.deliver(call("x", "delay", R"({"ms":60000})"));
  h.deliver(call("y", "delay", R"({"ms":60000})"));
  h.run(50ms);
  BOOST_TEST(h.host.stats().in_flight == 2u);
  BOOST_TEST(h.host.stats().sessions == 1u);
  h.conn->on_transport_closed();
  h.run(200ms);
  auto st = h.host.stats();
  BOOST_TEST(st.in_flight == 0u);
  BOOST_TEST(st.cancelled == 2u);
  BOOST_TEST(st.sessions == 0u);
  BOOST_TEST(h.writer_done);
  BOOST_TEST(h.frames().size() == 1u);  // only the ack: nothing is sent after the loss
}

BOOST_AUTO_TEST_CASE(handshake_failure_queues_a_close_and_ignores_the_rest) {
  harness h;
  h.deliver("not json");
  h.deliver(R"({"op":"hello"})");
  h.run(50ms);
  BOOST_REQUIRE(h.out.size() == 1u);
  BOOST_REQUIRE(h.out[0].close.has_value());
  BOOST_TEST(static_cast<int>(*h.out[0].close) == 4000);
  BOOST_TEST(h.writer_done);
  BOOST_TEST(h.host.stats().sessions == 0u);
}

BOOST_AUTO_TEST_CASE(hello_timeout_queues_4002) {
  connection_settings s;
  s.hello_timeout = 50ms;
  harness h(s);
  h.run(300ms);
  BOOST_REQUIRE(h.out.size() == 1u);
  BOOST_REQUIRE(h.out[0].close.has_value());
  BOOST_TEST(static_cast<int>(*h.out[0].close) == 4002);
}

BOOST_AUTO_TEST_CASE(shutdown_refuses_new_calls_and_cancels_running_ones) {
  harness h;
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true}})");
  h.run(20ms);
  h.deliver(call("running", "delay", R"({"ms":60000})"));
  h.run(20ms);
  h.conn->begin_shutdown();
  h.deliver(call("new", "echo", R"({"text":"x"})"));
  h.run(20ms);
  BOOST_TEST(h.conn->calls_in_flight() == 1u);
  h.conn->cancel_calls();
  h.run(100ms);
  BOOST_TEST(h.conn->calls_in_flight() == 0u);
  h.conn->close(close_code::going_away, "bye");
  h.run(50ms);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 3u);
  BOOST_TEST(f[1].at("request_id") == "new");
  BOOST_TEST(f[1].at("error").as_object().at("code") == "SERVICE_UNAVAILABLE");
  BOOST_TEST(f[2].at("request_id") == "running");
  BOOST_TEST(f[2].at("error").as_object().at("code") == "SERVICE_UNAVAILABLE");
  BOOST_REQUIRE(h.out.back().close.has_value());
  BOOST_TEST(static_cast<int>(*h.out.back().close) == 1001);
}

BOOST_AUTO_TEST_CASE(call_deadline_is_a_timeout_error) {
  connection_settings s;
  s.call_timeout = 50ms;
  harness h(s);
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true}})");
  h.run(20ms);
  h.deliver(call("t", "delay", R"({"ms":60000})"));
  h.run(500ms);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 2u);
  BOOST_TEST(f[1].at("request_id") == "t");
  BOOST_TEST(f[1].at("error").as_object().at("code") == "TIMEOUT");
}

namespace {

// Runs the harness until `n` frames (the close included) have been taken, or `limit` passes.
void run_until_frames(harness& h, std::size_t n, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (h.out.size() < n && std::chrono::steady_clock::now() < end) h.run(20ms);
}

}  // namespace

BOOST_AUTO_TEST_CASE(large_results_do_not_hold_up_small_replies) {
  harness h;
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true}})");
  h.run(20ms);
  h.deliver(call("b1", "blob", R"({"bytes":16777216})"));
  h.deliver(call("b2", "blob", R"({"bytes":16777216})"));
  h.deliver(call("e", "echo", R"({"text":"quick"})"));
  run_until_frames(h, 4, 30'000ms);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 4u);
  // Built and encoded on the tool host's workers: the echo, sent last, is answered first.
  BOOST_TEST(f[1].at("request_id") == "e");
  for (std::size_t i = 2; i < 4; ++i) {
    BOOST_TEST(f[i].at("op") == "call_tool_res");
    const auto& text = f[i].at("outputs").as_array().at(0).as_object().at("text").as_string();
    BOOST_TEST(text.size() == 16777216u);
    BOOST_TEST(std::string(text.data(), 3) == "abc");
  }
}

BOOST_AUTO_TEST_CASE(a_large_result_keeps_its_turn_in_serial_mode) {
  connection_settings s;
  s.progress_interval = 0ms;
  harness h(s);
  h.deliver(R"({"op":"hello"})");
  h.run(20ms);
  h.deliver(call("big", "blob", R"({"bytes":1048576})"));
  h.deliver(R"({"op":"ping","request_id":"p"})");
  run_until_frames(h, 3, 30'000ms);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 3u);
  BOOST_TEST(f[1].at("request_id") == "big");  // replies in request order, as before encoding moved
  BOOST_TEST(f[1].at("outputs").as_array().at(0).as_object().at("text").as_string().size() == 1048576u);
  BOOST_TEST(f[2].at("op") == "pong");
}

BOOST_AUTO_TEST_CASE(a_cancel_while_a_large_result_is_built_sends_no_result) {
  harness h;
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true}})");
  h.run(20ms);
  h.deliver(call("big", "blob", R"({"bytes":67108864})"));
  h.run(5ms);  // building (or encoding) on a worker
  h.deliver(R"({"op":"cancel","request_id":"big"})");
  h.deliver(call("e", "echo", R"({"text":"x"})"));
  run_until_frames(h, 3, 10'000ms);
  h.run(2000ms);  // the blob, abandoned, would have been sent by now
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 3u);
  BOOST_TEST(f[1].at("op") == "cancelled");
  BOOST_TEST(f[2].at("request_id") == "e");
}

// A peer that asks for many CPU-bound results and does not read: the daemon builds only what
// fits under max_queued_bytes (plus one per CPU worker), not all of them; the rest start as the
// peer reads, and every call is still answered.
BOOST_AUTO_TEST_CASE(cpu_bound_calls_wait_while_unsent_results_are_over_the_bound) {
  connection_settings s;
  s.max_queued_bytes = 1024 * 1024;
  harness h(s, /*reading=*/false);
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true}})");
  for (int i = 0; i < 12; ++i) h.deliver(call("b" + std::to_string(i), "blob", R"({"bytes":600000})"));
  h.run(1500ms);
  auto st = h.host.stats();
  // Two results (1.2 MB) are over the 1 MiB bound; the two workers may have run one more each.
  BOOST_TEST(st.completed >= 2u);
  BOOST_TEST(st.completed <= 4u);
  BOOST_TEST(st.in_flight == 0u);  // the others wait at the gate, not on a worker

  h.start_reading();
  run_until_frames(h, 13, 30'000ms);
  auto f = h.frames();
  BOOST_REQUIRE(f.size() == 13u);  // hello_ack + twelve results
  for (std::size_t i = 1; i < f.size(); ++i) {
    BOOST_TEST(f[i].at("op") == "call_tool_res");
    BOOST_TEST(f[i].at("outputs").as_array().at(0).as_object().at("text").as_string().size() == 600000u);
  }
  BOOST_TEST(h.host.stats().completed == 12u);
}

// A call waiting at the gate is cancelled like a running one (acknowledged, never run), and one
// whose deadline passes there gets TIMEOUT.
BOOST_AUTO_TEST_CASE(a_call_waiting_at_the_cpu_gate_can_be_cancelled_or_time_out) {
  connection_settings s;
  s.max_queued_bytes = 1024 * 1024;
  s.call_timeout = 800ms;
  harness h(s, /*reading=*/false);
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true}})");
  h.deliver(call("b1", "blob", R"({"bytes":1200000})"));
  h.run(300ms);  // built and queued: the gate is shut
  h.deliver(call("w", "blob", R"({"bytes":10})"));
  h.deliver(call("t", "blob", R"({"bytes":10})"));
  h.run(50ms);
  h.deliver(R"({"op":"cancel","request_id":"w"})");
  h.run(1200ms);  // past t's deadline
  const auto completed = h.host.stats().completed;
  auto f = h.read_queued(4);
  BOOST_REQUIRE(f.size() == 4u);
  BOOST_TEST(f[1].at("request_id") == "b1");
  BOOST_TEST(f[2].at("op") == "cancelled");
  BOOST_TEST(f[2].at("request_id") == "w");
  BOOST_TEST(f[3].at("request_id") == "t");
  BOOST_TEST(f[3].at("error").as_object().at("code") == "TIMEOUT");
  BOOST_TEST(completed == 1u);  // only b1 ever ran
}

// A cancel that arrives after the call finished but before its result was written removes the
// result: the peer gets `cancelled` and no call_tool_res (exai-op-protocol.md section 4).
BOOST_AUTO_TEST_CASE(a_cancel_drops_a_result_still_waiting_to_be_written) {
  harness h({}, /*reading=*/false);
  h.deliver(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true}})");
  h.deliver(call("big", "blob", R"({"bytes":600000})"));
  h.deliver(call("small", "echo", R"({"text":"kept"})"));
  h.run(500ms);
  BOOST_TEST(h.host.stats().completed == 2u);  // both results wait for the writer
  h.deliver(R"({"op":"cancel","request_id":"big"})");
  h.run(20ms);
  auto f = h.read_queued(3);
  BOOST_REQUIRE(f.size() == 3u);
  BOOST_TEST(f[1].at("request_id") == "small");
  BOOST_TEST(f[1].at("op") == "call_tool_res");
  BOOST_TEST(f[2].at("op") == "cancelled");
  BOOST_TEST(f[2].at("request_id") == "big");
}
