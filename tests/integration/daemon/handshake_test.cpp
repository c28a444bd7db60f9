// exai-daemon over real sockets: handshake, auth and close codes, connection and size limits,
// startup errors and graceful shutdown (exai-op-protocol.md sections 1-2, issue 3).
#define BOOST_TEST_MODULE daemon_integration_handshake
#include "daemon_fixture.hpp"

#include <regex>

using namespace exai::test;
using namespace exai::test::daemon;

BOOST_AUTO_TEST_CASE(plain_hello_is_accepted_with_identity) {
  daemon_process d;
  auto c = d.connect();
  c->send_json(hello_msg());
  auto ack = c->read_json().as_object();
  BOOST_TEST(ack.at("op") == "hello_ack");
  BOOST_TEST(ack.at("ok") == true);
  BOOST_TEST(std::regex_match(std::string(ack.at("session_id").as_string()), std::regex("^[A-Za-z0-9_-]{3,64}$")));
  BOOST_TEST(ack.at("server").as_object().at("name") == "exai-daemon");
  BOOST_TEST(ack.at("capabilities").as_object().at("multiplex") == false);
}

BOOST_AUTO_TEST_CASE(extensions_are_granted) {
  daemon_process d;
  auto c = d.connect();
  json::object h = hello_msg(true, true, true);
  h["session_id"] = "gw-3f9c2a1b";
  c->send_json(h);
  auto ack = c->read_json().as_object();
  BOOST_TEST(ack.at("session_id") == "gw-3f9c2a1b");
  const auto& caps = ack.at("capabilities").as_object();
  BOOST_TEST(caps.at("multiplex") == true);
  BOOST_TEST(caps.at("max_inflight") == 256);
  BOOST_TEST(caps.at("cancel") == true);
  BOOST_TEST(caps.at("progress") == true);
}

BOOST_AUTO_TEST_CASE(same_session_id_on_two_connections_shares_nothing) {
  daemon_process d;
  auto a = d.connect();
  auto b = d.connect();
  json::object h = hello_msg(true, true);
  h["session_id"] = "shared-id";
  a->send_json(h);
  b->send_json(h);
  BOOST_TEST(a->read_json().as_object().at("ok") == true);
  BOOST_TEST(b->read_json().as_object().at("ok") == true);
  // The same request_id on both: each connection gets its own answer.
  a->send_json(echo_call("same", "from-a"));
  b->send_json(echo_call("same", "from-b"));
  BOOST_TEST(text_of(next_non_progress(*a)) == "from-a");
  BOOST_TEST(text_of(next_non_progress(*b)) == "from-b");
  a->close();
  // b survives a's close.
  b->send_json(simple("ping", "p"));
  BOOST_TEST(b->read_json().as_object().at("op") == "pong");
}

BOOST_AUTO_TEST_CASE(token_required_when_configured) {
  daemon_process d({"--tools", "core"}, {"EXAI_WS_TOKEN=let-me-in"});
  {
    auto c = d.connect();
    c->send_json(hello_msg(false, false, false, "wrong"));
    auto ack = c->read_json().as_object();
    BOOST_TEST(ack.at("ok") == false);
    BOOST_TEST(ack.at("error") == "unauthorized");
    BOOST_TEST(wait_closed(*c) == 4003);
  }
  {
    auto c = d.connect();
    c->send_json(json::object{{"op", "hello"}});
    BOOST_TEST(c->read_json().as_object().at("error") == "unauthorized");
    BOOST_TEST(wait_closed(*c) == 4003);
  }
  auto ok = open_session(d, false, false, false, "let-me-in");
  ok->send_json(simple("ping", "p1"));
  BOOST_TEST(ok->read_json().as_object().at("request_id") == "p1");
  // The token never reaches the log.
  BOOST_TEST(d.proc->stderr_text().find("let-me-in") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_token_warns_at_startup) {
  daemon_process d({"--tools", "core"});
  BOOST_TEST(d.proc->stderr_text().find("EXAI_WS_TOKEN is empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(first_message_not_json_closes_4000) {
  daemon_process d({"--tools", "core"});
  auto c = d.connect();
  c->send("this is not json");
  BOOST_TEST(wait_closed(*c) == 4000);
}

BOOST_AUTO_TEST_CASE(first_message_not_hello_closes_4001_after_missing_hello) {
  daemon_process d({"--tools", "core"});
  auto c = d.connect();
  c->send_json(simple("list_tools", "r1"));
  auto ack = c->read_json().as_object();
  BOOST_TEST(ack.at("op") == "hello_ack");
  BOOST_TEST(ack.at("ok") == false);
  BOOST_TEST(ack.at("error") == "missing_hello");
  BOOST_TEST(wait_closed(*c) == 4001);
}

BOOST_AUTO_TEST_CASE(malformed_session_id_is_answered_then_closed) {
  daemon_process d({"--tools", "core"});
  auto c = d.connect();
  json::object h = hello_msg();
  h["session_id"] = "no spaces allowed!";
  c->send_json(h);
  auto ack = c->read_json().as_object();
  BOOST_TEST(ack.at("ok") == false);
  BOOST_TEST(ack.at("error") == "invalid_session_id");
  BOOST_TEST(wait_closed(*c) == 4001);
}

BOOST_AUTO_TEST_CASE(no_hello_in_time_closes_4002) {
  daemon_process d({"--tools", "core"}, {"EXAI_WS_HELLO_TIMEOUT=0.3"});
  auto c = d.connect();
  auto start = std::chrono::steady_clock::now();
  BOOST_TEST(wait_closed(*c, 10s) == 4002);
  BOOST_TEST(elapsed_ms(start) >= 250);
}

BOOST_AUTO_TEST_CASE(hello_timeout_from_config_file) {
  auto cfg = write_config(R"({"timeouts":{"hello_ms":200}})");
  daemon_process d({"--config", cfg});
  auto c = d.connect();
  BOOST_TEST(wait_closed(*c, 10s) == 4002);
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(too_many_connections_closes_1008_and_others_keep_working) {
  auto cfg = write_config(R"({"limits":{"max_connections":2}})");
  daemon_process d({"--config", cfg});
  auto a = open_session(d);
  auto b = open_session(d);
  auto c = d.connect();
  BOOST_TEST(wait_closed(*c) == 1008);
  a->send_json(simple("ping", "a"));
  BOOST_TEST(a->read_json().as_object().at("request_id") == "a");
  b->send_json(simple("ping", "b"));
  BOOST_TEST(b->read_json().as_object().at("request_id") == "b");
  // Once one leaves, a new connection is served again.
  a->close();
  std::unique_ptr<ws_client> again;
  for (int i = 0; i < 50 && !again; ++i) {
    auto t = d.connect();
    t->send_json(hello_msg());
    auto m = t->read(2s);
    if (m && boost::json::parse(*m).as_object().at("ok") == true) again = std::move(t);
    else std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(again != nullptr);
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(oversize_frame_closes_1009_and_daemon_keeps_serving) {
  daemon_process d({"--tools", "core,diagnostics"}, {"EXAI_WS_MAX_BYTES=65536"});
  auto other = open_session(d);
  auto c = open_session(d);
  std::string big = R"({"op":"call_tool","request_id":"big","name":"echo","arguments":{"text":")" +
                    std::string(70'000, 'x') + "\"}}";
  c->send(big);
  BOOST_TEST(wait_closed(*c) == 1009);
  other->send_json(echo_call("still", "here"));
  BOOST_TEST(text_of(next_non_progress(*other)) == "here");
}

BOOST_AUTO_TEST_CASE(busy_port_is_a_clear_error) {
  daemon_process first({"--tools", "core"});
  auto p = child_process::start({program("EXAI_DAEMON_BIN"), "--listen", first.ws}, {"EXAI_WS_TOKEN="});
  auto code = p.wait_exit(10s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 1);
  auto err = p.stderr_text();
  BOOST_TEST(err.find(std::to_string(first.port)) != std::string::npos);
  BOOST_TEST(err.find("in use") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_config_key_stops_startup) {
  auto cfg = write_config(R"({"limits":{"max_inflight":4,"max_conections":3}})");
  auto p = child_process::start({program("EXAI_DAEMON_BIN"), "--config", cfg, "--listen", "127.0.0.1:0"},
                                {"EXAI_WS_TOKEN="});
  auto code = p.wait_exit(10s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 2);
  BOOST_TEST(p.stderr_text().find("limits.max_conections: unknown key") != std::string::npos);
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(version_and_help) {
  auto v = child_process::start({program("EXAI_DAEMON_BIN"), "--version"});
  BOOST_TEST(v.wait_exit(10s).value_or(-1) == 0);
  BOOST_TEST(v.stderr_text().find("exai-daemon 0.1.0") != std::string::npos);  // stdout is captured too
  auto h = child_process::start({program("EXAI_DAEMON_BIN"), "--help"});
  BOOST_TEST(h.wait_exit(10s).value_or(-1) == 0);
  BOOST_TEST(h.stderr_text().find("--compat reference") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigterm_lets_running_calls_finish_then_exits_0) {
  daemon_process d;
  auto c = open_session(d, true, true);
  c->send_json(delay_call("slow", 600));
  std::this_thread::sleep_for(100ms);
  d.proc->signal(SIGTERM);
  // A call made during the grace period is refused, the running one completes.
  std::this_thread::sleep_for(50ms);
  c->send_json(echo_call("late", "x"));
  bool got_slow = false, got_late_refusal = false;
  for (int i = 0; i < 2; ++i) {
    auto m = next_non_progress(*c);
    if (m.at("request_id") == "slow") got_slow = m.contains("outputs");
    if (m.at("request_id") == "late")
      got_late_refusal = m.at("error").as_object().at("code") == "SERVICE_UNAVAILABLE";
  }
  BOOST_TEST(got_slow);
  BOOST_TEST(got_late_refusal);
  BOOST_TEST(wait_closed(*c) == 1001);
  auto code = d.proc->wait_exit(10s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_cancels_calls_after_the_grace_period) {
  auto cfg = write_config(R"({"timeouts":{"shutdown_grace_ms":200}})");
  daemon_process d({"--tools", "core,diagnostics", "--config", cfg});
  auto c = open_session(d, true, true);
  c->send_json(delay_call("forever", 600000));
  std::this_thread::sleep_for(100ms);
  auto start = std::chrono::steady_clock::now();
  d.proc->signal(SIGTERM);
  auto m = next_non_progress(*c);
  BOOST_TEST(m.at("request_id") == "forever");
  BOOST_TEST(m.at("error").as_object().at("code") == "SERVICE_UNAVAILABLE");
  BOOST_TEST(wait_closed(*c) == 1001);
  auto code = d.proc->wait_exit(10s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 0);
  BOOST_TEST(elapsed_ms(start) < 8000);  // not the 600 s delay
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(sigterm_exits_0_while_replies_wait_for_a_peer_that_never_reads) {
  // Large replies fill the socket of a client that never reads, so when the grace period ends the
  // daemon still has a writer and calls parked. It must exit 0 rather than crash while those are
  // torn down.
  auto cfg = write_config(R"({"timeouts":{"shutdown_grace_ms":200}})");
  daemon_process d({"--tools", "core,diagnostics", "--config", cfg});
  auto c = open_session(d, true, true);
  for (int i = 0; i < 16; ++i)
    c->send_json(call_msg("blob-" + std::to_string(i), "blob", json::object{{"bytes", 8 << 20}}));
  std::this_thread::sleep_for(1s);
  d.proc->signal(SIGTERM);
  auto code = d.proc->wait_exit(20s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 0);
  std::remove(cfg.c_str());
}

BOOST_AUTO_TEST_CASE(admin_health_and_metrics) {
  daemon_process d({"--tools", "core,diagnostics", "--admin", "127.0.0.1:0"});
  auto ready = wait_ready_file(d.ready_file, 5s);
  BOOST_REQUIRE(ready.contains("admin"));
  const auto admin_port = port_of(std::string(ready.at("admin").as_string()));
  auto health = http_get("127.0.0.1", admin_port, "/health");
  BOOST_TEST(health.status == 200);
  auto c = open_session(d, true);
  c->send_json(echo_call("m1", "counted"));
  BOOST_TEST(text_of(next_non_progress(*c)) == "counted");
  auto metrics = http_get("127.0.0.1", admin_port, "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.body.find("exai_requests_total{") != std::string::npos);
  BOOST_TEST(metrics.body.find("tool=\"echo\"") != std::string::npos);
  BOOST_TEST(metrics.body.find("exai_sessions{") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(idle_peers_are_pinged_and_silent_ones_dropped) {
  auto cfg = write_config(R"({"timeouts":{"idle_ms":400}})");
  daemon_process d({"--tools", "core", "--config", cfg});
  // A client that keeps reading answers the daemon's pings (section 1) and stays connected.
  auto live = open_session(d);
  BOOST_TEST(!live->read(1500ms).has_value());
  BOOST_TEST(live->is_open());
  live->send_json(simple("ping", "still-here"));
  BOOST_TEST(live->read_json().as_object().at("request_id") == "still-here");
  // A client that stops reading never pongs and is dropped; the daemon keeps serving others.
  auto silent = open_session(d);
  BOOST_TEST(!live->read(1500ms).has_value());  // only `live` runs its I/O meanwhile
  BOOST_TEST(wait_closed(*silent, 5s) != 0);
  live->send_json(simple("ping", "after"));
  BOOST_TEST(live->read_json().as_object().at("request_id") == "after");
  std::remove(cfg.c_str());
}
