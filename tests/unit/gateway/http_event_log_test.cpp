// Unit tests for SSE framing and Last-Event-ID replay (gateway/http/event_log.hpp), checked by
// decoding what was written with the project's SSE decoder.
#include "codecs/sse.hpp"
#include "gateway/http/event_log.hpp"

#include <boost/test/unit_test.hpp>

namespace http = exai::gateway::http;

namespace {

std::vector<exai::codecs::sse_event> decode(const std::string& wire) {
  exai::codecs::sse_decoder d;
  d.feed(wire);
  std::vector<exai::codecs::sse_event> out;
  while (auto e = d.next()) out.push_back(e->value());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(message_events_frame_json) {
  const auto wire = http::sse_message(R"({"jsonrpc":"2.0","id":1,"result":{}})", "7");
  BOOST_TEST(wire == "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n");
  auto ev = decode(wire);
  BOOST_REQUIRE(ev.size() == 1u);
  BOOST_TEST(ev[0].event == "message");
  BOOST_TEST(ev[0].id == "7");
  BOOST_TEST(ev[0].data == R"({"jsonrpc":"2.0","id":1,"result":{}})");
  // Without an id no id line (POST response streams are not resumable).
  BOOST_TEST(http::sse_message("{}").find("id:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(endpoint_and_keepalive) {
  auto ev = decode(http::sse_endpoint("/messages?sessionId=abc") + http::sse_keepalive());
  BOOST_REQUIRE(ev.size() == 1u);
  BOOST_TEST(ev[0].event == "endpoint");
  BOOST_TEST(ev[0].data == "/messages?sessionId=abc");
  BOOST_TEST(http::sse_keepalive().front() == ':');
}

BOOST_AUTO_TEST_CASE(ids_increase_and_replay_returns_what_followed) {
  http::event_log log(10, 1 << 20);
  for (int i = 1; i <= 5; ++i) {
    auto ev = decode(log.append("{\"n\":" + std::to_string(i) + "}"));
    BOOST_REQUIRE(ev.size() == 1u);
    BOOST_TEST(ev[0].id == std::to_string(i));
  }
  BOOST_TEST(log.last_id() == 5u);
  auto r = log.replay_after("3");
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(r->size() == 2u);
  BOOST_TEST(decode((*r)[0])[0].data == "{\"n\":4}");
  BOOST_TEST(decode((*r)[1])[0].data == "{\"n\":5}");
  auto none = log.replay_after("5");
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(replay_is_bounded_by_count_and_bytes) {
  http::event_log log(3, 1 << 20);
  for (int i = 1; i <= 6; ++i) log.append("{}");
  BOOST_TEST(log.kept() == 3u);
  BOOST_TEST(log.replay_after("3").has_value());   // 4, 5, 6 all kept
  BOOST_TEST(!log.replay_after("2").has_value());  // 3 is gone: cannot replay faithfully
  BOOST_TEST(log.replay_after("3")->size() == 3u);

  http::event_log small(100, 100);
  for (int i = 0; i < 10; ++i) small.append(std::string(40, 'x'));
  BOOST_TEST(small.kept_bytes() <= 100u);
  BOOST_TEST(small.kept() >= 1u);
}

BOOST_AUTO_TEST_CASE(foreign_ids_are_refused) {
  http::event_log log(10, 1 << 20);
  log.append("{}");
  for (std::string_view id : {"", "x", "1x", "-1", "2", "99999999999999999999999"}) {
    BOOST_TEST_CONTEXT(id) { BOOST_TEST(!log.replay_after(id).has_value()); }
  }
  BOOST_TEST(log.replay_after("0").has_value());
}
