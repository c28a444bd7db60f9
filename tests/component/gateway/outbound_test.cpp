// The session driven only through in-memory outbounds, with no transport: replies go to the stream
// their request came on, notifications to the notification stream, a lost stream is handled by the
// policy its transport chose, back-pressure follows the streams' queues; and the session registry.
#define BOOST_TEST_MODULE gateway_outbound
#include "fake_backend.hpp"
#include "gateway/memory_outbound.hpp"
#include "gateway/session.hpp"
#include "gateway/session_registry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>

using namespace exai;
using namespace exai::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using gateway::memory_outbound;

namespace {

json::object call(json::value id, std::string_view tool, json::object args = {}) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", std::move(id)},
                      {"method", "tools/call"},
                      {"params", json::object{{"name", tool}, {"arguments", std::move(args)}}}};
}

json::object initialize(json::value id) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", std::move(id)},
                      {"method", "initialize"},
                      {"params", json::object{{"protocolVersion", "2025-06-18"},
                                              {"capabilities", json::object()},
                                              {"clientInfo", json::object{{"name", "t"},
                                                                          {"version", "1"}}}}}};
}

struct fixture {
  boost::asio::io_context ioc;
  fake_backend backend;
  routes::route_options ropts;
  std::shared_ptr<gateway::session> session;

  explicit fixture(gateway::session_options o = {}) {
    if (o.id.empty()) o.id = "gw-outbound-test";
    session = gateway::session::create(ioc.get_executor(), backend, ropts, std::move(o));
  }
  ~fixture() {
    // Let every request unwind before the backend goes.
    bool done = false;
    boost::asio::co_spawn(ioc, session->async_end(gateway::loss_policy::cancel),
                          [&](std::exception_ptr) { done = true; });
    run_until([&] { return done; }, 5s);
  }

  std::shared_ptr<memory_outbound> stream(std::size_t capacity = 0) {
    return memory_outbound::create(ioc.get_executor(), "memory", capacity);
  }

  void deliver(const json::value& v, const std::shared_ptr<memory_outbound>& to) {
    boost::asio::co_spawn(ioc, session->async_deliver(json::serialize(v), to),
                          boost::asio::detached);
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      ioc.restart();
      ioc.run_one_for(10ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) { run_until([] { return false; }, d); }

  json::value next(memory_outbound& from, std::chrono::milliseconds timeout = 3s) {
    BOOST_REQUIRE_MESSAGE(run_until([&] { return from.written() > 0; }, timeout),
                          "nothing written to the stream within the timeout");
    return json::parse(*from.take());
  }
};

std::string text_of(const json::value& r) {
  return std::string(r.at("result").at("content").at(0).at("text").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_reply_goes_to_the_stream_its_request_came_on) {
  fixture f;
  auto a = f.stream();
  auto b = f.stream();
  f.deliver(call(1, "slow", {{"ms", 50}, {"bytes", 3}}), a);
  f.deliver(call(2, "echo", {{"text", "to b"}}), b);
  auto rb = f.next(*b);
  BOOST_TEST(rb.at("id").as_int64() == 2);
  BOOST_TEST(text_of(rb) == "to b");
  auto ra = f.next(*a);
  BOOST_TEST(ra.at("id").as_int64() == 1);
  BOOST_TEST(text_of(ra) == "xxx");
  f.run_for(50ms);
  BOOST_TEST(a->written() == 0u);
  BOOST_TEST(b->written() == 0u);
  BOOST_TEST(f.session->stats().messages_out == 2u);
}

BOOST_AUTO_TEST_CASE(notifications_go_to_the_notification_stream_only) {
  fixture f;
  auto post = f.stream();
  auto events = f.stream();
  f.session->set_notifications(events);
  f.deliver(initialize(1), post);
  BOOST_TEST(f.next(*post).at("id").as_int64() == 1);
  f.session->notify_tools_changed();
  auto n = f.next(*events);
  BOOST_TEST(n.at("method").as_string() == "notifications/tools/list_changed");
  f.run_for(30ms);
  BOOST_TEST(post->written() == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_policy_cancels_only_the_lost_streams_requests) {
  fixture f;
  auto a = f.stream();
  auto b = f.stream();
  f.deliver(call(1, "slow", {{"ms", 10000}}), a);
  f.deliver(call(2, "slow", {{"ms", 100}}), b);
  f.run_for(30ms);
  BOOST_TEST(f.session->inflight() == 2u);
  f.session->stream_lost(*a, gateway::loss_policy::cancel);
  BOOST_TEST(f.run_until([&] { return f.backend.cancelled == 1; }, 2s));
  auto rb = f.next(*b);
  BOOST_TEST(rb.at("id").as_int64() == 2);
  BOOST_TEST(text_of(rb) == "slept 100");
  f.run_for(50ms);
  BOOST_TEST(a->written() == 0u);  // a cancelled request of a lost stream is not answered
  BOOST_TEST(f.backend.completed == 1);
}

BOOST_AUTO_TEST_CASE(keep_policy_lets_the_request_finish_and_replies_on_the_notification_stream) {
  fixture f;
  auto post = f.stream();
  auto events = f.stream();
  f.session->set_notifications(events);
  f.deliver(call(1, "slow", {{"ms", 100}}), post);
  f.run_for(20ms);
  post->close(gateway::close_code::normal);  // the POST went away
  BOOST_TEST(f.run_until([&] { return post->ended(); }, 1s));
  f.session->stream_lost(*post, gateway::loss_policy::keep);
  auto r = f.next(*events);
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(text_of(r) == "slept 100");
  BOOST_TEST(f.backend.cancelled == 0);
}

BOOST_AUTO_TEST_CASE(grace_policy_answers_with_an_error_once_the_grace_passes) {
  gateway::session_options o;
  o.eof_grace = 100ms;
  fixture f(o);
  auto a = f.stream();
  f.deliver(call(1, "slow", {{"ms", 10000}}), a);
  f.deliver(call(2, "slow", {{"ms", 20}}), a);
  f.run_for(10ms);
  const auto lost_at = std::chrono::steady_clock::now();
  f.session->stream_lost(*a, gateway::loss_policy::grace);
  auto r2 = f.next(*a);  // within the grace: answered normally
  BOOST_TEST(r2.at("id").as_int64() == 2);
  auto r1 = f.next(*a);
  BOOST_TEST(r1.at("id").as_int64() == 1);
  BOOST_TEST(r1.at("error").at("code").as_int64() == -32603);
  BOOST_TEST(std::string(r1.at("error").at("message").as_string()).find("input closed") !=
             std::string::npos);
  BOOST_TEST((std::chrono::steady_clock::now() - lost_at >= 100ms));
  BOOST_TEST(f.backend.cancelled == 1);
}

BOOST_AUTO_TEST_CASE(back_pressure_follows_the_streams_queues) {
  gateway::session_options o;
  o.max_queued = 2;
  fixture f(o);
  auto a = f.stream();
  a->hold(true);
  f.deliver(call(1, "echo"), a);
  f.deliver(call(2, "echo"), a);
  BOOST_TEST(f.run_until([&] { return a->queued() == 2; }, 1s));
  bool room = false;
  boost::asio::co_spawn(f.ioc, f.session->async_wait_room(*a),
                        [&](std::exception_ptr, bool r) { room = r; });
  f.run_for(50ms);
  BOOST_TEST(!room);  // two replies wait: the session takes no more frames
  a->hold(false);
  BOOST_TEST(f.run_until([&] { return room; }, 1s));
  BOOST_TEST(a->written() == 2u);
}

BOOST_AUTO_TEST_CASE(a_full_stream_loses_the_reply_but_not_the_session) {
  fixture f;
  auto a = f.stream(/*capacity=*/1);
  a->hold(true);
  f.deliver(call(1, "echo"), a);
  f.deliver(call(2, "echo"), a);
  f.run_for(30ms);
  BOOST_TEST(a->queued() == 1u);
  a->hold(false);
  auto r = f.next(*a);
  BOOST_TEST(r.at("id").as_int64() == 1);
  f.deliver(call(3, "echo"), a);
  BOOST_TEST(f.next(*a).at("id").as_int64() == 3);
}

BOOST_AUTO_TEST_CASE(an_oversize_frame_is_answered_on_its_stream) {
  fixture f;
  auto a = f.stream();
  f.session->deliver_oversize(a);
  auto r = f.next(*a);
  BOOST_TEST(r.at("error").at("code").as_int64() == -32600);
}

BOOST_AUTO_TEST_CASE(shutdown_answers_then_closes_every_stream) {
  fixture f;
  auto a = f.stream();
  auto events = f.stream();
  f.session->set_notifications(events);
  f.deliver(call(1, "slow", {{"ms", 10000}}), a);
  f.run_for(20ms);
  f.session->shutdown(50ms);
  auto r = f.next(*a);
  BOOST_TEST(r.at("id").as_int64() == 1);
  BOOST_TEST(r.at("error").at("code").as_int64() == -32603);
  BOOST_TEST(f.run_until([&] { return f.session->drained(); }, 2s));
  BOOST_TEST(a->ended());
  BOOST_TEST(events->ended());
  BOOST_TEST((a->closed_with() == gateway::close_code::going_away));
  BOOST_TEST(!f.session->accepting(*a));
  auto late = f.stream();
  f.deliver(call(2, "echo"), late);
  f.run_for(30ms);
  BOOST_TEST(late->written() == 0u);  // a closed session answers nothing more
  BOOST_TEST(late->ended());
}

BOOST_AUTO_TEST_CASE(registry_hands_out_ids_finds_and_expires) {
  boost::asio::io_context ioc;
  fake_backend backend;
  routes::route_options ropts;
  auto make = [&](std::string id) {
    gateway::session_options o;
    o.id = std::move(id);
    return gateway::session::create(ioc.get_executor(), backend, ropts, o);
  };
  gateway::session_registry reg(1000ms);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  auto s1 = make("one");
  const std::string id1 = reg.open(s1, t0);
  BOOST_TEST(id1.size() == 32u);
  BOOST_TEST(id1.find_first_not_of("0123456789abcdef") == std::string::npos);
  const std::string id2 = reg.open(make("two"), t0);
  BOOST_TEST(id1 != id2);
  BOOST_TEST(!reg.add(id1, make("dup"), t0));
  BOOST_TEST(reg.add("gw-3", make("three"), t0));
  BOOST_TEST(reg.size() == 3u);

  BOOST_TEST(reg.find(id1, t0 + 900ms) == s1);  // refreshed
  BOOST_TEST(reg.find("nope", t0) == nullptr);
  BOOST_TEST(reg.find(id2, t0 + 1500ms) == nullptr);  // idle past the expiry
  auto gone = reg.expire(t0 + 1500ms);
  BOOST_TEST(gone.size() == 2u);  // id2 and gw-3; id1 was used at +900ms
  BOOST_TEST(reg.size() == 1u);
  BOOST_TEST(reg.close(id1) == s1);
  BOOST_TEST(reg.empty());
  BOOST_TEST(reg.close(id1) == nullptr);

  gateway::session_registry forever;
  forever.add("x", s1, t0);
  BOOST_TEST(forever.expire(t0 + 10000h).empty());
}
