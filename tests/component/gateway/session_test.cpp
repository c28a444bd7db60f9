// Session behaviour on an in-memory transport (issue 4, "Tests": ordering, back-pressure, cancel,
// malformed input, batches, dialects, progress, deadlines, shutdown).
#define BOOST_TEST_MODULE gateway_session
#include "harness.hpp"

#include <set>

using namespace exai;
using namespace exai::test;

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(initialize_negotiates_and_answers_from_local_state) {
  harness h;
  h.backend.down = true;  // initialize must not depend on the backend
  h.start();
  h.send(initialize(1, "2025-06-18"));
  auto r = h.next();
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(r.at("result").at("protocolVersion").as_string() == "2025-06-18");
  BOOST_TEST(r.at("result").at("capabilities").at("tools").at("listChanged").as_bool());
  BOOST_TEST(r.at("result").at("serverInfo").at("name").as_string() == "exai-gateway");
  BOOST_TEST(r.at("result").at("serverInfo").at("version").as_string() == "9.9.9");
  BOOST_TEST(h.backend.calls == 0);

  h.send(initialize("x", "1999-01-01"));
  auto r2 = h.next();
  BOOST_TEST(r2.at("id").as_string() == "x");  // string id stays a string
  BOOST_TEST(r2.at("result").at("protocolVersion").as_string() == "2025-11-25");
}

BOOST_AUTO_TEST_CASE(ping_before_initialize_and_notifications_get_nothing) {
  harness h;
  h.start();
  h.send(request(7, "ping"));
  auto r = h.next();
  BOOST_TEST(r.at("id").as_int64() == 7);
  BOOST_TEST(r.at("result").as_object().empty());
  h.send(notification("notifications/initialized"));
  h.send(notification("notifications/something_unknown"));
  BOOST_TEST(h.silent_for(100ms));
}

BOOST_AUTO_TEST_CASE(unknown_method_and_unknown_tool) {
  harness h;
  h.start();
  h.send(request(1, "resources/list"));
  auto r = h.next();
  BOOST_TEST(r.at("error").at("code").as_int64() == -32601);
  BOOST_TEST(r.at("id").as_int64() == 1);
  h.send(call(2, "no_such_tool"));
  auto r2 = h.next();
  BOOST_TEST(r2.at("error").at("code").as_int64() == -32602);
  BOOST_TEST(r2.at("id").as_int64() == 2);
  // An op-only method is not a JSON-RPC method.
  h.send(request(3, "hello"));
  BOOST_TEST(h.next().at("error").at("code").as_int64() == -32601);
}

BOOST_AUTO_TEST_CASE(errors_quote_a_huge_method_name_in_part) {
  harness h;
  h.start();
  h.send(request(1, std::string(1u << 20, 'm')));
  auto raw = h.next_raw();
  BOOST_TEST(raw.size() < 400u);  // not the 1 MiB name back
  auto r = json::parse(raw);
  BOOST_TEST(r.at("error").at("code").as_int64() == -32601);
  BOOST_TEST(std::string(r.at("error").at("message").as_string()).find("(1048576 bytes)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(tools_list_changed_reaches_initialized_sessions_only) {
  harness h;
  h.start();
  h.session->notify_tools_changed();
  BOOST_TEST(h.silent_for(50ms));
  h.send(initialize(1, "2025-06-18"));
  h.next();
  h.session->notify_tools_changed();
  auto n = h.next();
  BOOST_TEST(n.at("method").as_string() == "notifications/tools/list_changed");
  BOOST_TEST(!n.as_object().contains("id"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tools)

BOOST_AUTO_TEST_CASE(call_and_list) {
  harness h;
  h.start();
  h.send(request(1, "tools/list"));
  auto l = h.next();
  BOOST_TEST(l.at("result").at("tools").as_array().size() == h.backend.tool_names.size());
  BOOST_TEST(!l.at("result").as_object().contains("nextCursor"));
  h.send(call(2, "echo", {{"text", "hello"}}));
  auto c = h.next();
  BOOST_TEST(text_of(c) == "hello");
  BOOST_TEST(!c.at("result").as_object().contains("isError"));
  h.send(call(3, "structured"));
  auto s = h.next();
  BOOST_TEST(s.at("result").at("structuredContent").at("n").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(tools_list_with_backend_down_is_an_error_not_an_empty_list) {
  harness h;
  h.backend.down = true;
  h.start();
  h.send(request(1, "tools/list"));
  auto r = h.next();
  BOOST_TEST(r.as_object().contains("error"));
  BOOST_TEST(!r.as_object().contains("result"));
  BOOST_TEST(r.at("error").at("code").as_int64() == -32603);
}

BOOST_AUTO_TEST_CASE(pagination_through_the_session) {
  harness h;
  h.ropts.page_size = 2;
  h.start();
  std::vector<std::string> names;
  json::value cursor;
  for (int page = 0; page < 10; ++page) {
    json::object params;
    if (!cursor.is_null()) params["cursor"] = cursor;
    h.send(request(page, "tools/list", params));
    auto r = h.next();
    for (auto& t : r.at("result").at("tools").as_array()) {
      names.emplace_back(t.at("name").as_string());
    }
    auto* next = r.at("result").as_object().if_contains("nextCursor");
    if (!next) break;
    cursor = *next;
  }
  BOOST_TEST(names == h.backend.tool_names, boost::test_tools::per_element());
  json::object bad;
  bad["cursor"] = "not-a-cursor!";
  h.send(request(99, "tools/list", bad));
  BOOST_TEST(h.next().at("error").at("code").as_int64() == -32602);
}

BOOST_AUTO_TEST_CASE(upstream_failure_is_an_is_error_result) {
  harness h;
  h.start();
  h.send(call(1, "broken"));
  auto r = h.next();
  BOOST_TEST(r.at("result").at("isError").as_bool());
  BOOST_TEST(text_of(r).find("broken") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(timeout_is_a_tool_error_naming_tool_and_budget_and_cancels_the_call) {
  harness h;
  h.ropts.tool_timeouts["slow"] = 50ms;
  h.start();
  h.send(call(1, "slow", {{"ms", 10000}}));
  auto r = h.next(3s);
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(r.at("result").at("isError").as_bool());
  auto text = text_of(r);
  BOOST_TEST(text.find("'slow'") != std::string::npos);
  BOOST_TEST(text.find("50 ms") != std::string::npos);
  BOOST_TEST(h.run_until([&] { return h.backend.cancelled == 1; }, 2s));
  BOOST_TEST(h.backend.completed == 0);
}

BOOST_AUTO_TEST_CASE(default_budget_and_per_tool_override_reach_the_backend_as_deadlines) {
  harness h;
  h.ropts.call_timeout = 1000ms;
  h.ropts.tool_timeouts["echo"] = 5000ms;
  h.start();
  auto before = routes::clock::now();
  h.send(call(1, "echo", {{"text", "a"}}));
  h.next();
  h.send(call(2, "structured"));
  h.next();
  BOOST_REQUIRE(h.backend.contexts.size() == 2u);
  auto echo_budget = h.backend.contexts[0].deadline - before;
  auto default_budget = h.backend.contexts[1].deadline - before;
  BOOST_TEST(echo_budget > std::chrono::milliseconds(4000));
  BOOST_TEST(default_budget < std::chrono::milliseconds(2000));
  BOOST_TEST(default_budget > std::chrono::milliseconds(500));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(each_reply_carries_its_own_id_and_fast_calls_overtake_slow_ones) {
  harness h;
  h.start();
  h.send(call(1, "slow", {{"ms", 300}}));
  h.send(call("1", "echo", {{"text", "string one"}}));  // "1" and 1 are different ids
  h.send(call(2, "slow", {{"ms", 100}}));
  auto first = h.next();
  BOOST_TEST(first.at("id").is_string());
  BOOST_TEST(text_of(first) == "string one");
  auto second = h.next();
  BOOST_TEST(second.at("id").as_int64() == 2);
  auto third = h.next();
  BOOST_TEST(third.at("id").as_int64() == 1);
  BOOST_TEST(text_of(third) == "slept 300");
}

BOOST_AUTO_TEST_CASE(many_calls_each_answered_exactly_once) {
  harness h;
  h.start();
  for (int i = 0; i < 200; ++i) h.send(call(i, "echo", {{"text", "t" + std::to_string(i)}}));
  std::set<std::int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto r = h.next();
    auto id = r.at("id").as_int64();
    BOOST_TEST(text_of(r) == "t" + std::to_string(id));
    BOOST_TEST(seen.insert(id).second);
  }
  BOOST_TEST(seen.size() == 200u);
  BOOST_TEST(h.silent_for(50ms));
}

BOOST_AUTO_TEST_CASE(in_flight_cap_stops_reading_until_a_slot_frees) {
  harness h;
  gateway::session_options o;
  o.max_inflight = 2;
  h.start(o);
  h.send(call(1, "slow", {{"ms", 200}}));
  h.send(call(2, "slow", {{"ms", 5000}}));
  h.send(call(3, "echo", {{"text", "three"}}));
  h.send(call(4, "echo", {{"text", "four"}}));
  h.run_for(100ms);
  BOOST_TEST(h.pipe->reads() == 3u);  // full: call 3 is held, nothing more is read
  BOOST_TEST(h.pipe->unread() == 1u);
  BOOST_TEST(h.session->inflight() == 2u);
  BOOST_TEST(h.pipe->written() == 0u);
  // Call 1 finishes, a slot frees, reading resumes: 3 and 4 are answered while 2 still runs.
  auto r1 = h.next();
  BOOST_TEST(r1.at("id").as_int64() == 1);
  auto r3 = h.next();
  auto r4 = h.next();
  BOOST_TEST(r3.at("id").as_int64() == 3);
  BOOST_TEST(r4.at("id").as_int64() == 4);
  BOOST_TEST(h.session->inflight() == 1u);
  BOOST_TEST(h.session->stats().max_inflight_seen == 2u);
}

BOOST_AUTO_TEST_CASE(a_stalled_writer_stops_reading) {
  harness h;
  gateway::session_options o;
  o.max_queued = 4;
  h.start(o);
  h.pipe->pause_writes(true);
  for (int i = 0; i < 50; ++i) h.send(request(i, "ping"));
  h.run_for(200ms);
  BOOST_TEST(h.pipe->reads() < 10u);  // bounded by the queue, not by the input
  BOOST_TEST(h.pipe->unread() > 40u);
  h.pipe->pause_writes(false);
  for (int i = 0; i < 50; ++i) BOOST_TEST(h.next().at("id").as_int64() == i);
}

BOOST_AUTO_TEST_CASE(reply_bytes_stop_reading_at_the_session_bound) {
  harness h;
  gateway::session_options o;
  o.max_session_bytes = 256 * 1024;  // about two and a half replies
  h.start(o);
  h.pipe->pause_writes(true);
  const std::string big(100 * 1024, 'y');
  // Two replies fit, the third does not: an error instead, and reading stops (bounded by
  // bytes, where the count bound, 1024, is far away).
  for (int i = 0; i < 3; ++i) {
    h.send(call(i, "echo", {{"text", big}}));
    h.run_for(30ms);
  }
  for (int i = 3; i < 20; ++i) h.send(request(i, "ping"));
  h.run_for(200ms);
  BOOST_TEST(h.pipe->reads() <= 5u);
  BOOST_TEST(h.pipe->unread() >= 15u);
  h.pipe->pause_writes(false);
  for (int i = 0; i < 20; ++i) {
    auto r = h.next();
    BOOST_TEST(r.at("id").as_int64() == i);
    if (i < 2) BOOST_TEST(text_of(r).size() == big.size());
    if (i == 2) {
      BOOST_TEST(r.at("result").at("isError").as_bool());
      BOOST_TEST(text_of(r).find("not reading its replies") != std::string::npos);
    }
  }
  // Read again: whole replies again.
  h.send(call(30, "echo", {{"text", big}}));
  BOOST_TEST(text_of(h.next()).size() == big.size());
}

BOOST_AUTO_TEST_CASE(results_arriving_over_the_session_bound_become_errors) {
  harness h;
  gateway::session_options o;
  o.max_session_bytes = 256 * 1024;
  h.start(o);
  h.pipe->pause_writes(true);
  // All eight are read and in flight before any result exists; then 8 x 100 KB arrive at once.
  for (int i = 0; i < 8; ++i) h.send(call(i, "slow", {{"ms", 50}, {"bytes", 100 * 1024}}));
  BOOST_TEST(h.run_until([&] { return h.backend.completed == 8; }, 5s));
  h.run_for(50ms);
  h.pipe->pause_writes(false);
  std::set<std::int64_t> ids;
  int full = 0, refused = 0;
  std::size_t bytes = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = h.next();
    ids.insert(r.at("id").as_int64());
    const auto text = text_of(r);
    bytes += text.size();
    if (r.at("result").as_object().contains("isError")) {
      ++refused;
      BOOST_TEST(text.find("not reading its replies") != std::string::npos);
    } else {
      ++full;
      BOOST_TEST(text.size() == 100u * 1024);
    }
  }
  BOOST_TEST(ids.size() == 8u);  // each answered exactly once
  BOOST_TEST(full >= 1);
  BOOST_TEST(refused >= 5);
  BOOST_TEST(bytes <= 256u * 1024 + 100u * 1024);  // held: the bound plus one reply at most
  BOOST_TEST(h.silent_for(50ms));
}

BOOST_AUTO_TEST_CASE(a_client_over_its_bound_has_its_running_tool_calls_stopped) {
  harness h;
  gateway::session_options o;
  o.max_session_bytes = 256 * 1024;
  h.start(o);
  h.pipe->pause_writes(true);
  // Five long calls in flight, then replies pile up unread until one is refused for the bound.
  for (int i = 0; i < 5; ++i) h.send(call(i, "slow", {{"ms", 20000}}));
  h.run_for(30ms);
  const std::string big(100 * 1024, 'y');
  for (int i = 5; i < 8; ++i) {
    h.send(call(i, "echo", {{"text", big}}));
    h.run_for(30ms);
  }
  // The long calls are stopped (the backend told) rather than left to build results that the
  // client would not read.
  BOOST_TEST(h.run_until([&] { return h.backend.cancelled == 5; }, 2s));
  h.pipe->pause_writes(false);
  std::set<std::int64_t> ids;
  int stopped = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = h.next();
    ids.insert(r.at("id").as_int64());
    if (r.at("id").as_int64() < 5) {
      BOOST_TEST(r.at("result").at("isError").as_bool());
      BOOST_TEST(text_of(r).find("stopped: the client is not reading") != std::string::npos);
      ++stopped;
    }
  }
  BOOST_TEST(ids.size() == 8u);
  BOOST_TEST(stopped == 5);
  // Reading again: calls run again.
  h.send(call(30, "echo", {{"text", "back"}}));
  BOOST_TEST(text_of(h.next()) == "back");
}

BOOST_AUTO_TEST_CASE(a_reply_larger_than_a_message_may_be_is_a_tool_error) {
  harness h;
  gateway::session_options o;
  o.max_reply_bytes = 10000;
  h.start(o);
  h.send(call(1, "echo", {{"text", std::string(20000, 'z')}}));
  auto r = h.next();
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(r.at("result").at("isError").as_bool());
  BOOST_TEST(text_of(r).find("over the limit of 10000 bytes per message") != std::string::npos);
  h.send(request(2, "ping"));
  BOOST_TEST(h.next().at("id").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(duplicate_in_flight_id_is_refused_and_the_first_continues) {
  harness h;
  h.start();
  h.send(call(5, "slow", {{"ms", 150}}));
  h.send(call(5, "echo", {{"text", "dup"}}));
  auto dup = h.next();
  BOOST_TEST(dup.at("id").as_int64() == 5);
  BOOST_TEST(dup.at("error").at("code").as_int64() == -32600);
  auto first = h.next();
  BOOST_TEST(first.at("id").as_int64() == 5);
  BOOST_TEST(text_of(first) == "slept 150");
  // Finished: the id may be used again.
  h.send(call(5, "echo", {{"text", "again"}}));
  BOOST_TEST(text_of(h.next()) == "again");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cancellation)

BOOST_AUTO_TEST_CASE(cancelled_request_gets_no_response_and_the_backend_stops) {
  harness h;
  h.start();
  h.send(call(7, "slow", {{"ms", 10000}}));
  h.run_for(50ms);
  json::object p;
  p["requestId"] = 7;
  p["reason"] = "user aborted";
  h.send(notification("notifications/cancelled", p));
  BOOST_TEST(h.run_until([&] { return h.backend.cancelled == 1; }, 2s));
  h.send(request(8, "ping"));
  auto r = h.next();
  BOOST_TEST(r.at("id").as_int64() == 8);  // nothing for 7 came before it
  BOOST_TEST(h.silent_for(100ms));
  BOOST_TEST(h.session->inflight() == 0u);
  BOOST_TEST(h.session->stats().client_cancels == 1u);
}

BOOST_AUTO_TEST_CASE(cancel_of_unknown_or_finished_ids_is_ignored) {
  harness h;
  h.start();
  h.send(call(1, "echo", {{"text", "done"}}));
  h.next();
  json::object p;
  p["requestId"] = 1;
  h.send(notification("notifications/cancelled", p));
  p["requestId"] = "never-sent";
  h.send(notification("notifications/cancelled", p));
  BOOST_TEST(h.silent_for(100ms));
  // A cancel with the other id type does not touch the running call.
  h.send(call(2, "slow", {{"ms", 100}}));
  p["requestId"] = "2";
  h.send(notification("notifications/cancelled", p));
  BOOST_TEST(text_of(h.next()) == "slept 100");
}

BOOST_AUTO_TEST_CASE(disconnect_cancels_everything_in_flight) {
  harness h;
  h.start();
  for (int i = 0; i < 3; ++i) h.send(call(i, "slow", {{"ms", 10000}}));
  h.run_for(50ms);
  h.pipe->close_input();
  BOOST_TEST(h.run_until([&] { return h.ended; }, 3s));
  BOOST_TEST(h.backend.cancelled == 3);
}

BOOST_AUTO_TEST_CASE(disconnect_is_noticed_while_the_session_is_full) {
  harness h;
  gateway::session_options o;
  o.max_inflight = 1;
  h.start(o);
  h.send(call(1, "slow", {{"ms", 10000}}));
  h.run_for(50ms);
  BOOST_TEST(h.session->inflight() == 1u);
  h.pipe->close_input();
  BOOST_TEST(h.run_until([&] { return h.backend.cancelled == 1; }, 2s));
  BOOST_TEST(h.run_until([&] { return h.ended; }, 2s));
}

BOOST_AUTO_TEST_CASE(eof_on_a_drainable_transport_lets_in_flight_calls_finish) {
  harness h;
  gateway::session_options o;
  o.eof_grace = 2000ms;
  h.start(o, /*replies_after_eof=*/true);
  h.send(call(1, "slow", {{"ms", 100}}));
  h.pipe->close_input();
  auto r = h.next();
  BOOST_TEST(text_of(r) == "slept 100");
  BOOST_TEST(h.run_until([&] { return h.ended; }, 2s));
}

BOOST_AUTO_TEST_CASE(eof_grace_expiry_cancels_with_an_error_reply) {
  harness h;
  gateway::session_options o;
  o.eof_grace = 100ms;
  h.start(o, true);
  h.send(call(1, "slow", {{"ms", 10000}}));
  h.pipe->close_input();
  auto r = h.next(3s);
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(r.at("error").at("code").as_int64() == -32603);
  BOOST_TEST(h.run_until([&] { return h.ended; }, 2s));
  BOOST_TEST(h.backend.cancelled == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(malformed)

BOOST_AUTO_TEST_CASE(bad_input_is_answered_and_the_connection_stays_open) {
  harness h;
  h.start();
  h.send_raw("{not json");
  auto r = h.next();
  BOOST_TEST(r.at("error").at("code").as_int64() == -32700);
  BOOST_TEST(r.at("id").is_null());

  h.send_raw(R"({"hello":"world"})");  // neither dialect
  auto n = h.next();
  BOOST_TEST(n.at("error").at("code").as_int64() == -32600);
  BOOST_TEST(n.at("id").is_null());

  h.send_raw(R"({"jsonrpc":"2.0","id":4})");  // no method, no result
  auto m = h.next();
  BOOST_TEST(m.at("error").at("code").as_int64() == -32600);
  BOOST_TEST(m.at("id").as_int64() == 4);

  h.send_raw(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{}}})");
  BOOST_TEST(h.next().at("error").at("code").as_int64() == -32602);

  h.send_raw("42");
  BOOST_TEST(h.next().at("error").at("code").as_int64() == -32600);

  h.pipe->push_oversize();
  auto big = h.next();
  BOOST_TEST(big.at("error").at("code").as_int64() == -32600);

  h.send(request(9, "ping"));
  BOOST_TEST(h.next().at("id").as_int64() == 9);
  BOOST_TEST(!h.pipe->closed());
}

BOOST_AUTO_TEST_CASE(responses_from_the_client_are_ignored) {
  harness h;
  h.start();
  h.send_raw(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  BOOST_TEST(h.silent_for(50ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(batches)

BOOST_AUTO_TEST_CASE(batch_on_a_2025_03_26_session) {
  harness h;
  h.start();
  h.send(initialize(0, "2025-03-26"));
  h.next();
  json::array batch;
  batch.push_back(request(1, "ping"));
  batch.push_back(notification("notifications/initialized"));
  batch.push_back(call(2, "slow", {{"ms", 50}}));
  batch.push_back(call(3, "echo", {{"text", "b"}}));
  batch.push_back(json::object{{"jsonrpc", "2.0"}, {"id", 4}});  // invalid element
  h.send(batch);
  auto r = h.next();
  BOOST_REQUIRE(r.is_array());
  BOOST_TEST(r.as_array().size() == 4u);
  std::set<std::int64_t> ids;
  for (auto& e : r.as_array()) ids.insert(e.at("id").as_int64());
  BOOST_TEST((ids == std::set<std::int64_t>{1, 2, 3, 4}));

  json::array notes;
  notes.push_back(notification("notifications/initialized"));
  h.send(notes);
  BOOST_TEST(h.silent_for(100ms));  // an all-notification batch gets nothing

  h.send_raw("[]");
  auto empty = h.next();
  BOOST_TEST(empty.at("error").at("code").as_int64() == -32600);
}

BOOST_AUTO_TEST_CASE(batch_over_the_element_cap_gets_one_error_naming_the_cap) {
  harness h;
  gateway::session_options o;
  o.max_batch_elements = 4;
  h.start(o);
  h.send(initialize(0, "2025-03-26"));
  h.next();
  json::array batch;
  for (int i = 1; i <= 5; ++i) batch.push_back(call(i, "echo", {{"text", "b"}}));
  h.send(batch);
  auto r = h.next();
  BOOST_REQUIRE(r.is_object());  // one error, not an array of five
  BOOST_TEST(r.at("error").at("code").as_int64() == -32600);
  BOOST_TEST(std::string(r.at("error").at("message").as_string()).find("cap of 4") !=
             std::string::npos);
  BOOST_TEST(h.backend.calls == 0);  // nothing of it ran
  BOOST_TEST(h.silent_for(50ms));
  batch.pop_back();
  h.send(batch);
  auto ok = h.next();
  BOOST_REQUIRE(ok.is_array());
  BOOST_TEST(ok.as_array().size() == 4u);
}

BOOST_AUTO_TEST_CASE(batch_replies_are_bounded_like_one_message) {
  harness h;
  gateway::session_options o;
  o.max_reply_bytes = 10000;
  h.start(o);
  h.send(initialize(0, "2025-03-26"));
  h.next();
  json::array batch;
  for (int i = 1; i <= 3; ++i) batch.push_back(call(i, "echo", {{"text", std::string(4000, 'b')}}));
  h.send(batch);
  auto r = h.next();
  BOOST_REQUIRE(r.is_array());
  BOOST_TEST(r.as_array().size() == 3u);
  int refused = 0;
  for (auto& e : r.as_array()) {
    if (e.at("result").as_object().contains("isError")) {
      ++refused;
      BOOST_TEST(text_of(e).find("over the limit of 10000 bytes") != std::string::npos);
    }
  }
  BOOST_TEST(refused == 1);  // two fit in one 10000-byte array, the third does not
}

// A full batch is served one element per turn of the loop, so a message from another session that
// arrives right after it is answered long before the batch's 256 elements are.
BOOST_AUTO_TEST_CASE(a_batch_takes_turns_with_other_sessions) {
  harness h;
  h.start();
  h.send(initialize(0, "2025-03-26"));
  h.next();

  gateway::memory_pipe other_pipe(h.ioc.get_executor(), "memory-2", false);
  gateway::session_options o;
  o.id = "gw-test-2";
  auto other = gateway::session::create(h.ioc.get_executor(), h.backend, h.ropts, o);
  bool other_ended = false;
  boost::asio::co_spawn(h.ioc, gateway::async_pump(other_pipe.transport(), other),
                        [&](std::exception_ptr) { other_ended = true; });
  other_pipe.push(json::serialize(initialize(0, "2025-06-18")));
  BOOST_REQUIRE(h.run_until([&] { return other_pipe.written() > 0; }, 5s));
  other_pipe.take();

  json::array batch;
  for (int i = 1; i <= 256; ++i) batch.push_back(request(i, "ping"));
  h.send(batch);
  other_pipe.push(json::serialize(request(1, "ping")));
  BOOST_REQUIRE(h.run_until([&] { return other_pipe.written() > 0 || h.pipe->written() > 0; }, 5s));
  BOOST_TEST(other_pipe.written() == 1u);
  BOOST_TEST(h.pipe->written() == 0u);  // the batch is still being served
  auto whole = h.next();
  BOOST_REQUIRE(whole.is_array());
  BOOST_TEST(whole.as_array().size() == 256u);

  other_pipe.close_input();
  BOOST_REQUIRE(h.run_until([&] { return other_ended; }, 5s));
}

BOOST_AUTO_TEST_CASE(batch_on_other_sessions_is_invalid_request) {
  harness h;
  h.start();
  h.send(initialize(0, "2025-06-18"));
  h.next();
  json::array batch;
  batch.push_back(request(1, "ping"));
  h.send(batch);
  auto r = h.next();
  BOOST_TEST(r.is_object());
  BOOST_TEST(r.at("error").at("code").as_int64() == -32600);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(progress_reports)

BOOST_AUTO_TEST_CASE(progress_is_strictly_increasing_echoes_the_token_and_stops_at_the_response) {
  harness h;
  h.start();
  json::object params;
  params["name"] = "progress";
  params["arguments"] = json::object{{"ms", 50}};
  params["_meta"] = json::object{{"progressToken", "tok-1"}};
  h.send(request(1, "tools/call", params));
  std::vector<double> values;
  for (;;) {
    auto m = h.next();
    if (m.as_object().contains("id")) {
      BOOST_TEST(m.at("id").as_int64() == 1);
      break;
    }
    BOOST_TEST(m.at("method").as_string() == "notifications/progress");
    BOOST_TEST(m.at("params").at("progressToken").as_string() == "tok-1");
    BOOST_TEST(m.at("params").at("total").to_number<double>() == 10.0);
    // Whole numbers go out as integers ("progress":1, not 1E0): strictly typed clients need it.
    BOOST_TEST(m.at("params").at("progress").is_int64());
    BOOST_TEST(m.at("params").at("total").is_int64());
    values.push_back(m.at("params").at("progress").to_number<double>());
  }
  BOOST_TEST(values == (std::vector<double>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(h.silent_for(100ms));
}

BOOST_AUTO_TEST_CASE(integer_token_stays_an_integer_and_no_token_means_no_progress) {
  harness h;
  h.start();
  json::object params;
  params["name"] = "progress";
  params["arguments"] = json::object{{"ms", 10}};
  params["_meta"] = json::object{{"progressToken", 42}};
  h.send(request(1, "tools/call", params));
  auto m = h.next();
  BOOST_TEST(m.at("params").at("progressToken").is_int64());
  BOOST_TEST(m.at("params").at("progressToken").as_int64() == 42);
  while (!h.next().as_object().contains("id")) {
  }
  h.send(call(2, "progress", {{"ms", 10}}));
  auto r = h.next();
  BOOST_TEST(r.at("id").as_int64() == 2);  // the response, with no progress before it
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(op_dialect)

json::object op(std::string_view name, std::string_view request_id = {}) {
  json::object o;
  o["op"] = name;
  if (!request_id.empty()) o["request_id"] = request_id;
  return o;
}

BOOST_AUTO_TEST_CASE(call_tool_without_request_id_is_refused) {
  harness h;
  h.start();
  auto c = op("call_tool");
  c["name"] = "echo";
  c["arguments"] = json::object{{"text", "no id"}};
  h.send(c);
  auto r = h.next();
  BOOST_TEST(r.at("op").as_string() == "call_tool_res");
  BOOST_TEST(r.at("error").at("code").as_string() == "INVALID_REQUEST");
  BOOST_TEST(std::string(r.at("error").at("message").as_string()).find("request_id") !=
             std::string::npos);
  BOOST_TEST(h.backend.calls == 0);
}

BOOST_AUTO_TEST_CASE(hello_list_call_ping_in_the_op_dialect) {
  harness h;
  h.start();
  auto hello = op("hello");
  hello["session_id"] = "client-1";
  h.send(hello);
  auto ack = h.next();
  BOOST_TEST(ack.at("op").as_string() == "hello_ack");
  BOOST_TEST(ack.at("ok").as_bool());
  BOOST_TEST(ack.at("session_id").as_string() == "client-1");
  BOOST_TEST(ack.at("capabilities").at("multiplex").as_bool());

  h.send(op("list_tools", "r1"));
  auto l = h.next();
  BOOST_TEST(l.at("op").as_string() == "list_tools_res");
  BOOST_TEST(l.at("request_id").as_string() == "r1");
  BOOST_TEST(l.at("tools").as_array().size() == h.backend.tool_names.size());

  auto c = op("call_tool", "r2");
  c["name"] = "echo";
  c["arguments"] = json::object{{"text", "via op"}};
  h.send(c);
  auto res = h.next();
  BOOST_TEST(res.at("op").as_string() == "call_tool_res");
  BOOST_TEST(res.at("request_id").as_string() == "r2");
  BOOST_TEST(res.at("outputs").at(0).at("text").as_string() == "via op");

  auto legacy = op("tool_call", "r3");
  legacy["tool"] = json::object{{"name", "echo"}};
  legacy["arguments"] = json::object{{"text", "legacy"}};
  h.send(legacy);
  BOOST_TEST(h.next().at("outputs").at(0).at("text").as_string() == "legacy");

  h.send(op("ping", "r4"));
  auto pong = h.next();
  BOOST_TEST(pong.at("op").as_string() == "pong");
  BOOST_TEST(pong.at("request_id").as_string() == "r4");
}

BOOST_AUTO_TEST_CASE(op_errors_carry_op_and_request_id) {
  harness h;
  h.start();
  auto c = op("call_tool", "r1");
  c["name"] = "nope";
  h.send(c);
  auto e = h.next();
  BOOST_TEST(e.at("op").as_string() == "call_tool_res");
  BOOST_TEST(e.at("request_id").as_string() == "r1");
  BOOST_TEST(e.at("error").at("code").as_string() == "TOOL_NOT_FOUND");

  h.send(op("subscribe", "r2"));
  auto u = h.next();
  BOOST_TEST(u.at("op").as_string() == "error");
  BOOST_TEST(u.at("request_id").as_string() == "r2");

  // Neither dialect after op traffic: answered as an op error.
  h.send_raw(R"({"what":"ever","request_id":"r3"})");
  auto n = h.next();
  BOOST_TEST(n.at("op").as_string() == "error");
  BOOST_TEST(n.at("request_id").as_string() == "r3");
  h.send_raw("{broken");
  auto p = h.next();
  BOOST_TEST(p.at("op").as_string() == "error");
  BOOST_TEST(p.at("request_id").is_null());
}

BOOST_AUTO_TEST_CASE(op_cancel_answers_cancelled_and_suppresses_the_result) {
  harness h;
  h.start();
  auto c = op("call_tool", "long");
  c["name"] = "slow";
  c["arguments"] = json::object{{"ms", 10000}};
  h.send(c);
  h.run_for(50ms);
  h.send(op("cancel", "long"));
  auto r = h.next();
  BOOST_TEST(r.at("op").as_string() == "cancelled");
  BOOST_TEST(r.at("request_id").as_string() == "long");
  BOOST_TEST(h.run_until([&] { return h.backend.cancelled == 1; }, 2s));
  BOOST_TEST(h.silent_for(100ms));
}

BOOST_AUTO_TEST_CASE(op_progress_carries_the_request_id) {
  harness h;
  h.start();
  auto c = op("call_tool", "p1");
  c["name"] = "progress";
  c["arguments"] = json::object{{"ms", 10}};
  h.send(c);
  auto m = h.next();
  BOOST_TEST(m.at("op").as_string() == "progress");
  BOOST_TEST(m.at("request_id").as_string() == "p1");
  json::value last;
  do {
    last = h.next();
  } while (last.at("op").as_string() == "progress");
  BOOST_TEST(last.at("op").as_string() == "call_tool_res");
}

BOOST_AUTO_TEST_CASE(dialect_switches_per_message) {
  harness h;
  h.start();
  h.send(op("ping", "a"));
  BOOST_TEST(h.next().at("op").as_string() == "pong");
  h.send(request(1, "ping"));
  auto j = h.next();
  BOOST_TEST(j.at("jsonrpc").as_string() == "2.0");
  BOOST_TEST(j.at("id").as_int64() == 1);
  // op and JSON-RPC ids live apart: "x" in flight in one dialect does not block the other.
  auto c = op("call_tool", "x");
  c["name"] = "slow";
  c["arguments"] = json::object{{"ms", 100}};
  h.send(c);
  h.send(call("x", "echo", {{"text", "json"}}));
  auto first = h.next();
  BOOST_TEST(first.at("jsonrpc").as_string() == "2.0");
  auto second = h.next();
  BOOST_TEST(second.at("op").as_string() == "call_tool_res");
  // After JSON-RPC traffic, neither-dialect input is answered in JSON-RPC.
  h.send_raw("[1");
  BOOST_TEST(h.next().at("error").at("code").as_int64() == -32700);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(unauthenticated_json_rpc_is_refused_and_closed) {
  harness h;
  h.ropts.token = "s3cret";
  gateway::session_options o;
  o.authenticated = false;
  h.start(o);
  h.send(request(1, "ping"));
  auto r = h.next();
  BOOST_TEST(r.at("error").at("code").as_int64() == -32600);
  BOOST_TEST(h.run_until([&] { return h.pipe->closed(); }, 2s));
  BOOST_TEST(static_cast<int>(h.pipe->closed_with()) == 1008);
}

BOOST_AUTO_TEST_CASE(op_hello_with_a_bad_token_is_refused_with_4003) {
  harness h;
  h.ropts.token = "s3cret";
  gateway::session_options o;
  o.authenticated = false;
  h.start(o);
  json::object hello{{"op", "hello"}, {"token", "guess"}};
  h.send(hello);
  auto ack = h.next();
  BOOST_TEST(ack.at("op").as_string() == "hello_ack");
  BOOST_TEST(!ack.at("ok").as_bool());
  BOOST_TEST(ack.at("error").as_string() == "unauthorized");
  BOOST_TEST(h.run_until([&] { return h.pipe->closed(); }, 2s));
  BOOST_TEST(static_cast<int>(h.pipe->closed_with()) == 4003);
}

BOOST_AUTO_TEST_CASE(op_hello_with_the_token_opens_the_session) {
  harness h;
  h.ropts.token = "s3cret";
  gateway::session_options o;
  o.authenticated = false;
  h.start(o);
  json::object hello{{"op", "hello"}, {"token", "s3cret"}};
  h.send(hello);
  BOOST_TEST(h.next().at("ok").as_bool());
  h.send(json::object{{"op", "ping"}, {"request_id", "p"}});
  BOOST_TEST(h.next().at("op").as_string() == "pong");
}

BOOST_AUTO_TEST_CASE(op_message_before_hello_when_a_token_is_required) {
  harness h;
  h.ropts.token = "s3cret";
  gateway::session_options o;
  o.authenticated = false;
  h.start(o);
  h.send(json::object{{"op", "ping"}, {"request_id", "p"}});
  auto r = h.next();
  BOOST_TEST(r.at("op").as_string() == "hello_ack");
  BOOST_TEST(r.at("error").as_string() == "missing_hello");
  BOOST_TEST(h.run_until([&] { return h.pipe->closed(); }, 2s));
  BOOST_TEST(static_cast<int>(h.pipe->closed_with()) == 4001);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(graceful_shutdown)

BOOST_AUTO_TEST_CASE(in_flight_calls_finish_within_the_grace) {
  harness h;
  h.start();
  for (int i = 0; i < 5; ++i) h.send(call(i, "slow", {{"ms", 100 + 20 * i}}));
  h.run_for(30ms);
  h.session->shutdown(5000ms);
  h.send(request(100, "ping"));  // arrives during shutdown: refused
  std::set<std::int64_t> ok;
  bool refused = false;
  for (int i = 0; i < 6; ++i) {
    auto r = h.next();
    if (r.at("id").as_int64() == 100) {
      refused = r.as_object().contains("error");
    } else {
      BOOST_TEST(text_of(r).starts_with("slept"));
      ok.insert(r.at("id").as_int64());
    }
  }
  BOOST_TEST(refused);
  BOOST_TEST(ok.size() == 5u);
  BOOST_TEST(h.run_until([&] { return h.pipe->closed(); }, 2s));
  BOOST_TEST(static_cast<int>(h.pipe->closed_with()) == 1001);
}

BOOST_AUTO_TEST_CASE(calls_beyond_the_grace_are_cancelled_and_answered) {
  harness h;
  h.start();
  h.send(call(1, "slow", {{"ms", 20}}));
  h.send(call(2, "slow", {{"ms", 10000}}));
  h.run_for(5ms);
  h.session->shutdown(200ms);
  auto a = h.next();
  BOOST_TEST(a.at("id").as_int64() == 1);
  auto b = h.next(3s);
  BOOST_TEST(b.at("id").as_int64() == 2);
  BOOST_TEST(b.at("error").at("code").as_int64() == -32603);
  BOOST_TEST(h.run_until([&] { return h.pipe->closed(); }, 2s));
  BOOST_TEST(h.run_until([&] { return h.ended; }, 2s));
  BOOST_TEST(h.backend.cancelled == 1);
}

BOOST_AUTO_TEST_SUITE_END()
