// The real exai-gateway on its WebSocket port (issue 4 "Transports", issue 6 "Lifecycle"): MCP
// and op clients side by side, colliding ids across 20 clients, upgrade policy (subprotocol,
// Origin, token), busy port, admin endpoints, SIGTERM with calls in flight.
#define BOOST_TEST_MODULE gateway_ws_integration
#include "gateway_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <map>
#include <fstream>
#include <set>
#include <thread>

using namespace exai::test;

namespace {

json::object op(std::string_view name, std::string_view request_id = {}) {
  json::object o;
  o["op"] = name;
  if (!request_id.empty()) o["request_id"] = request_id;
  return o;
}

ws_options mcp_options() {
  ws_options o;
  o.subprotocol = "mcp";
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mcp_and_op_clients_share_the_port) {
  ws_gateway g;
  ws_client mcp("127.0.0.1", g.ws_port(), mcp_options());
  BOOST_TEST(mcp.handshake_status() == 101);
  BOOST_TEST(mcp.response_header("Sec-WebSocket-Protocol") == "mcp");
  ws_client opc("127.0.0.1", g.ws_port());  // no subprotocol offered: tolerated
  BOOST_TEST(opc.handshake_status() == 101);
  BOOST_TEST(opc.response_header("Sec-WebSocket-Protocol").empty());

  mcp.send_json(initialize_request(1));
  auto init = mcp.read_json();
  BOOST_TEST(init.at("result").at("serverInfo").at("name").as_string() == "exai-gateway");

  auto hello = op("hello");
  hello["session_id"] = "op-client-1";
  opc.send_json(hello);
  auto ack = opc.read_json();
  BOOST_TEST(ack.at("op").as_string() == "hello_ack");
  BOOST_TEST(ack.at("ok").as_bool());

  // Interleaved: each sees only its own dialect and ids.
  auto call = op("call_tool", "same-id");
  call["name"] = "echo";
  call["arguments"] = json::object{{"text", "for op"}};
  opc.send_json(call);
  mcp.send_json(tool_call("same-id", "echo", {{"text", "for mcp"}}));
  auto op_res = opc.read_json();
  auto mcp_res = mcp.read_json();
  BOOST_TEST(op_res.at("op").as_string() == "call_tool_res");
  BOOST_TEST(op_res.at("request_id").as_string() == "same-id");
  BOOST_TEST(op_res.at("outputs").at(0).at("text").as_string() == "for op");
  BOOST_TEST(mcp_res.at("id").as_string() == "same-id");
  BOOST_TEST(result_text(mcp_res) == "for mcp");

  opc.send_json(op("list_tools", "l1"));
  auto list = opc.read_json();
  BOOST_TEST(list.at("op").as_string() == "list_tools_res");
  BOOST_TEST(list.at("tools").as_array().size() >= 7u);

  // Op cancel: `cancelled`, and no call_tool_res for that id.
  auto slow = op("call_tool", "slow-1");
  slow["name"] = "delay";
  slow["arguments"] = json::object{{"ms", 5000}};
  opc.send_json(slow);
  opc.send_json(op("cancel", "slow-1"));
  auto cancelled = opc.read_json();
  BOOST_TEST(cancelled.at("op").as_string() == "cancelled");
  BOOST_TEST(cancelled.at("request_id").as_string() == "slow-1");
  opc.send_json(op("ping", "after"));
  auto pong = opc.read_json();
  BOOST_TEST(pong.at("op").as_string() == "pong");
  BOOST_TEST(pong.at("request_id").as_string() == "after");
}

BOOST_AUTO_TEST_CASE(twenty_clients_with_colliding_ids_get_exactly_their_own_answers) {
  ws_gateway g;
  constexpr int clients = 20, per_client = 25;
  std::vector<std::unique_ptr<ws_client>> conns;
  for (int c = 0; c < clients; ++c) {
    conns.push_back(std::make_unique<ws_client>("127.0.0.1", g.ws_port(), mcp_options()));
    conns.back()->send_json(initialize_request(0));
  }
  for (int c = 0; c < clients; ++c) BOOST_TEST(conns[c]->read_json().at("id").as_int64() == 0);
  // Everything is sent before anything is read: 500 calls outstanding at once. Every client uses
  // ids 1..25; a few calls are slow so answers come back out of order.
  for (int c = 0; c < clients; ++c) {
    for (int id = 1; id <= per_client; ++id) {
      std::string text = "client " + std::to_string(c) + " id " + std::to_string(id);
      if (id % 5 == 0) {
        conns[c]->send_json(tool_call(id, "delay", {{"ms", 50 + c}}));
      } else {
        conns[c]->send_json(tool_call(id, "echo", {{"text", text}}));
      }
    }
  }
  for (int c = 0; c < clients; ++c) {
    std::set<std::int64_t> seen;
    for (int n = 0; n < per_client; ++n) {
      auto r = conns[c]->read_json(20s);
      const auto id = r.at("id").as_int64();
      BOOST_TEST(seen.insert(id).second, "duplicate answer for id " << id);
      if (id % 5 == 0) {
        BOOST_TEST(result_text(r) == "waited " + std::to_string(50 + c) + " ms");
      } else {
        BOOST_TEST(result_text(r) == "client " + std::to_string(c) + " id " + std::to_string(id));
      }
    }
    BOOST_TEST(seen.size() == static_cast<std::size_t>(per_client));
    BOOST_TEST(!conns[c]->read(100ms).has_value());  // nothing extra
  }
}

BOOST_AUTO_TEST_CASE(upgrade_policy_origin_and_plain_http) {
  ws_gateway g;
  ws_options evil = mcp_options();
  evil.headers = {{"Origin", "https://evil.example"}};
  evil.expect_failure = true;
  ws_client refused("127.0.0.1", g.ws_port(), evil);
  BOOST_TEST(refused.handshake_status() == 403);

  ws_options local = mcp_options();
  local.headers = {{"Origin", "http://localhost:5173"}};
  ws_client allowed("127.0.0.1", g.ws_port(), local);
  BOOST_TEST(allowed.handshake_status() == 101);

  // A plain request is HTTP for the MCP server on the same port: "/" is no endpoint of it.
  auto plain = http_get("127.0.0.1", g.ws_port(), "/");
  BOOST_TEST(plain.status == 404);
}

BOOST_AUTO_TEST_CASE(client_token_bearer_for_mcp_and_hello_for_op) {
  ws_gateway g({}, {"EXAI_GATEWAY_TOKEN=tok-123"});
  ws_options none = mcp_options();
  none.expect_failure = true;
  ws_client no_token("127.0.0.1", g.ws_port(), none);
  BOOST_TEST(no_token.handshake_status() == 401);

  ws_options wrong = mcp_options();
  wrong.headers = {{"Authorization", "Bearer nope"}};
  wrong.expect_failure = true;
  ws_client bad("127.0.0.1", g.ws_port(), wrong);
  BOOST_TEST(bad.handshake_status() == 401);

  ws_options right = mcp_options();
  right.headers = {{"Authorization", "Bearer tok-123"}};
  ws_client good("127.0.0.1", g.ws_port(), right);
  BOOST_TEST(good.handshake_status() == 101);
  good.send_json(rpc(1, "ping"));
  BOOST_TEST(good.read_json().at("id").as_int64() == 1);

  ws_client op_bad("127.0.0.1", g.ws_port());
  auto hello = op("hello");
  hello["token"] = "nope";
  op_bad.send_json(hello);
  auto nack = op_bad.read_json();
  BOOST_TEST(!nack.at("ok").as_bool());
  BOOST_TEST(nack.at("error").as_string() == "unauthorized");
  BOOST_TEST(!op_bad.read(3s).has_value());
  BOOST_TEST(op_bad.close_code() == 4003);

  ws_client op_good("127.0.0.1", g.ws_port());
  hello["token"] = "tok-123";
  op_good.send_json(hello);
  BOOST_TEST(op_good.read_json().at("ok").as_bool());
  op_good.send_json(op("ping", "p"));
  BOOST_TEST(op_good.read_json().at("op").as_string() == "pong");

  // The token never reaches the logs.
  BOOST_TEST(g.proc->stderr_text().find("tok-123") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(busy_port_is_exit_1_with_a_message_naming_the_port) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor holder(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = holder.local_endpoint().port();
  auto p = child_process::start({gateway_bin(), "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--admin", "off"});
  auto rc = p.wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 1);
  const auto err = p.stderr_text();
  BOOST_TEST(err.find(std::to_string(port)) != std::string::npos, err);
  BOOST_TEST(err.find("in use") != std::string::npos, err);
  BOOST_TEST(holder.is_open());  // the other process's socket is untouched
}

BOOST_AUTO_TEST_CASE(bad_config_key_is_named) {
  const auto path = temp_path("gw-conf") + ".json";
  {
    std::ofstream f(path);
    f << R"({"tools":{"call_timeout_ms":1000,"timeout_ms":{"x":1}}})";
  }
  auto p = child_process::start({gateway_bin(), "--config", path, "--listen", "127.0.0.1:0"});
  auto rc = p.wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 2);
  BOOST_TEST(p.stderr_text().find("tools.timeout_ms") != std::string::npos, p.stderr_text());
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(print_config_redacts_tokens) {
  auto p = child_process::start({gateway_bin(), "--print-config", "--listen", "127.0.0.1:0"},
                                {"EXAI_GATEWAY_TOKEN=client-secret", "EXAI_WS_TOKEN=daemon-secret"});
  auto rc = p.wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  const auto out = p.stderr_text();  // stdout is captured with stderr when not piped
  BOOST_TEST(out.find("client-secret") == std::string::npos);
  BOOST_TEST(out.find("daemon-secret") == std::string::npos);
  BOOST_TEST(out.find("<redacted>") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(admin_health_ready_and_metrics_move_with_traffic) {
  ws_gateway g;
  auto health = http_get("127.0.0.1", g.admin_port(), "/health");
  BOOST_TEST(health.status == 200);
  auto ready = http_get("127.0.0.1", g.admin_port(), "/ready");
  BOOST_TEST(ready.status == 200);
  ws_client c("127.0.0.1", g.ws_port(), mcp_options());
  for (int i = 0; i < 5; ++i) {
    c.send_json(tool_call(i, "echo", {{"text", "m"}}));
    c.read_json();
  }
  auto metrics = http_get("127.0.0.1", g.admin_port(), "/metrics");
  BOOST_TEST(metrics.status == 200);
  const std::string want =
      R"(exai_requests_total{method="tools/call",tool="echo",outcome="ok"} 5)";
  BOOST_TEST(metrics.body.find(want) != std::string::npos, metrics.body.substr(0, 3000));
  BOOST_TEST(metrics.body.find("exai_sessions{transport=\"ws\",dialect=\"mcp\"} 1") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigterm_with_100_calls_in_flight_answers_all_and_exits_zero) {
  ws_gateway g;
  ws_client c("127.0.0.1", g.ws_port(), mcp_options());
  for (int i = 0; i < 100; ++i) c.send_json(tool_call(i, "delay", {{"ms", 1500}}));
  // The calls are running once a ping sent after them is answered.
  c.send_json(rpc("probe", "ping"));
  BOOST_TEST(c.read_json().at("id").as_string() == "probe");
  const auto t0 = std::chrono::steady_clock::now();
  g.proc->signal(SIGTERM);
  std::set<std::int64_t> answered;
  for (int i = 0; i < 100; ++i) {
    auto r = c.read_json(15s);
    BOOST_TEST(result_text(r) == "waited 1500 ms");
    answered.insert(r.at("id").as_int64());
  }
  BOOST_TEST(answered.size() == 100u);
  auto rc = g.proc->wait_exit(15s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
  // Well within the 10 s default grace: the process left once the calls were done.
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 9s));
  // No new connections once stopping.
  ws_options o = mcp_options();
  o.expect_failure = true;
  BOOST_CHECK_THROW(ws_client("127.0.0.1", g.ws_port(), o), std::exception);
}

BOOST_AUTO_TEST_CASE(sigterm_past_the_grace_cancels_and_answers_then_exits_zero) {
  ws_gateway g({"--shutdown-grace-ms", "300"});
  ws_client c("127.0.0.1", g.ws_port(), mcp_options());
  for (int i = 0; i < 10; ++i) c.send_json(tool_call(i, "delay", {{"ms", 60000}}));
  c.send_json(rpc("probe", "ping"));
  c.read_json();
  g.proc->signal(SIGTERM);
  for (int i = 0; i < 10; ++i) {
    auto r = c.read_json(10s);
    BOOST_TEST(r.at("error").at("code").as_int64() == -32603);
  }
  auto rc = g.proc->wait_exit(10s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0);
}

BOOST_AUTO_TEST_CASE(a_second_signal_exits_at_once) {
  ws_gateway g;
  ws_client c("127.0.0.1", g.ws_port(), mcp_options());
  c.send_json(tool_call(1, "delay", {{"ms", 60000}}));
  c.send_json(rpc("probe", "ping"));
  c.read_json();
  g.proc->signal(SIGTERM);
  std::this_thread::sleep_for(200ms);
  g.proc->signal(SIGTERM);
  auto rc = g.proc->wait_exit(3s);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 128 + SIGTERM);
}

// Limits from the config file: connections, message size, idle timeout with keep-alive pings.
BOOST_AUTO_TEST_CASE(connection_message_and_idle_limits) {
  const auto path = temp_path("gw-limits") + ".json";
  {
    std::ofstream f(path);
    f << R"({"websocket":{"max_connections":2,"max_message_bytes":4096,"idle_timeout_ms":1000}})";
  }
  ws_gateway g({"--config", path});

  ws_client a("127.0.0.1", g.ws_port(), mcp_options());
  ws_client b("127.0.0.1", g.ws_port(), mcp_options());
  ws_options o = mcp_options();
  o.expect_failure = true;
  ws_client c("127.0.0.1", g.ws_port(), o);
  BOOST_TEST(c.handshake_status() == 503);

  // Over the size limit: the connection is closed (Beast sends close 1009, like the reference
  // daemon, but the unread rest of the message makes the kernel reset the socket, which may
  // overtake that frame: -1).
  a.send(std::string(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")") +
         std::string(8000, 'x') + "\"}}");
  BOOST_TEST(!a.read(5s).has_value());
  BOOST_TEST(!a.is_open());
  BOOST_TEST((a.close_code() == 1009 || a.close_code() == -1), "close code " << a.close_code());

  // A client that keeps reading answers the pings and stays; the slot `a` held is free again.
  for (int i = 0; i < 4; ++i) BOOST_TEST(!b.read(500ms).has_value());
  BOOST_TEST(b.is_open());
  b.send_json(rpc(2, "ping"));
  BOOST_TEST(b.read_json().at("id").as_int64() == 2);
  ws_client d("127.0.0.1", g.ws_port(), mcp_options());
  BOOST_TEST(d.handshake_status() == 101);

  // A client that stops reading never answers a ping: dropped after the idle timeout.
  std::this_thread::sleep_for(2500ms);
  BOOST_TEST(!d.read(2s).has_value());
  BOOST_TEST(!d.is_open());
  std::remove(path.c_str());
}
